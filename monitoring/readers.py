"""The SQL the exporter runs on each scrape, one function per question.

Every function first asks which of its relations exist (`to_regclass`), so a fresh install
without the raw, marts or reports schemas answers "nothing yet" instead of failing: the
exporter must start before the first `pantao prepare` and keep serving through migrations.
Each query runs under the connection's `statement_timeout`, so a locked or huge table makes
one source report a scrape error instead of hanging Prometheus's scrape.
The raw tables are not counted whole: `landed` and `rejected` read running totals the
exporter keeps in `ops` (monitoring.tally) plus the rows landed since.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import psycopg

from monitoring.catalog import OTHER_REASON, REJECT_REASONS
from monitoring.tally import Tracked, has_index_on, tally

# `source` label -> (raw table, asset name in pantao_last_success_timestamp_seconds)
RAW_SOURCES: dict[str, tuple[str, str]] = {
    "kafka:orders": ("raw.orders", "raw_orders"),
    "kafka:customers": ("raw.customers", "raw_customers"),
    "kafka:feedback": ("raw.feedback", "raw_feedback"),
    "pbx_cdr": ("raw.pbx_cdr", "raw_pbx_cdr"),
    "pbx_queue_log": ("raw.pbx_queue_log", "raw_pbx_queue_log"),
    "pbx_extensions": ("raw.pbx_extensions", "raw_pbx_extensions"),
}
OTHER_SOURCE = "other"

# Tallied incrementally by their ordering column (monitoring.tally). One catch-up step is a day
# of landed_at or 100 000 ids: what one scrape can count within the statement timeout.
LANDED_TALLIES: dict[str, Tracked] = {
    source: Tracked(table, "landed_at", "interval '1 day'")
    for source, (table, _) in RAW_SOURCES.items() if source != "pbx_extensions"
}
REJECTED_TALLY = Tracked("raw.rejected_records", "id", "100000")

# mart -> SQL expression (over the mart) of the newest instant it covers. Day-grained marts
# cover their latest business day up to the following midnight in the business time zone.
MART_LATEST: dict[str, str] = {
    "orders": "max(created_at)",
    "calls": "max(entered_at)",
    "customers": "max(last_order_at)",
    "hourly_kpis": "max(hour_start_at) + interval '1 hour'",
    "daily_kpis": "(max(business_date) + 1)::timestamp at time zone %(tz)s",
    "restaurant_daily_kpis": "(max(business_date) + 1)::timestamp at time zone %(tz)s",
    "operator_daily": "(max(business_date) + 1)::timestamp at time zone %(tz)s",
}

MORNING_KIND_PATTERN = "morning%"
_LABEL_SAFE = re.compile(r"^[a-z0-9_]{1,40}$")


def existing(conn: psycopg.Connection, *relations: str) -> set[str]:
    """The subset of `schema.table` names that exist (and this role can see)."""
    rows = conn.execute(
        "select r from unnest(%s::text[]) as r where to_regclass(r) is not null", (list(relations),)
    ).fetchall()
    return {row[0] for row in rows}


@dataclass(frozen=True)
class Landed:
    rows: int
    last_landed_at: float | None  # unix seconds


def landed(conn: psycopg.Connection, slow: set[str] | None = None) -> dict[str, Landed]:
    """Rows landed and newest landed_at of every raw landing table that exists, by source label.

    The landing tables are tallied incrementally (monitoring.tally; `slow` as there); a table
    too large to count within the statement timeout is left out until its tally has caught up.
    raw.pbx_extensions is a small dimension the PBX landing upserts (moving landed_at), so it is
    counted directly.
    """
    present = existing(conn, *(table for table, _ in RAW_SOURCES.values()))
    result: dict[str, Landed] = {}
    for source, (table, _) in RAW_SOURCES.items():
        if table not in present:
            continue
        if source in LANDED_TALLIES:
            found = tally(conn, LANDED_TALLIES[source], [], {}, lambda _row, s=source: (s, ""), slow)
            if found is not None:
                result[source] = Landed(found.counts.get((source, ""), 0), found.newest_at)
            continue
        count, last = conn.execute(
            f"select count(*), extract(epoch from max(landed_at))::float8 from {table}"  # noqa: S608 - fixed names
        ).fetchone()
        result[source] = Landed(int(count), last)
    return result


@dataclass(frozen=True)
class StoredOffset:
    topic: str
    partition: int
    next_offset: int
    updated_at: float | None


def stored_offsets(conn: psycopg.Connection, consumer: str, topics: list[str]) -> list[StoredOffset]:
    """The landing's committed positions in raw.kafka_offsets for our consumer and topics."""
    if not existing(conn, "raw.kafka_offsets"):
        return []
    rows = conn.execute(
        "select topic, partition, next_offset, extract(epoch from updated_at)::float8"
        " from raw.kafka_offsets where consumer = %s and topic = any(%s)",
        (consumer, topics),
    ).fetchall()
    return [StoredOffset(t, int(p), int(o), u) for t, p, o, u in rows]


