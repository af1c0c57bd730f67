"""The Kafka events (docs/contracts.md §1), one msgspec struct per stream and `schema_version`.

These classes are the whole definition: the landing's fast path decodes a message straight into
one of them, the detailed path words its rejection reasons from the same types
(`msgspec.inspect`), and docs/schemas.md describes them (tests/test_validation.py keeps the page
in step). A cross-field rule is the struct's `__post_init__`: msgspec calls it after decoding,
and the message it raises is the rejection reason.

Adding a version: a new class with `tag=2` beside the old one, and an entry in `SCHEMAS`; the
old version stays readable (old messages stay in the topics and in `raw`).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from ingestion.contract.fields import (
    Instant,
    Int4,
    Money,
    NonEmptyText,
    NonNegativeMoney,
    Number,
    Quantity,
    RestaurantId,
    Score,
    Text,
    Uuid,
)
from pantao.domain import CHANNELS

ORDER_STATUSES = ("created", "paid", "completed", "cancelled")
ORDER_EVENT_TYPES = tuple(f"order_{status}" for status in ORDER_STATUSES)


class Event(msgspec.Struct, kw_only=True, tag_field="schema_version", forbid_unknown_fields=True, gc=False):
    """Fields every event has. `schema_version` is the tag that picks the class.

    `forbid_unknown_fields`: the fast path accepts only documents it decoded entirely, because
    msgspec skips unknown fields without checking their UTF-8 or number range. A document with
    fields beyond the schema (allowed) is accepted by the detailed path, which checks them.
    """

    event_id: Uuid  # unique per logical event; a re-sent duplicate repeats it
    event_at: Instant  # when it happened at the source


class OrderItem(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    sku: Text
    name: Text
    qty: Quantity
    unit_price: Number


class OrderV1(Event, tag=1, kw_only=True):
    event_type: Literal[ORDER_EVENT_TYPES]
    order_id: NonEmptyText
    status: Literal[ORDER_STATUSES]  # must match event_type
    created_at: Instant
    restaurant_id: RestaurantId
    channel: Literal[CHANNELS]
    customer_phone: Text | None
    items: Annotated[list[OrderItem], Meta(min_length=1)]
    subtotal_amount: Money
    discount_amount: NonNegativeMoney
    total_amount: Money
    currency: Literal["RUB"]
    call_linkedid: Text | None
    operator_extension: Text | None

    def __post_init__(self) -> None:
        if "order_" + self.status != self.event_type:
            raise ValueError(f"status {self.status!r} does not match event_type {self.event_type!r}")


class CustomerV1(Event, tag=1, kw_only=True):
    event_type: Literal["customer_created", "customer_updated"]
    customer_phone: NonEmptyText
    name: Text | None
    email: Text | None = None
    home_restaurant_id: Int4 | None = None
    marketing_opt_in: bool | UnsetType = UNSET  # may be absent, must not be null
    registered_at: Instant


class FeedbackV1(Event, tag=1, kw_only=True):
    event_type: Literal["rating_submitted"]
    rating_id: NonEmptyText
    subject_type: Literal["call", "order"]
    call_linkedid: Text | None  # set when subject_type = call
    order_id: Text | None  # set when subject_type = order
    operator_extension: Text | None
    customer_phone: Text | None
    score: Score
    comment: Text | None = None


# stream -> schema_version -> the event class
SCHEMAS: dict[str, dict[int, type[Event]]] = {
    "orders": {1: OrderV1},
    "customers": {1: CustomerV1},
    "feedback": {1: FeedbackV1},
}
