"""The simulated world as plain slotted objects: cheap enough to hold a few million of them.

Times: calls, sessions and CDRs are in whole UTC epoch seconds (the PBX's resolution); orders,
customer events and ratings in UTC epoch milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.clock import BusinessClock
from simulator.config import SimConfig

# queue_log row: (epoch, callid, queuename, agent, event, data1, data2, data3, data4, data5)
QueueLogRow = tuple[int, str, str, str, str, str, str, str, str, str]


class Restaurant:
    __slots__ = ("restaurant_id", "name", "size", "line_extension")

    def __init__(self, restaurant_id: int, name: str, size: float) -> None:
        self.restaurant_id = restaurant_id
        self.name = name
        self.size = size
        self.line_extension = f"3{restaurant_id:02d}"


class Customer:
    __slots__ = (
        "phone", "name", "email", "home_restaurant_id", "marketing_opt_in", "weight", "phone_affinity",
        "active_from", "registered_ms", "preregistered",
    )

    def __init__(self, phone: str, name: str | None, email: str | None, home_restaurant_id: int,
                 marketing_opt_in: bool, weight: float, phone_affinity: float, active_from: int,
                 registered_ms: int | None, preregistered: bool) -> None:
        self.phone = phone
        self.name = name
        self.email = email
        self.home_restaurant_id = home_restaurant_id
        self.marketing_opt_in = marketing_opt_in
        self.weight = weight
        self.phone_affinity = phone_affinity
        self.active_from = active_from
        self.registered_ms = registered_ms
        self.preregistered = preregistered


class Operator:
    __slots__ = ("extension", "name", "queue")

    def __init__(self, extension: str, name: str, queue: str) -> None:
        self.extension = extension
        self.name = name
        self.queue = queue


class Session:
    """One ADDMEMBER -> REMOVEMEMBER span of an operator in a queue, inside one business day."""

    __slots__ = ("extension", "queue", "start", "end")

    def __init__(self, extension: str, queue: str, start: int, end: int) -> None:
        self.extension = extension
        self.queue = queue
        self.start = start
        self.end = end


class Pause:
    __slots__ = ("extension", "queue", "start", "end", "reason")

    def __init__(self, extension: str, queue: str, start: int, end: int, reason: str) -> None:
        self.extension = extension
        self.queue = queue
        self.start = start
        self.end = end
        self.reason = reason


class Ring:
    """A member rung without answering: RINGNOANSWER (timed out) or RINGCANCELED (caller left)."""

    __slots__ = ("extension", "start", "end", "event")

    def __init__(self, extension: str, start: int, end: int, event: str) -> None:
        self.extension = extension
        self.start = start
        self.end = end
        self.event = event


class Call:
    """One inbound call that entered a queue; `linkedid` is the caller channel's uniqueid."""

    __slots__ = (
        "linkedid", "queue", "phone", "enter", "position", "rings", "extension", "connect_at", "ringtime",
        "talk", "end", "outcome", "transfer_target", "is_repeat", "agent_uniqueid",
    )

    def __init__(self, linkedid: str, queue: str, phone: str, enter: int, position: int, is_repeat: bool) -> None:
        self.linkedid = linkedid
        self.queue = queue
        self.phone = phone
        self.enter = enter
        self.position = position
        self.rings: list[Ring] = []
        self.extension: str | None = None
        self.connect_at = 0
        self.ringtime = 0
        self.talk = 0
        self.end = enter
        self.outcome = ""
        self.transfer_target: str | None = None
        self.is_repeat = is_repeat
        self.agent_uniqueid = ""

    @property
    def answered(self) -> bool:
        return self.extension is not None

    @property
    def holdtime(self) -> int:
        return self.connect_at - self.enter

    @property
    def waittime(self) -> int:
        return self.end - self.enter


