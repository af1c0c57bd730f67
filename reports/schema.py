"""The `reports` schema: report snapshots (days, weeks, months), Telegram deliveries and the bot's access log.

Created by `pantao prepare` before anything writes a report. Every statement is `create ...
if not exists`, so the step can run on every deploy. It only creates what is missing: it does
not alter an existing table, so a change to a column here needs its own `alter table` statement
added below (written to be re-runnable) for databases created before it.

dbt reads `reports.daily_report` back (source `reports`, dbt_project/models/staging/reports/): the
staffing advice the reports store is what marts.staffing_advice and reporting.staffing_advice show,
through a staging view that depends on the table — a change to its columns or to the `staffing`
figures' keys needs those models changed with it.
"""

from __future__ import annotations

import logging

from pantao.db import connect
from pantao.settings import Settings

log = logging.getLogger(__name__)

DDL = """
create schema if not exists reports;

comment on schema reports is 'Daily report snapshots, Telegram deliveries and the bot access log.';

create table if not exists reports.daily_report (
    business_date date not null,
    version int not null check (version >= 1),
    figures jsonb not null,
    data_freshness jsonb not null,
    generated_at timestamptz not null default now(),
    lang text not null check (lang in ('ru', 'en')),
    primary key (business_date, version)
);
comment on table reports.daily_report is
    'One row per business day and version: the figures a report showed. Re-generating a day adds a version.';

create table if not exists reports.deliveries (
    business_date date not null,
    chat_id text not null,
    kind text not null,
    status text not null check (status in ('sent', 'failed')),
    attempts int not null default 1,
    message_ids bigint[] not null default '{}',
    error text,
    report_version int,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint deliveries_once_per_day_chat_kind unique (business_date, chat_id, kind)
);
comment on table reports.deliveries is
    'One row per business day, chat and kind of message: whether it was delivered, so a re-run never sends twice.';

create table if not exists reports.delivery_parts (
    business_date date not null,
    chat_id text not null,
    kind text not null,
    part text not null,
    message_id bigint not null,
    report_version int,
    sent_at timestamptz not null default now(),
    primary key (business_date, chat_id, kind, part)
);
comment on table reports.delivery_parts is
    'One row per part of a delivery Telegram accepted (text:1, text:2, ... the message split under the limit; each attachment by its file key), written right after it was accepted: a delivery cut short resumes with the missing parts only.';

create table if not exists reports.bot_access_log (
    id bigserial primary key,
    telegram_id bigint,
    telegram_username text,
    chat_id bigint,
    command text not null,
    allowed boolean not null,
    reason text,
    at timestamptz not null default now()
);
create index if not exists bot_access_log_at on reports.bot_access_log (at);
comment on table reports.bot_access_log is
    'Every command the Telegram bot received, who sent it and whether it was answered.';

create table if not exists reports.period_report (
    period_kind text not null check (period_kind in ('week', 'month')),
    period_start date not null,
    version int not null check (version >= 1),
    period_end date not null,
    figures jsonb not null,
    data_freshness jsonb not null,
    generated_at timestamptz not null default now(),
    lang text not null check (lang in ('ru', 'en')),
    primary key (period_kind, period_start, version)
);
comment on table reports.period_report is
    'One row per week or month and version: the figures a weekly or monthly report showed. Re-generating adds a version.';

create table if not exists reports.callback_marks (
    business_date date not null,
    caller_phone text not null,
    marked_by_telegram_id bigint,
    marked_by_username text,
    marked_at timestamptz not null default now(),
    primary key (business_date, caller_phone)
);
comment on table reports.callback_marks is
    'One row per caller of marts.missed_call_recovery that a manager marked «перезвонили» in the bot: off the open list.';
"""


def ensure_reports_schema(settings: Settings, database_url: str) -> None:
    """Create the reports schema and its tables if they are missing (safe to run any number of times)."""
    with connect(database_url, autocommit=True) as conn:
        # Serialise concurrent `prepare` runs: `create ... if not exists` races on the catalog otherwise.
        conn.execute("select pg_advisory_lock(hashtext('pantao:reports.schema'))")
        try:
            conn.execute(DDL)
        finally:
            conn.execute("select pg_advisory_unlock(hashtext('pantao:reports.schema'))")
    log.info("reports schema ready")
