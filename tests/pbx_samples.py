"""A small hand-made FreePBX day in every real format, for the PBX landing tests.

One source of truth (CDR rows in the `asteriskcdrdb.cdr` shape and queue_log events as UTC
epochs) written out as Master.csv, the queue_log file, extensions.json, cdr.jsonl and MariaDB
rows, so tests can check that each format lands the same thing.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Europe/Moscow")
DAY = "2026-11-01"


def _epoch(local: str) -> int:
    return int(datetime.fromisoformat(local).replace(tzinfo=TZ).timestamp())


def _cdr(calldate: str, uniqueid: str, seq: int, src: str, clid: str, dstchannel: str, duration: int,
         billsec: int, disposition: str, answered: str, end: str) -> dict:
    return {"calldate": calldate, "clid": clid, "src": src, "dst": "700", "dcontext": "ext-queues",
            "channel": f"PJSIP/trunk-{uniqueid[-4:]}", "dstchannel": dstchannel, "lastapp": "Queue",
            "lastdata": "700,t", "duration": duration, "billsec": billsec, "disposition": disposition,
            "amaflags": 3, "accountcode": "", "uniqueid": uniqueid, "userfield": "", "did": "74950000000",
            "recordingfile": "", "cnum": src, "cnam": "", "outbound_cnum": "", "outbound_cnam": "",
            "dst_cnam": "", "linkedid": "1793520000.10", "peeraccount": "", "sequence": seq,
            "_answer": answered, "_end": end}


def cdrs() -> list[dict]:
    """Three calls: answered, answered then transferred (two CDRs), abandoned (Cyrillic caller)."""
    rows = [
        _cdr(f"{DAY} 12:00:00", "1793520000.10", 0, "+79161234567", '"Иван Петров" <+79161234567>',
             "PJSIP/101-00000001", 95, 80, "ANSWERED", f"{DAY} 12:00:15", f"{DAY} 12:01:35"),
        _cdr(f"{DAY} 12:30:00", "1793521800.20", 0, "+79031112233", '"Ольга" <+79031112233>',
             "PJSIP/102-00000002", 70, 60, "ANSWERED", f"{DAY} 12:30:10", f"{DAY} 12:31:10"),
        _cdr(f"{DAY} 12:31:10", "1793521870.21", 1, "+79031112233", '"Ольга" <+79031112233>',
             "PJSIP/103-00000003", 40, 40, "ANSWERED", f"{DAY} 12:31:10", f"{DAY} 12:31:50"),
        _cdr(f"{DAY} 18:05:00", "1793545500.30", 0, "+79265554433", '"Сергей" <+79265554433>',
             "", 12, 0, "NO ANSWER", "", f"{DAY} 18:05:12"),
    ]
    rows[1]["linkedid"] = rows[2]["linkedid"] = "1793521800.20"
    rows[3]["linkedid"] = "1793545500.30"
    return rows


def queue_events() -> list[tuple]:
    """queue_log events (epoch, callid, queue, agent, event, data1..data5) of the same calls."""
    q = "700"
    e = _epoch
    return [
        (e(f"{DAY} 09:00:00"), "NONE", q, "PJSIP/101", "ADDMEMBER", "", "", "", "", ""),
        (e(f"{DAY} 09:00:00"), "NONE", q, "PJSIP/102", "ADDMEMBER", "", "", "", "", ""),
        (e(f"{DAY} 11:00:00"), "NONE", q, "PJSIP/102", "PAUSE", "Обед", "", "", "", ""),
        (e(f"{DAY} 11:30:00"), "NONE", q, "PJSIP/102", "UNPAUSE", "Обед", "", "", "", ""),
        (e(f"{DAY} 12:00:00"), "1793520000.10", q, "NONE", "ENTERQUEUE", "", "+79161234567", "1", "", ""),
        (e(f"{DAY} 12:00:08"), "1793520000.10", q, "PJSIP/102", "RINGNOANSWER", "8000", "", "", "", ""),
        (e(f"{DAY} 12:00:15"), "1793520000.10", q, "PJSIP/101", "CONNECT", "15", "1793520008.11", "4", "", ""),
        (e(f"{DAY} 12:01:35"), "1793520000.10", q, "PJSIP/101", "COMPLETECALLER", "15", "80", "1", "", ""),
        (e(f"{DAY} 12:30:00"), "1793521800.20", q, "NONE", "ENTERQUEUE", "", "+79031112233", "1", "", ""),
        (e(f"{DAY} 12:30:10"), "1793521800.20", q, "PJSIP/102", "CONNECT", "10", "1793521805.22", "3", "", ""),
        (e(f"{DAY} 12:31:10"), "1793521800.20", q, "PJSIP/102", "BLINDTRANSFER", "103", "from-internal-xfer",
         "10", "60", "1"),
        (e(f"{DAY} 18:05:00"), "1793545500.30", q, "NONE", "ENTERQUEUE", "", "+79265554433", "1", "", ""),
        (e(f"{DAY} 18:05:12"), "1793545500.30", q, "NONE", "ABANDON", "1", "1", "12", "", ""),
        (e(f"{DAY} 21:00:00"), "NONE", q, "PJSIP/101", "REMOVEMEMBER", "", "", "", "", ""),
        (e(f"{DAY} 21:00:00"), "NONE", q, "PJSIP/102", "REMOVEMEMBER", "", "", "", "", ""),
    ]


EXTENSIONS = [{"extension": "101", "name": "Анна Петрова"}, {"extension": "102", "name": "Борис Смирнов"},
              {"extension": "103", "name": "Вера Козлова"}]


def master_csv_line(c: dict) -> str:
    """One cdr_csv line: every field quoted, amaflags as Asterisk's word."""
    values = ["", c["src"], c["dst"], c["dcontext"], c["clid"], c["channel"], c["dstchannel"], c["lastapp"],
              c["lastdata"], c["calldate"], c["_answer"], c["_end"], str(c["duration"]), str(c["billsec"]),
              c["disposition"], "DOCUMENTATION", c["uniqueid"], "", "", c["linkedid"], str(c["sequence"])]
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow(values)
    return buf.getvalue()


