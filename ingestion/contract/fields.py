"""The field types of the Kafka events, each one both a msgspec type and its documented rule.

A type here is an `Annotated` msgspec type: msgspec checks in C everything its `Meta` can say
(JSON type, ranges, lengths, enums, an ISO 8601 instant with an offset). What msgspec cannot say
is named in `Meta.extra["check"]` and checked by `ingestion.contract.validator` on the decoded
value (a uuid's hyphens; an instant's UTC offset and plausibility window). `Meta.extra["limit"]`
names the storage type a bound comes from, so a rejection reason can say why the bound exists.

The bounds are the staging casts' (dbt_project/models/staging/kafka/*.sql): a value the landing
accepts never fails `::int`, `::numeric(14,2)` or `::timestamptz` (tests/test_contract_casts.py
runs those casts on PostgreSQL over values at and beyond every bound).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from msgspec import Meta

INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
# orjson (the detailed path) reads integers up to 64 bits; msgspec bounds must fit in int64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# numeric(14,2) holds |x| < 10^12 after rounding to cents. A JSON number is read as a float here,
# which is within 0.00006 of the decimal PostgreSQL reads at this magnitude, so accepting
# |x| <= 999,999,999,999.99 guarantees the cast never overflows.
MONEY_MAX = 999_999_999_999.99
# PostgreSQL rejects a UTC offset of 16 hours or more ("time zone displacement out of range")
MAX_UTC_OFFSET = dt.timedelta(hours=15, minutes=59)

Text = str
NonEmptyText = Annotated[str, Meta(min_length=1)]
Uuid = Annotated[str, Meta(min_length=36, max_length=36, extra={"check": "uuid"})]
# RFC 3339 (msgspec's parser): YYYY-MM-DD, T (or t, or a space), HH:MM:SS, an optional fraction,
# then Z or +HH:MM / -HH:MM. Every such string is also valid PostgreSQL timestamptz input.
Instant = Annotated[dt.datetime, Meta(tz=True, extra={"check": "instant"})]
Int4 = Annotated[int, Meta(ge=INT4_MIN, le=INT4_MAX, extra={"limit": "int4"})]
RestaurantId = Annotated[int, Meta(ge=1, le=INT4_MAX, extra={"limit": "int4"})]
Quantity = Annotated[int, Meta(ge=1, le=INT64_MAX, extra={"limit": "int64"})]
Score = Annotated[int, Meta(ge=1, le=5)]
Number = float  # a JSON number (an int is a valid number; `true` is not)
Money = Annotated[float, Meta(ge=-MONEY_MAX, le=MONEY_MAX, extra={"limit": "numeric(14,2)"})]
NonNegativeMoney = Annotated[float, Meta(ge=0, le=MONEY_MAX, extra={"limit": "numeric(14,2)"})]
