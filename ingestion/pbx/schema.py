"""The raw tables the FreePBX landing writes (docs/contracts.md §3).

`ensure_pbx_tables` is idempotent and safe on its own: `ingestion.schema.ensure_raw_schema`
calls it as part of `pantao prepare`, and `land_pbx` calls it too so a first run works on an
empty database.
"""

from __future__ import annotations

import psycopg

from ingestion.pbx.formats import CDR_COLUMNS, CDR_INT_COLUMNS


def _cdr_column_defs() -> str:
    defs = []
    for name in CDR_COLUMNS:
        if name == "calldate":
            sql_type = "timestamp not null"
        elif name in CDR_INT_COLUMNS:
            sql_type = "int not null" if name == "sequence" else "int"
        elif name in ("uniqueid", "linkedid"):
            sql_type = "text not null"
        else:
            sql_type = "text"
        defs.append(f"{name} {sql_type}")
    return ",\n    ".join(defs)


DDL = f"""
create schema if not exists raw;

create table if not exists raw.rejected_records (
    id bigserial primary key,
    source text not null,
    source_ref text,
    reason text not null,
    raw_bytes bytea,
    rejected_at timestamptz not null default now()
);

-- calldate is the PBX's local wall-clock time (BUSINESS_TIMEZONE), kept as FreePBX stores it.
create table if not exists raw.pbx_cdr (
    {_cdr_column_defs()},
    source text not null,
    landed_at timestamptz not null default now(),
    constraint pbx_cdr_natural_key unique (uniqueid, linkedid, sequence)
);
create index if not exists pbx_cdr_landed_at_brin on raw.pbx_cdr using brin (landed_at);
create index if not exists pbx_cdr_calldate_idx on raw.pbx_cdr (calldate);
create index if not exists pbx_cdr_linkedid_idx on raw.pbx_cdr (linkedid);

create table if not exists raw.pbx_queue_log (
    event_hash text primary key,
    event_at timestamptz not null,
    callid text not null,
    queuename text not null,
    agent text not null,
    event text not null,
    data1 text,
    data2 text,
    data3 text,
    data4 text,
    data5 text,
    source text not null,
    landed_at timestamptz not null default now()
);
create index if not exists pbx_queue_log_landed_at_brin on raw.pbx_queue_log using brin (landed_at);
create index if not exists pbx_queue_log_event_at_idx on raw.pbx_queue_log (event_at);
create index if not exists pbx_queue_log_callid_idx on raw.pbx_queue_log (callid);

create table if not exists raw.pbx_extensions (
    extension text primary key,
    name text,
    source text not null,
    landed_at timestamptz not null default now()
);

-- Where each incremental PBX stream stopped: a byte position (files) or a time watermark
-- (db, api). Written in the same transaction as the rows it covers.
create table if not exists raw.pbx_watermarks (
    source text not null,
    stream text not null,
    position text not null,
    updated_at timestamptz not null default now(),
    primary key (source, stream)
);
"""


def ensure_pbx_tables(conn: psycopg.Connection) -> None:
    """Create schema raw, raw.rejected_records and the PBX tables if missing (idempotent).

    Runs inside the caller's transaction; the caller commits. An advisory lock serialises
    concurrent first runs, which would otherwise race on `create table if not exists`.
    """
    conn.execute("select pg_advisory_xact_lock(hashtext('pantao:ensure_pbx_tables'))")
    conn.execute(DDL)
