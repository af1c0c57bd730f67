"""Hand-made days in the formats real PBXs write, written out line by line (not by the simulator).

Three contact-centre days, each from a different installation, with the figures they must give
counted by hand beside them (tests/test_pbx_real_data.py holds the marts to those figures):
- ASTERISK11 (2026-11-02, Moscow): Asterisk 11 with cdr_csv's defaults — Master.csv with 16
  columns; a chan_agent agent (Agent/201, AGENTLOGIN/AGENTLOGOFF with queue NONE) and a chan_sip
  member; legacy TRANSFER; EXITWITHKEY in Asterisk 1.4's two-field form; PAUSEALL beside PAUSE.
- FREEPBX16 (2026-11-03, Moscow): FreePBX 16 on Asterisk 16 — Master.csv with loguniqueid and
  loguserfield (18 columns) and usegmtime=yes (UTC times); a Local/…@from-queue/n member and a
  dynamic agent logged by display name; DID lines; ATTENDEDTRANSFER BRIDGE; RINGCANCELED;
  EXITWITHTIMEOUT, EXITEMPTY; CONFIGRELOAD.
- FREEPBX17 (2026-11-04): FreePBX 17 on Asterisk 22 with the server clock in Europe/Berlin —
  Master.csv with loguniqueid only (17 columns), then newcdrcolumns turned on (21 columns) in
  the same file; Local/…@from-internal/n; ATTENDEDTRANSFER LINK (six data fields: eleven on the
  line) and APP; extension 117, which answers a call, is missing from the directory.
Epochs: 2026-11-02 10:00 MSK = 1793602800, 2026-11-03 10:00 MSK = 1793689200,
2026-11-04 10:00 MSK = 1793775600 (07:00 UTC, 08:00 in Berlin).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Installation:
    name: str
    day: str
    queue_log: list[str]
    master_csv: list[str]
    pbx_timezone: str | None = None
    cdr_times: str = "local"

    def write(self, directory: Path, extensions: list[dict]) -> dict[str, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        paths = {"queue_log": directory / "queue_log", "Master.csv": directory / "Master.csv",
                 "extensions.json": directory / "extensions.json"}
        paths["queue_log"].write_text("".join(line + "\n" for line in self.queue_log), encoding="utf-8")
        paths["Master.csv"].write_text("".join(line + "\n" for line in self.master_csv), encoding="utf-8")
        paths["extensions.json"].write_text(json.dumps(extensions, ensure_ascii=False), encoding="utf-8")
        return paths


# The directory of all three installations; extension 117 is missing on purpose.
EXTENSIONS = [
    {"extension": "201", "name": "Глеб Агентов"},
    {"extension": "202", "name": "Дарья Сиповая"},
    {"extension": "301", "name": "Семён Локалов"},
    {"extension": "302", "name": "Ариадна Ручкина"},
    {"extension": "401", "name": "Лев Внутренний"},
]

ASTERISK11 = Installation("asterisk11", "2026-11-02", queue_log=[
    "1793599100|NONE|NONE|NONE|QUEUESTART|",                                          # 08:58:20
    "1793599200|1793599200.1|NONE|Agent/201|AGENTLOGIN|SIP/201-00000001",             # 09:00 agent 201 in
    "1793599200|NONE|support|SIP/202|ADDMEMBER|",                                      # 09:00 member 202
    # c1: 202 rings 15 s without answering, agent 201 answers at 25 s, transfers after 120 s talk
    "1793602800|1793602800.10|support|NONE|ENTERQUEUE||+79161110001|1",               # 10:00:00
    "1793602817|1793602800.10|support|SIP/202|RINGNOANSWER|15000",                    # 10:00:17
    "1793602825|1793602800.10|support|Agent/201|CONNECT|25|1793602821.11|4",          # 10:00:25
    "1793602945|1793602800.10|support|Agent/201|TRANSFER|300|from-internal|25|120|1",  # 10:02:25
    # c2: the caller presses 2 after 33 s (Asterisk 1.4's key|position: no waittime field)
    "1793606400|1793606400.20|support|NONE|ENTERQUEUE||+79161110002|1",               # 11:00:00
    "1793606433|1793606400.20|support|NONE|EXITWITHKEY|2|1",                           # 11:00:33
    # c3: 202 answers at 8 s, talks 95 s and hangs up
    "1793608200|1793608200.30|support|NONE|ENTERQUEUE||+79161110003|1",               # 11:30:00
    "1793608208|1793608200.30|support|SIP/202|CONNECT|8|1793608205.31|3",             # 11:30:08
    "1793608303|1793608200.30|support|SIP/202|COMPLETEAGENT|8|95|1",                   # 11:31:43
    # c4: the caller gives up after 3 s: a short abandon
    "1793610000|1793610000.40|support|NONE|ENTERQUEUE||+79161110004|1",               # 12:00:00
    "1793610003|1793610000.40|support|NONE|ABANDON|1|1|3",                             # 12:00:03
    # 202 pauses every queue 12:10-12:25: Asterisk 11 logs PAUSEALL (by interface) and the queue's PAUSE
    "1793610600|NONE|NONE|SIP/202|PAUSEALL|",                                          # 12:10
    "1793610600|NONE|support|SIP/202|PAUSE|Перерыв",                                   # 12:10
    "1793611500|NONE|NONE|SIP/202|UNPAUSEALL|",                                        # 12:25
    "1793611500|NONE|support|SIP/202|UNPAUSE|Перерыв",                                 # 12:25
    "1793613600|NONE|support|SIP/202|REMOVEMEMBER|",                                   # 13:00
    "1793628000|1793599200.1|NONE|Agent/201|AGENTLOGOFF|SIP/201-00000001|28800",      # 17:00
], master_csv=[
    # 16 columns, Moscow wall-clock time; the last line is 202 calling c2's number back
    '"","+79161110001","400","ext-queues","""+79161110001"" <+79161110001>","SIP/trunk-00000001","Agent/201",'
    '"Queue","400,t","2026-11-02 10:00:00","2026-11-02 10:00:25","2026-11-02 10:02:25","145","120","ANSWERED",'
    '"DOCUMENTATION"',
    '"","+79161110002","400","ext-queues","""+79161110002"" <+79161110002>","SIP/trunk-00000002","",'
    '"Queue","400,t","2026-11-02 11:00:00","2026-11-02 11:00:00","2026-11-02 11:00:33","33","33","ANSWERED",'
    '"DOCUMENTATION"',
    '"","+79161110003","400","ext-queues","""+79161110003"" <+79161110003>","SIP/trunk-00000003","SIP/202-00000004",'
    '"Queue","400,t","2026-11-02 11:30:00","2026-11-02 11:30:08","2026-11-02 11:31:43","103","95","ANSWERED",'
    '"DOCUMENTATION"',
    '"","+79161110004","400","ext-queues","""+79161110004"" <+79161110004>","SIP/trunk-00000005","",'
    '"Queue","400,t","2026-11-02 12:00:00","2026-11-02 12:00:00","2026-11-02 12:00:03","3","3","ANSWERED",'
    '"DOCUMENTATION"',
    '"","202","+79161110002","from-internal","""Дарья Сиповая"" <202>","SIP/202-00000006","SIP/trunk-00000007",'
    '"Dial","SIP/trunk/+79161110002,300","2026-11-02 11:10:00","2026-11-02 11:10:07","2026-11-02 11:11:07","67",'
    '"60","ANSWERED","DOCUMENTATION"',
])