def _reason_case() -> tuple[str, dict[str, str]]:
    whens = " ".join(f"when reason ~* %(p{i})s then %(l{i})s" for i in range(len(REJECT_REASONS)))
    params = {f"{kind}{i}": value for i, (label, pattern) in enumerate(REJECT_REASONS)
              for kind, value in (("p", pattern), ("l", label))}
    return f"case {whens} else %(other)s end", {**params, "other": OTHER_REASON}


def normalise_source(source: str) -> str:
    """`kafka:orders` stays, `pbx_cdr:file` becomes `pbx_cdr`; anything unknown is `other`."""
    parts = (source or "").split(":")
    candidate = ":".join(parts[:2]) if parts[0] == "kafka" else parts[0]
    return candidate if candidate in RAW_SOURCES else OTHER_SOURCE


def rejected(conn: psycopg.Connection, slow: set[str] | None = None) -> dict[tuple[str, str], int] | None:
    """raw.rejected_records counted by (normalised source, normalised reason), or None while a
    table too large to count within the statement timeout is still being tallied in steps.

    Reasons are free text naming the bad value; grouping them in SQL into a handful of labels
    keeps the series count bounded however many distinct messages the validators write. The
    regular expressions run only over rows not tallied yet (monitoring.tally).
    """
    if not existing(conn, "raw.rejected_records"):
        return {}
    case_sql, params = _reason_case()
    found = tally(conn, REJECTED_TALLY, ["source", case_sql], params,
                  lambda row: (normalise_source(row[0]), str(row[1])), slow)
    return None if found is None else found.counts


def unindexed(conn: psycopg.Connection) -> list[str]:
    """`table.column` of every existing tallied table without an index leading with that column."""
    tracked = [*LANDED_TALLIES.values(), REJECTED_TALLY]
    present = existing(conn, *(t.table for t in tracked))
    return [f"{t.table}.{t.column}" for t in tracked if t.table in present and not has_index_on(conn, t)]


def mart_latest(conn: psycopg.Connection, business_timezone: str) -> dict[str, float]:
    """The newest instant each existing, non-empty mart covers (unix seconds)."""
    present = existing(conn, *(f"marts.{mart}" for mart in MART_LATEST))
    result: dict[str, float] = {}
    for mart, expression in MART_LATEST.items():
        if f"marts.{mart}" not in present:
            continue
        row = conn.execute(
            f"select extract(epoch from {expression})::float8 from marts.{mart}",  # noqa: S608 - fixed names
            {"tz": business_timezone},
        ).fetchone()
        if row[0] is not None:
            result[mart] = row[0]
    return result


def last_report_generated(conn: psycopg.Connection) -> float | None:
    """When the newest report snapshot was stored (unix seconds), or None."""
    if not existing(conn, "reports.daily_report"):
        return None
    return conn.execute("select extract(epoch from max(generated_at))::float8 from reports.daily_report").fetchone()[0]


@dataclass(frozen=True)
class Deliveries:
    by_kind_outcome: dict[tuple[str, str], int]
    attempts_by_kind: dict[str, int]
    morning_delivered: bool
    last_morning_sent_at: float | None


def _safe_label(value: str) -> str:
    return value if _LABEL_SAFE.match(value or "") else OTHER_SOURCE


