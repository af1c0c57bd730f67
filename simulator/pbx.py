"""FreePBX output rows: queue_log events from calls and sessions, and CDR rows in file and DB shape,
rendered the way the run's PBX profile (simulator/pbx_profiles.py) writes them."""

from __future__ import annotations

from typing import Any

from simulator.clock import BusinessClock
from simulator.model import Call, Cdr, Pause, QueueLogRow, Session
from simulator.pbx_profiles import DEFAULT_PROFILE, PbxProfile, get_profile

MASTER_CSV_COLUMNS = ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
                      "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
                      "uniqueid", "userfield", "peeraccount", "linkedid", "sequence")
# What cdr_csv.c appends to the 16 base columns: uniqueid (loguniqueid), userfield (loguserfield),
# peeraccount, linkedid, sequence (newcdrcolumns), as positions of MASTER_CSV_COLUMNS.
CSV_LAYOUT_EXTRAS: dict[str, tuple[int, ...]] = {
    "16": (), "17u": (16,), "17f": (17,), "18": (16, 17), "21": (16, 17, 18, 19, 20),
}
AMAFLAGS_DOCUMENTATION = 3


def cdr_csv_row(cdr: Cdr, clock: BusinessClock) -> list[str]:
    """All 21 Master.csv fields of a CDR (the newcdrcolumns layout), times on `clock`."""
    return ["", cdr.src, cdr.dst, cdr.dcontext, cdr.clid, cdr.channel, cdr.dstchannel, cdr.lastapp, cdr.lastdata,
            clock.local(cdr.start), clock.local(cdr.answer) if cdr.answer else "", clock.local(cdr.end),
            str(cdr.duration), str(cdr.billsec), cdr.disposition, "DOCUMENTATION", cdr.uniqueid, "", "",
            cdr.linkedid, str(cdr.sequence)]


def queue_log_line(row: QueueLogRow, padded: bool = True) -> str:
    """The file line; unpadded as Asterisk writes it (only the data fields the event has)."""
    fields = [str(row[0]), *row[1:]]
    while not padded and len(fields) > 6 and fields[-1] == "":
        fields.pop()
    return "|".join(fields)


