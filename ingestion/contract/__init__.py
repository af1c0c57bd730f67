"""The contract at the landing's door: what a Kafka event must be to land in `raw`.

One definition, `events` (msgspec structs per stream and `schema_version`, built from the field
types in `fields`), gives both the fast path and the worded rejection reasons (`validator`,
`reasons`); `window` bounds event times. What the landing accepts, the staging models' casts
accept too (docs/schemas.md).
"""

from ingestion.contract.events import SCHEMAS, Event
from ingestion.contract.validator import NUL_REASON, Validator, make_validator
from ingestion.contract.window import EventTimeWindow

__all__ = ["SCHEMAS", "Event", "EventTimeWindow", "NUL_REASON", "Validator", "make_validator"]