class Cdr:
    """One row of the FreePBX `cdr` table; times are epoch seconds, `answer` 0 when not answered."""

    __slots__ = (
        "clid", "src", "dst", "dcontext", "channel", "dstchannel", "lastapp", "lastdata", "start", "answer",
        "end", "disposition", "uniqueid", "linkedid", "sequence", "did", "cnum", "cnam",
    )

    def __init__(self, *, clid: str, src: str, dst: str, dcontext: str, channel: str, dstchannel: str,
                 lastapp: str, lastdata: str, start: int, answer: int, end: int, disposition: str,
                 uniqueid: str, linkedid: str, sequence: int, did: str, cnum: str, cnam: str) -> None:
        self.clid = clid
        self.src = src
        self.dst = dst
        self.dcontext = dcontext
        self.channel = channel
        self.dstchannel = dstchannel
        self.lastapp = lastapp
        self.lastdata = lastdata
        self.start = start
        self.answer = answer
        self.end = end
        self.disposition = disposition
        self.uniqueid = uniqueid
        self.linkedid = linkedid
        self.sequence = sequence
        self.did = did
        self.cnum = cnum
        self.cnam = cnam

    @property
    def duration(self) -> int:
        return self.end - self.start

    @property
    def billsec(self) -> int:
        return self.end - self.answer if self.answer else 0


class Order:
    __slots__ = (
        "order_id", "restaurant_id", "channel", "phone", "items", "subtotal_kop", "discount_kop", "created_ms",
        "call_linkedid", "operator_extension", "events",
    )

    def __init__(self, restaurant_id: int, channel: str, phone: str | None,
                 items: list[tuple[str, str, int, int]], discount_kop: int, created_ms: int,
                 call_linkedid: str | None = None, operator_extension: str | None = None) -> None:
        self.order_id = ""
        self.restaurant_id = restaurant_id
        self.channel = channel
        self.phone = phone
        self.items = items  # (sku, name, qty, unit price in kopecks)
        self.subtotal_kop = sum(qty * price for _, _, qty, price in items)
        self.discount_kop = discount_kop
        self.created_ms = created_ms
        self.call_linkedid = call_linkedid
        self.operator_extension = operator_extension
        self.events: list[tuple[str, int, str]] = []  # (status, event_at ms, event_id)

    @property
    def total_kop(self) -> int:
        return self.subtotal_kop - self.discount_kop

    @property
    def final_status(self) -> str:
        return self.events[-1][0]


class CustomerEvent:
    """A snapshot of a customer's profile as sent on the `customers` topic."""

    __slots__ = ("event_type", "at_ms", "event_id", "phone", "name", "email", "home_restaurant_id",
                 "marketing_opt_in", "registered_ms")

    def __init__(self, event_type: str, at_ms: int, event_id: str, customer: Customer, registered_ms: int) -> None:
        self.event_type = event_type
        self.at_ms = at_ms
        self.event_id = event_id
        self.phone = customer.phone
        self.name = customer.name
        self.email = customer.email
        self.home_restaurant_id = customer.home_restaurant_id
        self.marketing_opt_in = customer.marketing_opt_in
        self.registered_ms = registered_ms


class Rating:
    __slots__ = ("rating_id", "event_id", "subject_type", "call_linkedid", "order_id", "operator_extension",
                 "phone", "score", "comment", "submitted_ms", "interaction_at")

    def __init__(self, rating_id: str, event_id: str, subject_type: str, call_linkedid: str | None,
                 order_id: str | None, operator_extension: str | None, phone: str | None, score: int,
                 comment: str | None, submitted_ms: int, interaction_at: int) -> None:
        self.rating_id = rating_id
        self.event_id = event_id
        self.subject_type = subject_type
        self.call_linkedid = call_linkedid
        self.order_id = order_id
        self.operator_extension = operator_extension
        self.phone = phone
        self.score = score
        self.comment = comment
        self.submitted_ms = submitted_ms
        self.interaction_at = interaction_at  # epoch seconds the rated interaction started


class Malformed:
    """An extra broken record; `payload` is text, or bytes when it is not valid UTF-8."""

    __slots__ = ("source", "kind", "at_ms", "key", "payload")

    def __init__(self, source: str, kind: str, at_ms: int, key: str | None, payload: str | bytes) -> None:
        self.source = source
        self.kind = kind
        self.at_ms = at_ms
        self.key = key
        self.payload = payload


@dataclass
class Simulation:
    config: SimConfig
    clock: BusinessClock
    restaurants: list[Restaurant]
    operators: list[Operator]
    customers: list[Customer] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    customer_events: list[CustomerEvent] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)
    cdrs: list[Cdr] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)
    duplicates: list[tuple[int, Order, int]] = field(default_factory=list)  # (produce ms, order, event index)
    malformed: list[Malformed] = field(default_factory=list)
    housekeeping: list[QueueLogRow] = field(default_factory=list)