class PbxRenderer:
    """Turns the simulated contact centre into the lines one PBX profile writes."""

    def __init__(self, business_clock: BusinessClock, names: dict[str, str], profile: str = DEFAULT_PROFILE) -> None:
        self.profile: PbxProfile = get_profile(profile)
        zone = self.profile.pbx_timezone or str(business_clock.tz)
        self.pbx_clock = BusinessClock(zone)
        self.cdr_clock = BusinessClock("UTC") if self.profile.cdr_times == "utc" else self.pbx_clock
        self.names = names
        self._attended = 0

    def agent(self, ext: str) -> str:
        return self.profile.agent(ext, self.names.get(ext, ext))

    # queue_log

    def call_rows(self, call: Call) -> list[QueueLogRow]:
        """The queue_log lines of one call, in time order."""
        p = self.profile
        cid, q = call.linkedid, call.queue
        pos, orig = "1", str(call.position)
        rows: list[QueueLogRow] = []
        if p.did_lines:
            rows.append((call.enter, cid, q, "NONE", "DID", "+74951234567", "", "", "", ""))
        rows.append((call.enter, cid, q, "NONE", "ENTERQUEUE", "", call.phone, orig, "", ""))
        for ring in call.rings:
            if ring.event == "RINGCANCELED" and not p.ring_canceled:
                continue
            rows.append((ring.end, cid, q, self.agent(ring.extension), ring.event,
                         str((ring.end - ring.start) * 1000), "", "", "", ""))
        if not call.answered:
            wait = str(call.waittime)
            if call.outcome == "EXITWITHKEY":
                rows.append((call.end, cid, q, "NONE", "EXITWITHKEY", "1", pos, orig, wait, ""))
            else:
                rows.append((call.end, cid, q, "NONE", call.outcome, pos, orig, wait, "", ""))
            return rows
        agent = self.agent(call.extension or "")
        hold, talk = str(call.holdtime), str(call.talk)
        rows.append((call.connect_at, cid, q, agent, "CONNECT", hold, call.agent_uniqueid, str(call.ringtime), "", ""))
        if call.outcome in ("BLINDTRANSFER", "ATTENDEDTRANSFER") and p.transfer == "legacy":
            rows.append((call.end, cid, q, agent, "TRANSFER", call.transfer_target or "", "from-internal", hold, talk,
                         orig))
        elif call.outcome == "BLINDTRANSFER":
            rows.append((call.end, cid, q, agent, "BLINDTRANSFER", call.transfer_target or "", "from-internal-xfer",
                         hold, talk, orig))
        elif call.outcome == "ATTENDEDTRANSFER":
            rows.append(self._attended_transfer(call, agent, hold, talk, orig))
        else:
            rows.append((call.end, cid, q, agent, call.outcome, hold, talk, orig, "", ""))
        return rows

    def _attended_transfer(self, call: Call, agent: str, hold: str, talk: str, orig: str) -> QueueLogRow:
        """app_queue.c's log_attended_transfer: BRIDGE|id, APP|app or LINK|chan1|chan2, then hold|talk|origpos.

        The LINK form has six data fields; the file line has eleven `|`-separated fields, kept here
        by folding the last two into data5 as Asterisk's realtime logger does.
        """
        forms = self.profile.attended_forms
        form = forms[self._attended % len(forms)]
        self._attended += 1
        cid, q = call.linkedid, call.queue
        if form == "BRIDGE":
            return (call.end, cid, q, agent, "ATTENDEDTRANSFER", "BRIDGE", call.agent_uniqueid, hold, talk, orig)
        if form == "APP":
            return (call.end, cid, q, agent, "ATTENDEDTRANSFER", "APP", "Dial", hold, talk, orig)
        ext = call.extension or ""
        return (call.end, cid, q, agent, "ATTENDEDTRANSFER", "LINK", f"PJSIP/{ext}-{call.end % 65536:08x}",
                f"PJSIP/{call.transfer_target}-{call.enter % 65536:08x}", hold, f"{talk}|{orig}")

    def session_rows(self, session: Session) -> list[QueueLogRow]:
        ext = session.extension
        agent = self.agent(ext)
        if self.profile.agent_sessions(ext):  # chan_agent: AgentLogin() from the agent's phone
            callid = f"{session.start}.{ext}"
            channel = f"SIP/{ext}-{session.start % 65536:08x}"
            return [(session.start, callid, "NONE", agent, "AGENTLOGIN", channel, "", "", "", ""),
                    (session.end, callid, "NONE", agent, "AGENTLOGOFF", channel, str(session.end - session.start),
                     "", "", "")]
        callid = "NONE" if agent.startswith(("PJSIP/", "SIP/", "IAX2/", "Local/")) else f"{session.start}.{ext}"
        return [(session.start, callid, session.queue, agent, "ADDMEMBER", "", "", "", "", ""),
                (session.end, callid, session.queue, agent, "REMOVEMEMBER", "", "", "", "", "")]

    def pause_rows(self, pause: Pause) -> list[QueueLogRow]:
        agent = self.agent(pause.extension)
        rows: list[QueueLogRow] = []
        if self.profile.pause_all:  # the pause feature code pauses the member in every queue
            rows.append((pause.start, "NONE", "NONE", agent, "PAUSEALL", pause.reason, "", "", "", ""))
        rows.append((pause.start, "NONE", pause.queue, agent, "PAUSE", pause.reason, "", "", "", ""))
        if self.profile.pause_all:
            rows.append((pause.end, "NONE", "NONE", agent, "UNPAUSEALL", "", "", "", "", ""))
        rows.append((pause.end, "NONE", pause.queue, agent, "UNPAUSE", pause.reason, "", "", "", ""))
        return rows

    def db_row(self, row: QueueLogRow, row_id: int) -> dict[str, Any]:
        """The MariaDB `queue_log` table shape: `time` is the PBX's local datetime(6)."""
        return {"id": row_id, "time": f"{self.pbx_clock.local(row[0])}.000000", "callid": row[1],
                "queuename": row[2], "agent": row[3], "event": row[4], "data1": row[5], "data2": row[6],
                "data3": row[7], "data4": row[8], "data5": row[9]}

    # CDRs

    def csv_row(self, cdr: Cdr, layout: str) -> list[str]:
        """The Master.csv fields of a CDR in `layout` (CSV_LAYOUT_EXTRAS), times on the CDR clock."""
        full = cdr_csv_row(cdr, self.cdr_clock)
        return full[:16] + [full[i] for i in CSV_LAYOUT_EXTRAS[layout]]

    def cdr_db_row(self, cdr: Cdr) -> dict[str, Any]:
        """The `asteriskcdrdb.cdr` table shape."""
        clock = self.cdr_clock
        return {"calldate": clock.local(cdr.start), "clid": cdr.clid, "src": cdr.src, "dst": cdr.dst,
                "dcontext": cdr.dcontext, "channel": cdr.channel, "dstchannel": cdr.dstchannel,
                "lastapp": cdr.lastapp, "lastdata": cdr.lastdata, "duration": cdr.duration,
                "billsec": cdr.billsec, "disposition": cdr.disposition, "amaflags": AMAFLAGS_DOCUMENTATION,
                "accountcode": "", "uniqueid": cdr.uniqueid, "userfield": "", "did": cdr.did, "recordingfile": "",
                "cnum": cdr.cnum, "cnam": cdr.cnam, "outbound_cnum": "", "outbound_cnam": "", "dst_cnam": "",
                "linkedid": cdr.linkedid, "peeraccount": "", "sequence": cdr.sequence}