FREEPBX16 = Installation("freepbx16", "2026-11-03", cdr_times="utc", queue_log=[
    "1793685000|NONE|NONE|NONE|CONFIGRELOAD|",                                         # 08:50
    "1793685600|NONE|orders|Local/301@from-queue/n|ADDMEMBER|",                        # 09:00 static member 301
    "1793685600|1793685590.2|orders|Ариадна Ручкина|ADDMEMBER|",                       # 09:00 dynamic agent 302 (*45)
    # d1: 302 (logged by name) rings 15 s, 301 answers at 20 s, attended transfer (BRIDGE) after 60 s
    "1793689200|1793689200.10|orders|NONE|DID|+74951234567",                           # 10:00:00
    "1793689200|1793689200.10|orders|NONE|ENTERQUEUE||+79161110011|1",                 # 10:00:00
    "1793689216|1793689200.10|orders|Ариадна Ручкина|RINGNOANSWER|15000",              # 10:00:16
    "1793689220|1793689200.10|orders|Local/301@from-queue/n|CONNECT|20|1793689217.12|2",  # 10:00:20
    "1793689280|1793689200.10|orders|Local/301@from-queue/n|ATTENDEDTRANSFER|BRIDGE|6f2a0c5e|20|60|1",  # 10:01:20
    # d2: the caller hangs up after 4 s while 301 rings: RINGCANCELED, not a missed ring
    "1793691000|1793691000.20|orders|NONE|DID|+74951234567",                           # 10:30:00
    "1793691000|1793691000.20|orders|NONE|ENTERQUEUE||+79161110012|1",                 # 10:30:00
    "1793691004|1793691000.20|orders|Local/301@from-queue/n|RINGCANCELED|2000",        # 10:30:04
    "1793691004|1793691000.20|orders|NONE|ABANDON|1|1|4",                              # 10:30:04
    # d3: 302 answers at 5 s, talks 200 s, the caller hangs up
    "1793692800|1793692800.30|orders|NONE|ENTERQUEUE||+79161110013|1",                 # 11:00:00
    "1793692805|1793692800.30|orders|Ариадна Ручкина|CONNECT|5|1793692802.31|3",       # 11:00:05
    "1793693005|1793692800.30|orders|Ариадна Ручкина|COMPLETECALLER|5|200|1",          # 11:03:25
    # d4: nobody answers within the queue's 300 s
    "1793694600|1793694600.40|orders|NONE|ENTERQUEUE||+79161110014|1",                 # 11:30:00
    "1793694900|1793694600.40|orders|NONE|EXITWITHTIMEOUT|1|1|300",                    # 11:35:00
    # 302 pauses 13:00-13:30 with the feature code: PAUSEALL, and the queue's own PAUSE
    "1793700000|NONE|NONE|Ариадна Ручкина|PAUSEALL|Обед",                              # 13:00
    "1793700000|NONE|orders|Ариадна Ручкина|PAUSE|Обед",                               # 13:00
    "1793701800|NONE|NONE|Ариадна Ручкина|UNPAUSEALL|",                                # 13:30
    "1793701800|NONE|orders|Ариадна Ручкина|UNPAUSE|Обед",                             # 13:30
    "1793718000|NONE|orders|Local/301@from-queue/n|REMOVEMEMBER|",                     # 18:00
    "1793718000|1793717990.50|orders|Ариадна Ручкина|REMOVEMEMBER|",                   # 18:00
    # d5: after everyone left, the queue is empty
    "1793728800|1793728800.60|orders|NONE|ENTERQUEUE||+79161110015|1",                 # 21:00:00
    "1793728800|1793728800.60|orders|NONE|EXITEMPTY|1|1|0",                            # 21:00:00
], master_csv=[
    # 18 columns (…, amaflags, uniqueid, userfield), UTC times: 07:00 UTC = 10:00 Moscow
    '"","+79161110011","400","ext-queues","""+79161110011"" <+79161110011>","PJSIP/trunk-0000000a",'
    '"Local/302@from-queue-00000001;1","Queue","400,t,,,300","2026-11-03 07:00:01","","2026-11-03 07:00:16",'
    '"15","0","NO ANSWER","DOCUMENTATION","1793689200.10",""',
    '"","+79161110011","400","ext-queues","""+79161110011"" <+79161110011>","PJSIP/trunk-0000000a",'
    '"Local/301@from-queue-00000002;1","Queue","400,t,,,300","2026-11-03 07:00:00","2026-11-03 07:00:20",'
    '"2026-11-03 07:01:20","80","60","ANSWERED","DOCUMENTATION","1793689200.10",""',
    '"","+79161110012","400","ext-queues","""+79161110012"" <+79161110012>","PJSIP/trunk-0000000b","",'
    '"Queue","400,t,,,300","2026-11-03 07:30:00","2026-11-03 07:30:00","2026-11-03 07:30:04","4","4","ANSWERED",'
    '"DOCUMENTATION","1793691000.20",""',
    '"","+79161110013","400","ext-queues","""+79161110013"" <+79161110013>","PJSIP/trunk-0000000c",'
    '"Local/302@from-queue-00000003;1","Queue","400,t,,,300","2026-11-03 08:00:00","2026-11-03 08:00:05",'
    '"2026-11-03 08:03:25","205","200","ANSWERED","DOCUMENTATION","1793692800.30","vip"',
    '"","+79161110014","400","ext-queues","""+79161110014"" <+79161110014>","PJSIP/trunk-0000000d","",'
    '"Queue","400,t,,,300","2026-11-03 08:30:00","2026-11-03 08:30:00","2026-11-03 08:35:00","300","300",'
    '"ANSWERED","DOCUMENTATION","1793694600.40",""',
    '"","+79161110015","400","ext-queues","""+79161110015"" <+79161110015>","PJSIP/trunk-0000000e","",'
    '"Queue","400,t,,,300","2026-11-03 18:00:00","2026-11-03 18:00:00","2026-11-03 18:00:00","0","0","ANSWERED",'
    '"DOCUMENTATION","1793728800.60",""',
])

