"""The `raw` schema: landing tables for the Kafka streams, the stored offsets, the quarantine.

Table shapes are docs/contracts.md §3. The payload column is `text`, not `jsonb`: COPY into
`text` runs about three times faster because PostgreSQL does not parse the document again
(the landing already validated it); dbt's staging models cast it to `jsonb`. Measured figures
are in docs/performance.md. The Kafka tables carry no index: exactly-once is guaranteed by the
offsets committed with the rows, and an index would slow every COPY.
"""

from __future__ import annotations

import importlib.util
import logging

from pantao.db import connect
from pantao.settings import Settings

log = logging.getLogger(__name__)

KAFKA_STREAMS: tuple[str, ...] = ("orders", "customers", "feedback")

# The columns COPY writes, in order; landed_at comes from its default.
KAFKA_COPY_COLUMNS: tuple[str, ...] = (
    "kafka_topic", "kafka_partition", "kafka_offset", "kafka_key", "kafka_timestamp", "payload",
)


def kafka_table_ddl(qualified_name: str) -> str:
    """The definition of one Kafka landing table (also used by the benchmark for its ceiling)."""
    return f"""
        create table if not exists {qualified_name} (
            kafka_topic text not null,
            kafka_partition int not null,
            kafka_offset bigint not null,
            kafka_key text,
            kafka_timestamp timestamptz,
            payload text not null,
            landed_at timestamptz not null default now()
        );
        -- BRIN: landed_at only grows, so the index costs COPY almost nothing and lets the
        -- monitoring tally and late-data queries read just the newest blocks
        create index if not exists {qualified_name.split(".")[-1]}_landed_at_brin
            on {qualified_name} using brin (landed_at)"""


COMMON_DDL: tuple[str, ...] = (
    "create schema if not exists raw",
    """
    create table if not exists raw.kafka_offsets (
        consumer text not null,
        topic text not null,
        partition int not null,
        next_offset bigint not null,
        updated_at timestamptz not null default now(),
        primary key (consumer, topic, partition)
    )""",
    """
    create table if not exists raw.rejected_records (
        id bigint generated always as identity primary key,
        source text not null,
        source_ref text,
        reason text not null,
        raw_bytes bytea,
        rejected_at timestamptz not null default now()
    )""",
    "create index if not exists rejected_records_source_idx on raw.rejected_records (source, rejected_at)",
    "comment on table raw.kafka_offsets is "
    "'Next Kafka offset to land per consumer/topic/partition; committed with the landed rows.'",
    "comment on table raw.rejected_records is "
    "'Records that failed validation, with the reason and the original bytes.'",
)


def ensure_raw_schema(settings: Settings, database_url: str) -> None:
    """Create the raw schema and its tables if missing (idempotent), including the PBX tables.

    The PBX tables belong to `ingestion.pbx.schema`; they are created here so that one call
    (`pantao prepare`) readies everything the landing writes.
    """
    with connect(database_url) as conn:
        # Serialize concurrent prepares: `create ... if not exists` can race on the catalog.
        conn.execute("select pg_advisory_xact_lock(hashtext('pantao.ensure_raw_schema'))")
        for statement in COMMON_DDL:
            conn.execute(statement)
        for stream in KAFKA_STREAMS:
            conn.execute(kafka_table_ddl(f"raw.{stream}"))
            conn.execute(f"comment on table raw.{stream} is "
                         f"'One row per Kafka message of the {stream} stream (validated JSON in payload).'")
        if importlib.util.find_spec("ingestion.pbx.schema") is not None:
            from ingestion.pbx.schema import ensure_pbx_tables

            ensure_pbx_tables(conn)
        else:
            log.info("ingestion.pbx.schema is not installed; PBX raw tables not created")
    log.info("raw schema ready (streams: %s)", ", ".join(KAFKA_STREAMS))
