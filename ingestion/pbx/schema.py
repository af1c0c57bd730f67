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
            sql_type = "int"
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

-- calldate is kept as the PBX wrote it; calldate_zone names its zone (PBX_TIMEZONE, or UTC
-- with usegmtime). uniqueid, linkedid and sequence are NULL when the Master.csv layout lacks
-- them; cdr_key is the natural key (formats.cdr_key_sql).
create table if not exists raw.pbx_cdr (
    {_cdr_column_defs()},
    cdr_key text not null,
    calldate_zone text,
    source text not null,
    landed_at timestamptz not null default now(),
    constraint pbx_cdr_key unique (cdr_key)
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

-- removed_at: when a full read of the directory no longer listed the extension (the row and its
-- name stay, so the person keeps their history); null while listed.
create table if not exists raw.pbx_extensions (
    extension text primary key,
    name text,
    source text not null,
    landed_at timestamptz not null default now(),
    removed_at timestamptz
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


# Tables created before the cdr_csv layouts and the PBX clock (issue #12) are brought up to date:
# their CDRs all had uniqueid, linkedid and sequence, which become their cdr_key; a NULL
# calldate_zone means BUSINESS_TIMEZONE, as those rows were written under.
MIGRATE = """
do $$
begin
    if not exists (select 1 from information_schema.columns
                   where table_schema = 'raw' and table_name = 'pbx_cdr' and column_name = 'cdr_key') then
        alter table raw.pbx_cdr add column cdr_key text, add column calldate_zone text;
        update raw.pbx_cdr set cdr_key = concat_ws('|', uniqueid, linkedid, sequence::text);
        alter table raw.pbx_cdr
            alter column cdr_key set not null,
            alter column uniqueid drop not null,
            alter column linkedid drop not null,
            alter column sequence drop not null,
            drop constraint if exists pbx_cdr_natural_key,
            add constraint pbx_cdr_key unique (cdr_key);
    end if;
end $$;
alter table raw.pbx_extensions add column if not exists removed_at timestamptz;
"""


def ensure_pbx_tables(conn: psycopg.Connection) -> None:
    """Create schema raw, raw.rejected_records and the PBX tables if missing (idempotent).

    Runs inside the caller's transaction; the caller commits. An advisory lock serialises
    concurrent first runs, which would otherwise race on `create table if not exists`.
    """
    conn.execute("select pg_advisory_xact_lock(hashtext('pantao:ensure_pbx_tables'))")
    conn.execute(DDL)
    conn.execute(MIGRATE)