def queue_log_line(event: tuple) -> str:
    """Asterisk writes only the data fields an event has; trailing empty ones are dropped here."""
    fields = [str(event[0]), *event[1:5]]
    data = list(event[5:])
    while data and data[-1] == "":
        data.pop()
    return "|".join(fields + data) + "\n"


def write_files(pbx_dir: Path) -> dict[str, Path]:
    pbx_dir.mkdir(parents=True, exist_ok=True)
    paths = {"Master.csv": pbx_dir / "Master.csv", "queue_log": pbx_dir / "queue_log",
             "extensions.json": pbx_dir / "extensions.json", "cdr.jsonl": pbx_dir / "cdr.jsonl"}
    paths["Master.csv"].write_text("".join(master_csv_line(c) for c in cdrs()), encoding="utf-8")
    paths["queue_log"].write_text("".join(queue_log_line(e) for e in queue_events()), encoding="utf-8")
    paths["extensions.json"].write_text(json.dumps(EXTENSIONS, ensure_ascii=False), encoding="utf-8")
    paths["cdr.jsonl"].write_text(
        "".join(json.dumps({k: v for k, v in c.items() if not k.startswith("_")}, ensure_ascii=False) + "\n"
                for c in cdrs()), encoding="utf-8")
    return paths


# -- the PBX's MariaDB, with FreePBX's real table definitions ----------------------------------
# asteriskcdrdb.cdr as FreePBX creates it (no primary key) and the queue_log table of
# FreePBX's realtime queue logging, kept as the .ddl files in tests/samples/freepbx/.
SAMPLES = Path(__file__).parent / "samples" / "freepbx"
FREEPBX_CDR_DDL = (SAMPLES / "cdr.ddl").read_text(encoding="utf-8")

FREEPBX_QUEUE_LOG_DDL = (SAMPLES / "queue_log.ddl").read_text(encoding="utf-8")

CDR_DB_COLUMNS = ("calldate", "clid", "src", "dst", "dcontext", "channel", "dstchannel", "lastapp", "lastdata",
                  "duration", "billsec", "disposition", "amaflags", "accountcode", "uniqueid", "userfield", "did",
                  "recordingfile", "cnum", "cnam", "outbound_cnum", "outbound_cnam", "dst_cnam", "linkedid",
                  "peeraccount", "sequence")
QUEUE_LOG_DB_COLUMNS = ("time", "callid", "queuename", "agent", "event", "data1", "data2", "data3", "data4",
                        "data5")


def queue_log_db_rows(events: list[tuple]) -> list[dict]:
    """queue_log events in the DB shape: local datetime(6), empty strings for missing data."""
    out = []
    for e in events:
        local = datetime.fromtimestamp(e[0], TZ).replace(tzinfo=None)
        out.append(dict(zip(QUEUE_LOG_DB_COLUMNS, (f"{local:%Y-%m-%d %H:%M:%S}.000000", *e[1:]), strict=True)))
    return out


def insert_rows(conn, table: str, columns: tuple[str, ...], rows: list[dict]) -> None:
    names = ", ".join(f"`{c}`" for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    with conn.cursor() as cur:
        cur.executemany(f"insert into {table} ({names}) values ({marks})", [tuple(r[c] for c in columns) for r in rows])
    conn.commit()


def insert_cdrs(conn, rows: list[dict]) -> None:
    insert_rows(conn, "cdr", CDR_DB_COLUMNS, rows)


def insert_queue_log(conn, rows: list[dict]) -> None:
    insert_rows(conn, "queue_log", QUEUE_LOG_DB_COLUMNS, rows)
