"""The contact centre: operator shifts, pauses, and a FIFO multi-agent queue simulation per day.

Calls are processed in arrival order; each takes the earliest operator who is logged in, not
paused, free, and can finish the call before logging out. Callers give up after their patience,
press a key, or hit the queue timeout. Everything an operator does stays inside their session.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable

from simulator.model import Call, Cdr, Operator, Pause, Ring, Session
from simulator.rand import poisson
from simulator.reference import PAUSE_REASONS

QUEUE_NUMBERS = {"orders": "400", "support": "401"}
HOTLINE_DID = {"orders": "+74951234567", "support": "+74951234568"}
QUEUE_TIMEOUT = 300
MEMBER_RING_MS = 15000
_ORDERS_SHIFTS = ((8 * 3600 + 55 * 60, 17 * 3600), (12 * 3600, 20 * 3600), (15 * 3600, 23 * 3600 + 5 * 60))
_SUPPORT_SHIFTS = ((9 * 3600, 17 * 3600), (13 * 3600, 21 * 3600))
# Share of a queue's daily calls per local hour; calls before the first and after the last shift find
# the queue empty.
CALL_HOURS = {
    "orders": {8: 0.8, 9: 3.0, 10: 4.0, 11: 7.0, 12: 12.0, 13: 11.0, 14: 7.0, 15: 5.0, 16: 5.0, 17: 7.0,
               18: 10.5, 19: 10.5, 20: 8.0, 21: 5.0, 22: 3.0, 23: 0.6},
    "support": {9: 6.0, 10: 9.0, 11: 10.0, 12: 10.0, 13: 10.0, 14: 9.0, 15: 9.0, 16: 9.0, 17: 8.0,
                18: 8.0, 19: 6.0, 20: 5.0, 21: 1.0},
}
_TALK_MEDIAN = {"orders": 130.0, "support": 200.0}


class _Agent:
    __slots__ = ("ext", "queue", "start", "end", "free_at", "lunch_after", "lunch_done", "handled")

    def __init__(self, session: Session, lunch_after: int) -> None:
        self.ext = session.extension
        self.queue = session.queue
        self.start = session.start
        self.end = session.end
        self.free_at = session.start
        self.lunch_after = lunch_after
        self.lunch_done = False
        self.handled = 0


class DayOutput:
    __slots__ = ("calls", "sessions", "pauses", "cdrs")

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.sessions: list[Session] = []
        self.pauses: list[Pause] = []
        self.cdrs: list[Cdr] = []


class UniqueIds:
    """Asterisk-style channel uniqueids `<epoch>.<counter>` and channel-name suffixes."""

    __slots__ = ("counter",)

    def __init__(self) -> None:
        self.counter = 0

    def next(self, at: int) -> str:
        self.counter += 1
        return f"{at}.{self.counter}"

    def channel(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter:08x}"


class ContactCentre:
    def __init__(self, rng: random.Random, operators: list[Operator], restaurant_lines: list[str],
                 ids: UniqueIds, pick_caller: Callable[[int], str]) -> None:
        self.rng = rng
        self.operators = operators
        self.restaurant_lines = restaurant_lines
        self.ids = ids
        self.pick_caller = pick_caller
        self.names = {op.extension: op.name for op in operators}

    def simulate_day(self, day_start: int, expected_calls: dict[str, float], understaffed: bool = False) -> DayOutput:
        out = DayOutput()
        for queue, expected in expected_calls.items():
            members = [op for op in self.operators if op.queue == queue]
            sessions = self._sessions(members, queue, day_start, understaffed)
            out.sessions.extend(sessions)
            _QueueDay(self, queue, day_start, sessions, out).run(self._arrivals(queue, day_start, expected))
        return out

    def _sessions(self, members: list[Operator], queue: str, day_start: int,
                  understaffed: bool = False) -> list[Session]:
        rng = self.rng
        shifts = _ORDERS_SHIFTS if queue == "orders" else _SUPPORT_SHIFTS
        working = max(len(shifts), min(len(members), round(len(members) * rng.uniform(0.62, 0.78))))
        if understaffed:  # the planted anomaly: one operator, on the first shift, takes the queue's calls
            working = 1
        chosen = rng.sample(members, min(working, len(members)))
        sessions: list[Session] = []
        for i, op in enumerate(chosen):
            begin, finish = shifts[i % len(shifts)]
            start = day_start + begin + rng.randint(-300, 420)
            end = day_start + finish + rng.randint(-600, 420)
            if rng.random() < 0.08:
                gap_start = start + (end - start) // 2 + rng.randint(-1800, 1800)
                gap_end = gap_start + rng.randint(900, 2700)
                sessions.append(Session(op.extension, queue, start, gap_start))
                sessions.append(Session(op.extension, queue, gap_end, end))
            else:
                sessions.append(Session(op.extension, queue, start, end))
        return sessions

    def _arrivals(self, queue: str, day_start: int, expected: float) -> list[tuple[int, str]]:
        rng = self.rng
        hours = CALL_HOURS[queue]
        total = sum(hours.values())
        arrivals: list[tuple[int, str]] = []
        for hour, share in hours.items():
            for _ in range(poisson(rng, expected * share / total)):
                at = day_start + hour * 3600 + rng.randrange(3600)
                arrivals.append((at, self.pick_caller(at)))
        arrivals.sort()
        return arrivals

    def talk_seconds(self, queue: str) -> int:
        return max(12, round(self.rng.lognormvariate(math.log(_TALK_MEDIAN[queue]), 0.55)))


class _QueueDay:
    """One queue on one day: the event loop over arrivals, repeat calls and outbound callbacks."""

    def __init__(self, cc: ContactCentre, queue: str, day_start: int, sessions: list[Session],
                 out: DayOutput) -> None:
        self.cc = cc
        self.rng = cc.rng
        self.queue = queue
        self.day_start = day_start
        self.out = out
        self.agents = [_Agent(s, s.start + (s.end - s.start) * 2 // 5) for s in sessions]
        self.waiting: list[int] = []
        self.tasks: list[tuple[int, int, str, str, bool]] = []
        self.seq = 0

    def _push(self, at: int, kind: str, phone: str, is_repeat: bool = False) -> None:
        self.seq += 1
        heapq.heappush(self.tasks, (at, self.seq, kind, phone, is_repeat))

    def run(self, arrivals: list[tuple[int, str]]) -> None:
        for at, phone in arrivals:
            self._push(at, "in", phone)
        while self.tasks:
            at, _, kind, phone, is_repeat = heapq.heappop(self.tasks)
            if kind == "in":
                self._inbound(at, phone, is_repeat)
            else:
                self._outbound(at, phone, kind)

    # inbound

    def _inbound(self, t: int, phone: str, is_repeat: bool) -> None:
        rng = self.rng
        while self.waiting and self.waiting[0] <= t:
            heapq.heappop(self.waiting)
        call = Call(self.cc.ids.next(t), self.queue, phone, t, len(self.waiting) + 1, is_repeat)
        if not any(a.start <= t < a.end for a in self.agents):
            call.end = t + rng.randint(0, 2)
            call.outcome = "EXITEMPTY"
        else:
            self._queue_call(call)
        heapq.heappush(self.waiting, call.connect_at if call.answered else call.end)
        self.out.calls.append(call)
        self.out.cdrs.extend(inbound_cdrs(call, self.cc.ids, self.queue))
        if not call.answered:
            self._maybe_follow_up(call)

    def _leave_plan(self, is_repeat: bool) -> tuple[int, str]:
        rng = self.rng
        if not is_repeat and rng.random() < 0.045:
            patience = rng.randint(1, 6)
        else:
            patience = 8 + round(rng.expovariate(1 / (200.0 if is_repeat else 90.0)))
        plan = (patience, "ABANDON")
        if rng.random() < 0.03:
            plan = min(plan, (rng.randint(15, 90), "EXITWITHKEY"))
        return min(plan, (QUEUE_TIMEOUT, "EXITWITHTIMEOUT"))

    def _queue_call(self, call: Call) -> None:
        rng = self.rng
        wait, leave_kind = self._leave_plan(call.is_repeat)
        leave_at = call.enter + wait
        talk = self.cc.talk_seconds(self.queue)
        cursor = call.enter + 2
        tried: list[str] = []
        for _ in range(4):
            agent, ring_start = self._next_agent(cursor, talk, tried)
            if agent is None or ring_start >= leave_at:
                break
            if rng.random() < 0.06:
                ring_end = ring_start + MEMBER_RING_MS // 1000
                if ring_end >= leave_at:
                    self._cancel_ring(call, agent, ring_start, leave_at)
                    break
                call.rings.append(Ring(agent.ext, ring_start, ring_end, "RINGNOANSWER"))
                agent.free_at = max(agent.free_at, ring_end)
                tried.append(agent.ext)
                cursor = ring_end + 1
                continue
            ringtime = max(1, round(rng.lognormvariate(math.log(4.0), 0.45)))
            if ring_start + ringtime >= leave_at:
                self._cancel_ring(call, agent, ring_start, leave_at)
                break
            self._connect(call, agent, ring_start, ringtime, talk)
            return
        call.end = leave_at
        call.outcome = leave_kind

    @staticmethod
    def _cancel_ring(call: Call, agent: _Agent, ring_start: int, leave_at: int) -> None:
        call.rings.append(Ring(agent.ext, ring_start, leave_at, "RINGCANCELED"))
        agent.free_at = max(agent.free_at, leave_at)

    def _next_agent(self, cursor: int, talk: int, tried: list[str]) -> tuple[_Agent | None, int]:
        best: _Agent | None = None
        best_key = (0, 0)
        for a in self.agents:
            if a.ext in tried:
                continue
            at = max(cursor, a.free_at, a.start)
            if at + talk + 90 > a.end:
                continue
            key = (at, a.handled)
            if best is None or key < best_key:
                best, best_key = a, key
        return best, best_key[0]

    def _connect(self, call: Call, agent: _Agent, ring_start: int, ringtime: int, talk: int) -> None:
        rng = self.rng
        call.extension = agent.ext
        call.connect_at = ring_start + ringtime
        call.ringtime = ringtime
        call.talk = talk
        call.end = call.connect_at + talk
        call.agent_uniqueid = self.cc.ids.next(ring_start)
        transfer_share = 0.04 if self.queue == "orders" else 0.09
        if rng.random() < transfer_share:
            call.outcome = "BLINDTRANSFER" if rng.random() < 0.6 else "ATTENDEDTRANSFER"
            call.transfer_target = rng.choice(self.cc.restaurant_lines)
        else:
            call.outcome = "COMPLETECALLER" if rng.random() < 0.55 else "COMPLETEAGENT"
        agent.handled += 1
        agent.free_at = call.end + rng.randint(5, 25)
        self._maybe_pause(agent)

    def _maybe_pause(self, agent: _Agent) -> None:
        rng = self.rng
        if not agent.lunch_done and agent.free_at >= agent.lunch_after:
            agent.lunch_done = True
            length, reason = rng.randint(1500, 2700), PAUSE_REASONS[0]
        elif rng.random() < 0.025:
            length, reason = rng.randint(120, 720), rng.choice(PAUSE_REASONS[1:])
        else:
            return
        start = agent.free_at
        end = min(start + length, agent.end - 60)
        if end - start < 60:
            return
        self.out.pauses.append(Pause(agent.ext, self.queue, start, end, reason))
        agent.free_at = end

    def _maybe_follow_up(self, call: Call) -> None:
        rng = self.rng
        last_call_at = self.day_start + 22 * 3600 + 30 * 60
        if call.outcome != "EXITEMPTY" and rng.random() < 0.4:
            again = call.end + rng.randint(300, 3 * 3600)
            if again < last_call_at:
                self._push(again, "in", call.phone, True)
        callback_share = 0.85 if call.outcome == "EXITWITHKEY" else 0.15
        if rng.random() < callback_share:
            self._push(call.end + rng.randint(120, 2400), "out1", call.phone)

    # outbound callbacks

    def _outbound(self, t: int, phone: str, kind: str) -> None:
        rng = self.rng
        free = [a for a in self.agents if a.start <= t and a.free_at <= t and t + 400 <= a.end]
        if not free:
            attempt = int(kind[3:])
            if attempt < 3:
                self._push(t + 300, f"out{attempt + 1}", phone)
            return
        agent = min(free, key=lambda a: (a.handled, a.ext))
        roll = rng.random()
        if roll < 0.7:
            answer = t + rng.randint(5, 20)
            end, disposition = answer + rng.randint(20, 150), "ANSWERED"
        elif roll < 0.95:
            answer, end, disposition = 0, t + 30, "NO ANSWER"
        else:
            answer, end, disposition = 0, t + rng.randint(2, 6), "BUSY"
        uid = self.cc.ids.next(t)
        name = self.cc.names[agent.ext]
        self.out.cdrs.append(Cdr(
            clid=f'"{name}" <{agent.ext}>', src=agent.ext, dst=phone, dcontext="from-internal",
            channel=self.cc.ids.channel(f"PJSIP/{agent.ext}"), dstchannel=self.cc.ids.channel("PJSIP/trunk"),
            lastapp="Dial", lastdata=f"PJSIP/trunk/sip:{phone}@sip.provider.ru,300,Tt", start=t, answer=answer,
            end=end, disposition=disposition, uniqueid=uid, linkedid=uid, sequence=0, did="",
            cnum=agent.ext, cnam=name,
        ))
        agent.free_at = end + 10


def inbound_cdrs(call: Call, ids: UniqueIds, queue: str) -> list[Cdr]:
    """CDR rows of one queued call: one per unanswered ring, the caller leg, and a transfer leg."""
    qnum = QUEUE_NUMBERS[queue]
    trunk = ids.channel("PJSIP/trunk")
    common = {
        "clid": f'"{call.phone}" <{call.phone}>', "src": call.phone, "dst": qnum, "dcontext": "ext-queues",
        "channel": trunk, "lastapp": "Queue", "lastdata": f"{qnum},t,,,{QUEUE_TIMEOUT},,,,,",
        "uniqueid": call.linkedid, "linkedid": call.linkedid, "did": HOTLINE_DID[queue], "cnum": call.phone,
        "cnam": "",
    }
    rows: list[Cdr] = []
    for ring in call.rings:
        rows.append(Cdr(**common, dstchannel=ids.channel(f"PJSIP/{ring.extension}"), start=ring.start, answer=0,
                        end=ring.end, disposition="NO ANSWER", sequence=len(rows)))
    if call.answered:
        rows.append(Cdr(**common, dstchannel=ids.channel(f"PJSIP/{call.extension}"), start=call.enter,
                        answer=call.connect_at, end=call.end, disposition="ANSWERED", sequence=len(rows)))
    else:
        # Queue() answers the caller's channel itself, so an abandoned call still shows ANSWERED.
        rows.append(Cdr(**common, dstchannel="", start=call.enter, answer=call.enter, end=call.end,
                        disposition="ANSWERED", sequence=len(rows)))
    if call.transfer_target is not None:
        target = call.transfer_target
        answer = call.end + (call.enter % 9) + 3
        rows.append(Cdr(**{**common, "dst": target, "dcontext": "from-internal-xfer", "lastapp": "Dial",
                           "lastdata": f"PJSIP/{target},,HhTtr"},
                        dstchannel=ids.channel(f"PJSIP/{target}"), start=call.end, answer=answer,
                        end=answer + 30 + (call.enter % 180), disposition="ANSWERED", sequence=len(rows)))
    return rows
