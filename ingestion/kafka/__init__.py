"""Kafka -> PostgreSQL landing, exactly once (docs/ingestion.md).

The rooms: `broker` (what the broker is asked before reading), `offsets` (where each partition
starts; the conditional offset update), `reader` (consume, validate, encode; in a thread or in
processes that die with the landing), `writer` (one transaction per batch), `landing` (the run
that ties them together), `copy_rows` (binary COPY encoding), `options` (what a run is asked to
do and what it reports). What a message must be to land is `ingestion.contract`.
"""

from ingestion.kafka.broker import LandingError
from ingestion.kafka.landing import land_topics, stream_lag
from ingestion.kafka.options import (
    DEFAULT_BATCH_SIZE,
    LandingOptions,
    LandingResult,
    PartitionLag,
    StreamStats,
)

__all__ = ["DEFAULT_BATCH_SIZE", "LandingError", "LandingOptions", "LandingResult", "PartitionLag", "StreamStats",
           "land_topics", "stream_lag"]