def deliveries(conn: psycopg.Connection, last_business_date: date) -> Deliveries:
    """Telegram deliveries by kind and outcome, and whether yesterday's morning summary went out.

    "Delivered" means at least one chat got it and none is left failed: a chat that failed and
    was retried successfully counts as sent, because the row holds the latest outcome.
    """
    if not existing(conn, "reports.deliveries"):
        return Deliveries({}, {}, False, None)
    by_kind_outcome: dict[tuple[str, str], int] = {}
    attempts: dict[str, int] = {}
    for kind, status, count, tries in conn.execute(
        "select kind, status, count(*), coalesce(sum(attempts), 0) from reports.deliveries group by 1, 2"
    ).fetchall():
        key = (_safe_label(kind), _safe_label(status))
        by_kind_outcome[key] = by_kind_outcome.get(key, 0) + int(count)
        attempts[key[0]] = attempts.get(key[0], 0) + int(tries)
    sent, failed, last_sent = conn.execute(
        "select count(*) filter (where status = 'sent' and business_date = %(d)s),"
        " count(*) filter (where status <> 'sent' and business_date = %(d)s),"
        " extract(epoch from max(updated_at) filter (where status = 'sent'))::float8"
        " from reports.deliveries where kind like %(kind)s",
        {"d": last_business_date, "kind": MORNING_KIND_PATTERN},
    ).fetchone()
    return Deliveries(by_kind_outcome, attempts, sent > 0 and failed == 0, last_sent)


def chain_kpis(conn: psycopg.Connection, columns: list[str], through: date) -> tuple[date, dict[str, float]] | None:
    """The row of marts.daily_kpis (the chain) for the newest business day up to `through`
    (yesterday: the day still running is incomplete)."""
    if not existing(conn, "marts.daily_kpis"):
        return None
    select_list = ", ".join(f"{column}::float8" for column in columns)
    row = conn.execute(
        f"select business_date, {select_list} from marts.daily_kpis"  # noqa: S608 - columns from the catalog
        " where business_date <= %s order by business_date desc limit 1",
        (through,),
    ).fetchone()
    if row is None:
        return None
    values = {column: value for column, value in zip(columns, row[1:], strict=True) if value is not None}
    return row[0], values


def open_callbacks(conn: psycopg.Connection, today: date, now: float) -> tuple[int, float] | None:
    """Today's open callers (marts.missed_call_recovery not in reports.callback_marks) and the seconds
    since the oldest one's last try (0 when none); None before the mart and the marks table exist."""
    if len(existing(conn, "marts.missed_call_recovery", "reports.callback_marks")) < 2:
        return None
    count, oldest = conn.execute(
        "select count(*), min(extract(epoch from r.last_call_at))::float8 from marts.missed_call_recovery as r"
        " where r.business_date = %s and not exists (select 1 from reports.callback_marks as m"
        " where m.business_date = r.business_date and m.caller_phone = r.caller_phone)",
        (today,),
    ).fetchone()
    return int(count), 0.0 if oldest is None else max(now - oldest, 0.0)


def unknown_operators(conn: psycopg.Connection, through: date) -> int | None:
    """Operators of marts.operator_daily on the newest business day up to `through` whom the FreePBX
    directory has never listed (they show as «неизвестный (доб. N)»); None before the marts exist."""
    found = conn.execute(
        "select 1 from information_schema.columns where table_schema = 'marts'"
        " and table_name = 'operator_daily' and column_name = 'is_known_operator'"
    ).fetchone()
    if found is None:
        return None
    row = conn.execute(
        "select count(*) filter (where not is_known_operator) from marts.operator_daily"
        " where business_date = (select max(business_date) from marts.operator_daily where business_date <= %s)",
        (through,),
    ).fetchone()
    return int(row[0])


def data_issues(conn: psycopg.Connection) -> dict[str, int] | None:
    """Records in marts.data_issues by rule; None before the mart exists."""
    if conn.execute("select to_regclass('marts.data_issues')").fetchone()[0] is None:
        return None
    rows = conn.execute("select rule, count(*) from marts.data_issues group by rule").fetchall()
    return {rule: int(count) for rule, count in rows}