FREEPBX17 = Installation("freepbx17", "2026-11-04", pbx_timezone="Europe/Berlin", queue_log=[
    "1793772000|NONE|orders|Local/401@from-internal/n|ADDMEMBER|",                     # 09:00
    # e1: 401 answers at 12 s; an attended transfer completed by linking two channels (LINK)
    "1793775600|1793775600.10|orders|NONE|ENTERQUEUE||+79161110021|1",                 # 10:00:00
    "1793775612|1793775600.10|orders|Local/401@from-internal/n|CONNECT|12|1793775610.11|2",  # 10:00:12
    "1793775687|1793775600.10|orders|Local/401@from-internal/n|ATTENDEDTRANSFER|LINK|PJSIP/401-00000011"
    "|PJSIP/300-00000012|12|75|1",                                                      # 10:01:27
    # e2: 401 answers at 30 s; an attended transfer into an application (APP)
    "1793776200|1793776200.20|orders|NONE|ENTERQUEUE||+79161110022|1",                 # 10:10:00
    "1793776230|1793776200.20|orders|Local/401@from-internal/n|CONNECT|30|1793776225.21|5",  # 10:10:30
    "1793776275|1793776200.20|orders|Local/401@from-internal/n|ATTENDEDTRANSFER|APP|Dial|30|45|1",  # 10:11:15
    # e3: extension 117, which the directory does not list, answers at 10 s
    "1793776800|1793776800.30|orders|NONE|ENTERQUEUE||+79161110023|1",                 # 10:20:00
    "1793776810|1793776800.30|orders|PJSIP/117|CONNECT|10|1793776809.31|1",            # 10:20:10
    "1793776860|1793776800.30|orders|PJSIP/117|COMPLETEAGENT|10|50|1",                 # 10:21:00
    "1793800800|NONE|orders|Local/401@from-internal/n|REMOVEMEMBER|",                  # 17:00
], master_csv=[
    # Berlin wall-clock time (CET, UTC+1): 08:00 Berlin = 10:00 Moscow. First loguniqueid only (17
    # columns), then newcdrcolumns turned on (21 columns), in the same file.
    '"","+79161110021","400","ext-queues","""+79161110021"" <+79161110021>","PJSIP/trunk-00000010",'
    '"Local/401@from-internal-00000001;1","Queue","400,t,,,300","2026-11-04 08:00:00","2026-11-04 08:00:12",'
    '"2026-11-04 08:01:27","87","75","ANSWERED","DOCUMENTATION","1793775600.10"',
    '"","+79161110022","400","ext-queues","""+79161110022"" <+79161110022>","PJSIP/trunk-00000013",'
    '"Local/401@from-internal-00000002;1","Queue","400,t,,,300","2026-11-04 08:10:00","2026-11-04 08:10:30",'
    '"2026-11-04 08:11:15","75","45","ANSWERED","DOCUMENTATION","1793776200.20","","","1793776200.20","0"',
    '"","401","300","from-internal-xfer","""Лев Внутренний"" <401>","PJSIP/401-00000014","PJSIP/300-00000015",'
    '"Dial","PJSIP/300","2026-11-04 08:11:15","2026-11-04 08:11:18","2026-11-04 08:12:18","63","60","ANSWERED",'
    '"DOCUMENTATION","1793776225.21","","","1793776200.20","1"',
    '"","+79161110023","400","ext-queues","""+79161110023"" <+79161110023>","PJSIP/trunk-00000016",'
    '"PJSIP/117-00000017","Queue","400,t,,,300","2026-11-04 08:20:00","2026-11-04 08:20:10","2026-11-04 08:21:00",'
    '"60","50","ANSWERED","DOCUMENTATION","1793776800.30","","","1793776800.30","0"',
])

INSTALLATIONS = (ASTERISK11, FREEPBX16, FREEPBX17)
