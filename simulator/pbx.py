"""FreePBX output rows: queue_log events from calls and sessions, and CDR rows in both file and DB shape."""

from __future__ import annotations

from typing import Any

from simulator.clock import BusinessClock
from simulator.model import Call, Cdr, Pause, QueueLogRow, Session

MASTER_CSV_COLUMNS = ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
                      "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
                      "uniqueid", "userfield", "peeraccount", "linkedid", "sequence")
AMAFLAGS_DOCUMENTATION = 3


def _agent(ext: str) -> str:
    return f"PJSIP/{ext}"


def call_queue_log(call: Call) -> list[QueueLogRow]:
    """The queue_log lines of one call, in time order."""
    cid, q = call.linkedid, call.queue
    pos, orig = "1", str(call.position)
    rows: list[QueueLogRow] = [(call.enter, cid, q, "NONE", "ENTERQUEUE", "", call.phone, orig, "", "")]
    for ring in call.rings:
        rows.append((ring.end, cid, q, _agent(ring.extension), ring.event, str((ring.end - ring.start) * 1000),
                     "", "", "", ""))
    if not call.answered:
        wait = str(call.waittime)
        if call.outcome == "EXITWITHKEY":
            rows.append((call.end, cid, q, "NONE", "EXITWITHKEY", "1", pos, orig, wait, ""))
        else:
            rows.append((call.end, cid, q, "NONE", call.outcome, pos, orig, wait, "", ""))
        return rows
    agent = _agent(call.extension or "")
    hold, talk = str(call.holdtime), str(call.talk)
    rows.append((call.connect_at, cid, q, agent, "CONNECT", hold, call.agent_uniqueid, str(call.ringtime), "", ""))
    if call.outcome == "BLINDTRANSFER":
        rows.append((call.end, cid, q, agent, "BLINDTRANSFER", call.transfer_target or "", "from-internal-xfer",
                     hold, talk, orig))
    elif call.outcome == "ATTENDEDTRANSFER":
        rows.append((call.end, cid, q, agent, "ATTENDEDTRANSFER", "BRIDGE", call.agent_uniqueid, hold, talk, orig))
    else:
        rows.append((call.end, cid, q, agent, call.outcome, hold, talk, orig, "", ""))
    return rows


def session_queue_log(session: Session) -> list[QueueLogRow]:
    agent = _agent(session.extension)
    return [(session.start, "NONE", session.queue, agent, "ADDMEMBER", "", "", "", "", ""),
            (session.end, "NONE", session.queue, agent, "REMOVEMEMBER", "", "", "", "", "")]


def pause_queue_log(pause: Pause) -> list[QueueLogRow]:
    agent = _agent(pause.extension)
    return [(pause.start, "NONE", pause.queue, agent, "PAUSE", pause.reason, "", "", "", ""),
            (pause.end, "NONE", pause.queue, agent, "UNPAUSE", pause.reason, "", "", "", "")]


def queue_log_line(row: QueueLogRow) -> str:
    return "|".join((str(row[0]), *row[1:]))


def queue_log_db_row(row: QueueLogRow, row_id: int, clock: BusinessClock) -> dict[str, Any]:
    """The MariaDB `queue_log` table shape: `time` is local datetime(6)."""
    return {"id": row_id, "time": f"{clock.local(row[0])}.000000", "callid": row[1], "queuename": row[2],
            "agent": row[3], "event": row[4], "data1": row[5], "data2": row[6], "data3": row[7],
            "data4": row[8], "data5": row[9]}


def cdr_csv_row(cdr: Cdr, clock: BusinessClock) -> list[str]:
    return ["", cdr.src, cdr.dst, cdr.dcontext, cdr.clid, cdr.channel, cdr.dstchannel, cdr.lastapp, cdr.lastdata,
            clock.local(cdr.start), clock.local(cdr.answer) if cdr.answer else "", clock.local(cdr.end),
            str(cdr.duration), str(cdr.billsec), cdr.disposition, "DOCUMENTATION", cdr.uniqueid, "", "",
            cdr.linkedid, str(cdr.sequence)]


def cdr_db_row(cdr: Cdr, clock: BusinessClock) -> dict[str, Any]:
    """The `asteriskcdrdb.cdr` table shape."""
    return {"calldate": clock.local(cdr.start), "clid": cdr.clid, "src": cdr.src, "dst": cdr.dst,
            "dcontext": cdr.dcontext, "channel": cdr.channel, "dstchannel": cdr.dstchannel,
            "lastapp": cdr.lastapp, "lastdata": cdr.lastdata, "duration": cdr.duration, "billsec": cdr.billsec,
            "disposition": cdr.disposition, "amaflags": AMAFLAGS_DOCUMENTATION, "accountcode": "",
            "uniqueid": cdr.uniqueid, "userfield": "", "did": cdr.did, "recordingfile": "", "cnum": cdr.cnum,
            "cnam": cdr.cnam, "outbound_cnum": "", "outbound_cnam": "", "dst_cnam": "", "linkedid": cdr.linkedid,
            "peeraccount": "", "sequence": cdr.sequence}
