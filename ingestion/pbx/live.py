"""The live queue board: the contact centre as it is now, kept from queue_log events as they arrive.

Like Asternic's real-time view, everything on it comes from the events themselves:
- a caller waits from ENTERQUEUE until CONNECT or a way out of the queue (ABANDON, EXITWITHTIMEOUT,
  EXITWITHKEY, EXITEMPTY) in that queue;
- an operator is on a call from CONNECT until COMPLETEAGENT / COMPLETECALLER or a transfer
  (TRANSFER, BLINDTRANSFER, ATTENDEDTRANSFER) of that call;
- an operator is logged in to a queue from ADDMEMBER until REMOVEMEMBER (ADDMEMBER `PAUSED` joins
  paused), and to every queue from chan_agent's AGENTLOGIN / AGENTCALLBACKLOGIN (queue NONE) until
  its LOGOFF. Static members never log in: any event of a member in a queue (a ring, a call, a
  pause) shows that it is in that queue;
- PAUSE / UNPAUSE pause a member in one queue. PAUSEALL / UNPAUSEALL are not read: app_queue.c
  logs a PAUSE / UNPAUSE in every queue as well (docs/contracts.md §2), as int_operator_pauses says.
An operator is `on_call` with a call in progress, else `paused` when paused in every queue they
are in, else `available`; `logged_in` is the three together.

Operators are identified as the marts identify them (stg_freepbx__queue_log, int_queue_log_events):
a member interface names the extension (PJSIP/101, Local/101@from-queue/n, Agent/101 -> 101), a
member name (FreePBX's dynamic agents log in under the user's display name) is looked up in the
directory, and a name the directory does not have once stays its own key. So ADDMEMBER logged as
`PJSIP/101` and CONNECT logged as `Анна Петрова` are one operator.

Events are applied once each (by `event_hash`, for the restart and the database's overlap), in
the order given. A call whose end never arrives (a line lost to a PBX crash) would stay on the
board for ever: waiting calls older than 4 hours and calls in progress older than 12 hours are
dropped, logged and counted (`expired`). The board is shared between the follow loop and the
metrics server's thread, so every method takes its lock.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ingestion.pbx.formats import event_hash

log = logging.getLogger(__name__)

# The same pattern as stg_freepbx__queue_log.agent_extension (a test keeps them equal).
INTERFACE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*/([^/@]+)")

RECENT_SECONDS = 15 * 60  # the window of pantao_live_calls_last_15m
DEDUP_SECONDS = 3 * 3600  # event hashes kept to skip an event applied twice (the db overlap is 2 h)
WAIT_EXPIRES_SECONDS = 4 * 3600
CALL_EXPIRES_SECONDS = 12 * 3600

EXIT_OUTCOMES = {"ABANDON": "abandoned", "EXITWITHTIMEOUT": "timeout", "EXITWITHKEY": "exit_key",
                 "EXITEMPTY": "exit_empty"}
# marts.calls.outcome's words, in the order the board shows them
OUTCOMES: tuple[str, ...] = ("answered", *EXIT_OUTCOMES.values())
CALL_ENDS = frozenset({"COMPLETEAGENT", "COMPLETECALLER", "TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"})
SESSION_STARTS = frozenset({"ADDMEMBER", "AGENTLOGIN", "AGENTCALLBACKLOGIN"})
SESSION_ENDS = frozenset({"REMOVEMEMBER", "AGENTLOGOFF", "AGENTCALLBACKLOGOFF"})
MEMBER_ACTIVITY = frozenset({"CONNECT", "RINGNOANSWER", "RINGCANCELED", "PAUSE", "UNPAUSE", *CALL_ENDS})
OPERATOR_STATES: tuple[str, ...] = ("logged_in", "on_call", "paused", "available")
NO_QUEUE = frozenset({"", "NONE"})
NO_CALL = frozenset({"", "NONE"})

# Events of one second, in the order they must have happened, for rebuilding from raw.pbx_queue_log
# (which keeps whole seconds and no line order): arrivals and logins first, ends and logoffs last.
SAME_SECOND_ORDER: dict[str, int] = {
    "ENTERQUEUE": 0, **dict.fromkeys(SESSION_STARTS, 0),
    "RINGNOANSWER": 1, "RINGCANCELED": 1,
    **dict.fromkeys(CALL_ENDS, 3), **dict.fromkeys(EXIT_OUTCOMES, 3),
    **dict.fromkeys(SESSION_ENDS, 4),
}
DEFAULT_SAME_SECOND_ORDER = 2  # CONNECT, PAUSE, UNPAUSE and everything else


@dataclass(frozen=True)
class Directory:
    """Member names that identify exactly one extension (lower-cased), as int_queue_log_events uses them."""

    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[str, str | None]]) -> Directory:
        by_name: dict[str, set[str]] = {}
        for extension, name in entries:
            key = (name or "").strip(" ").lower()
            if key:
                by_name.setdefault(key, set()).add(str(extension))
        return cls({key: next(iter(found)) for key, found in by_name.items() if len(found) == 1})

    def operator(self, agent: str) -> str | None:
        """The operator an agent field names: an extension, or a member name the directory lacks."""
        found = INTERFACE_RE.match(agent)
        if found:
            return found.group(1)
        name = agent.strip(" ")
        if not name or name == "NONE":
            return None
        return self.names.get(name.lower(), name)


@dataclass
class _Operator:
    queues: dict[str, bool] = field(default_factory=dict)  # queue -> paused there
    agent_login: bool = False  # chan_agent login (queue NONE): in its queues, which the log does not name
    calls: dict[str, int] = field(default_factory=dict)  # callid -> CONNECT epoch

    def state(self) -> str:
        if self.calls:
            return "on_call"
        if self.queues and all(self.queues.values()):
            return "paused"
        return "available"

    def gone(self) -> bool:
        return not (self.queues or self.agent_login or self.calls)


@dataclass(frozen=True)
class BoardSnapshot:
    """The board at one instant, ready to be served; every known queue appears, with zeros."""

    at: float
    waiting: dict[str, int]
    longest_wait_seconds: dict[str, float]
    operators: dict[str, int]  # OPERATOR_STATES -> count
    recent: dict[tuple[str, str], int]  # (queue, outcome) -> calls in the last RECENT_SECONDS
    last_event_at: float | None
    last_poll_at: float | None
    expired: dict[str, int]  # "waiting" | "on_call" -> dropped since start


class LiveBoard:
    def __init__(self, directory: Directory | None = None) -> None:
        self._lock = threading.Lock()
        self._directory = directory or Directory()
        self._waiting: dict[str, dict[str, int]] = {}  # callid -> queue -> ENTERQUEUE epoch
        self._operators: dict[str, _Operator] = {}
        self._call_operator: dict[str, str] = {}  # callid -> operator on it
        self._recent: deque[tuple[int, str, str]] = deque()  # (epoch, queue, outcome)
        self._queues: set[str] = set()
        self._seen: dict[str, int] = {}  # event_hash -> epoch
        self._last_event_at: int | None = None
        self._last_poll_at: float | None = None
        self._expired = {"waiting": 0, "on_call": 0}
        self._pruned_at = 0.0

    def set_directory(self, directory: Directory) -> None:
        with self._lock:
            self._directory = directory

    def apply(self, rows: Iterable[Sequence], hashes: Sequence[str] | None = None) -> int:
        """Apply queue_log rows (formats.QUEUE_LOG_COLUMNS order; epoch as int or str) in order.

        `hashes` are their event_hash when known (read from raw.pbx_queue_log); otherwise they are
        computed. Returns how many were new to the board.
        """
        applied = 0
        with self._lock:
            for i, row in enumerate(rows):
                epoch = int(row[0])
                key = hashes[i] if hashes is not None else event_hash(epoch, row[1], row[2], row[3], row[4],
                                                                      tuple(row[5:10]))
                if key in self._seen:
                    continue
                self._seen[key] = epoch
                self._event(epoch, row[1], row[2], row[3], row[4], row[5] or "")
                applied += 1
                if self._last_event_at is None or epoch > self._last_event_at:
                    self._last_event_at = epoch
        return applied

    def mark_polled(self, now: float) -> None:
        with self._lock:
            self._last_poll_at = now

    def tick(self, now: float) -> None:
        """Drop what is too old to be true (see the module's docstring) and forget old event hashes."""
        with self._lock:
            self._expire(now)
            while self._recent and self._recent[0][0] <= now - RECENT_SECONDS:
                self._recent.popleft()
            if now - self._pruned_at >= 60:
                self._pruned_at = now
                self._seen = {key: epoch for key, epoch in self._seen.items() if epoch >= now - DEDUP_SECONDS}

    def snapshot(self, now: float) -> BoardSnapshot:
        with self._lock:
            waiting = dict.fromkeys(sorted(self._queues), 0)
            longest = dict.fromkeys(waiting, 0.0)
            for queues in self._waiting.values():
                for queue, entered in queues.items():
                    waiting[queue] += 1
                    longest[queue] = max(longest[queue], now - entered)
            operators = dict.fromkeys(OPERATOR_STATES, 0)
            for operator in self._operators.values():
                operators["logged_in"] += 1
                operators[operator.state()] += 1
            recent = {(queue, outcome): 0 for queue in waiting for outcome in OUTCOMES}
            for epoch, queue, outcome in self._recent:
                if epoch > now - RECENT_SECONDS:
                    recent[(queue, outcome)] += 1
            return BoardSnapshot(now, waiting, longest, operators, recent,
                                 None if self._last_event_at is None else float(self._last_event_at),
                                 self._last_poll_at, dict(self._expired))

    # --- one event -------------------------------------------------------------------------

    def _event(self, epoch: int, callid: str, queue: str, agent: str, event: str, data1: str) -> None:
        has_queue = queue not in NO_QUEUE
        if has_queue and (event == "ENTERQUEUE" or event in SESSION_STARTS or event in MEMBER_ACTIVITY
                          or event in EXIT_OUTCOMES):
            self._queues.add(queue)
        if event == "ENTERQUEUE":
            if has_queue and callid not in NO_CALL:
                self._waiting.setdefault(callid, {})[queue] = epoch
            return
        if event in EXIT_OUTCOMES:
            self._leave_queue(callid, queue)
            if has_queue:
                self._recent_outcome(epoch, queue, EXIT_OUTCOMES[event])
            return
        if event == "CONNECT":
            self._waiting.pop(callid, None)
            if has_queue:
                self._recent_outcome(epoch, queue, "answered")
        if event in SESSION_STARTS:
            self._session_start(agent, queue, paused=data1 == "PAUSED")
        elif event in SESSION_ENDS:
            self._session_end(agent, queue)
        elif event in MEMBER_ACTIVITY:
            self._member_event(epoch, callid, queue, agent, event)

    def _recent_outcome(self, epoch: int, queue: str, outcome: str) -> None:
        self._recent.append((epoch, queue, outcome))

    def _leave_queue(self, callid: str, queue: str) -> None:
        queues = self._waiting.get(callid)
        if queues is None:
            return
        if queues.pop(queue, None) is None:
            queues.clear()  # left a queue it was not seen entering: it is in none any more
        if not queues:
            del self._waiting[callid]

    def _member(self, agent: str) -> tuple[str | None, _Operator | None]:
        key = self._directory.operator(agent)
        if key is None:
            return None, None
        return key, self._operators.setdefault(key, _Operator())

    def _session_start(self, agent: str, queue: str, *, paused: bool) -> None:
        _, operator = self._member(agent)
        if operator is None:
            return
        if queue in NO_QUEUE:
            operator.agent_login = True
        else:
            operator.queues[queue] = paused

    def _session_end(self, agent: str, queue: str) -> None:
        key, operator = self._member(agent)
        if operator is None:
            return
        if queue in NO_QUEUE:  # chan_agent logoff: out of every queue
            operator.agent_login = False
            operator.queues.clear()
        else:
            operator.queues.pop(queue, None)
        if operator.gone():
            del self._operators[key]

    def _member_event(self, epoch: int, callid: str, queue: str, agent: str, event: str) -> None:
        if event in CALL_ENDS:
            self._end_call(callid)
        key, operator = self._member(agent)
        if operator is None:
            return
        if queue not in NO_QUEUE:
            if event in ("PAUSE", "UNPAUSE"):
                operator.queues[queue] = event == "PAUSE"
            else:
                operator.queues.setdefault(queue, False)
        if event == "CONNECT" and callid not in NO_CALL:
            self._end_call(callid)  # a call is with one operator at a time
            operator.calls[callid] = epoch
            self._call_operator[callid] = key
        if operator.gone():
            del self._operators[key]

    def _end_call(self, callid: str) -> None:
        key = self._call_operator.pop(callid, None)
        operator = self._operators.get(key) if key is not None else None
        if operator is not None:
            operator.calls.pop(callid, None)
            if operator.gone():
                del self._operators[key]

    def _expire(self, now: float) -> None:
        stale_waits = [(callid, queue) for callid, queues in self._waiting.items()
                       for queue, entered in queues.items() if entered < now - WAIT_EXPIRES_SECONDS]
        for callid, queue in stale_waits:
            self._leave_queue(callid, queue)
        stale_calls = [callid for key, operator in self._operators.items()
                       for callid, connected in operator.calls.items() if connected < now - CALL_EXPIRES_SECONDS]
        for callid in stale_calls:
            self._end_call(callid)
        if stale_waits or stale_calls:
            self._expired["waiting"] += len(stale_waits)
            self._expired["on_call"] += len(stale_calls)
            log.warning("live board: dropped %d waiting call(s) older than %d h and %d call(s) in progress older"
                        " than %d h whose end never appeared in the queue_log (a lost line, or a PBX restart)",
                        len(stale_waits), WAIT_EXPIRES_SECONDS // 3600, len(stale_calls),
                        CALL_EXPIRES_SECONDS // 3600)
