"""Running totals of the raw tables, kept by the exporter in `ops` so a scrape reads only new rows.

`count(*)` over every raw table on every scrape grows with the tables and ends in the
statement timeout, after which the landed and rejected counters vanish and the
rejected-spike alert goes blind. Instead each tracked table has an ordering column that only
grows for new rows (`raw.rejected_records.id`, `landed_at` of the landing tables) and two
pieces of state in `ops`:

- a **settled** part: per label, the rows up to a watermark, added once and never recounted
  (`ops.metrics_tally`), and the watermark itself (`ops.metrics_tally_state.settled_through`);
- a **live tail**: the rows above the watermark, counted afresh on every scrape.

The exported value is settled + tail, i.e. every committed row, as `count(*)` was — but the
tail only spans a few scrape intervals, so with an index on the ordering column a scrape reads
a few thousand index entries instead of the whole table.

Why not just "remember the max id counted": ids and `landed_at` (the landing transaction's
start time) are handed out before the transaction commits, so a batch still in flight can
commit rows *below* a watermark taken from the rows already visible, and they would never be
counted. The watermark therefore only moves to a candidate once every transaction that could
still write below it has ended, judged by PostgreSQL's own snapshots: a candidate (the max id,
or `now()`) is recorded at one scrape, the snapshot's `xmax` at the next, and the candidate
settles when a later snapshot's `xmin` has passed that `xmax`. The landings write as soon as
their transaction starts (COPY, or COPY into a temp table), so every transaction that could
hold a value below the candidate owns a transaction id by then.

Rows deleted after they were counted stay counted: the counters mean "landed since tallying
began", which is what `rate()` and `increase()` need, and they never drop.

More than `TAIL_LIMIT` rows above the watermark (a first start on a large table, or an exporter
that was down a long time) are counted whole in one query when that fits in the statement
timeout, so the first scrape (`pantao metrics --once`) is complete. When it does not fit, that
table is settled one `step` (100 000 ids, one day of `landed_at`) per scrape and exports nothing
until fewer than `TAIL_LIMIT` rows are left above the watermark; the log says so once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import psycopg

log = logging.getLogger(__name__)

OPS_DDL = """
create schema if not exists ops;
create table if not exists ops.metrics_tally_state (
    relation text primary key,
    settled_through text,
    candidate text,
    candidate_xmax bigint,
    newest_settled_at timestamptz,
    updated_at timestamptz not null default now()
);
comment on table ops.metrics_tally_state is
    'pantao metrics: per raw table, the ordering value up to which rows are tallied in ops.metrics_tally.';
create table if not exists ops.metrics_tally (
    relation text not null,
    source text not null,
    reason text not null default '',
    rows bigint not null,
    primary key (relation, source, reason)
);
comment on table ops.metrics_tally is
    'pantao metrics: rows of each raw table up to its settled_through, by exporter label; never decreases.';
create table if not exists ops.metrics_marks (
    name text primary key,
    at timestamptz not null
);
comment on table ops.metrics_marks is
    'pantao metrics: instants the exporter must remember across restarts (the last successful dbt build).';
"""

# The most rows above the settled watermark counted afresh on every scrape without asking whether
# that fits in the statement timeout. More than that only happens on a first start or after a
# long pause: counted whole in a savepoint when that fits, else settled in steps (see above).
TAIL_LIMIT = 50_000

Labels = tuple[str, str]  # (source, reason); reason is '' for the landed tallies


@dataclass(frozen=True)
class Tracked:
    """A table tallied by an ordering column: `id` (bigint) or `landed_at` (timestamptz)."""

    table: str
    column: str
    step: str  # SQL literal of one catch-up chunk, in the column's units

    @property
    def is_time(self) -> bool:
        return self.column == "landed_at"

    @property
    def sql_type(self) -> str:
        return "timestamptz" if self.is_time else "bigint"


@dataclass(frozen=True)
class Tally:
    counts: dict[Labels, int]
    newest_at: float | None  # newest landed_at (unix seconds) of a landing table, else None


def ensure_ops_tables(conn: psycopg.Connection) -> None:
    """Create the `ops` tally tables (idempotent); needs CREATE on the database the first time."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('pantao.metrics.ensure_ops'))")
        conn.execute(OPS_DDL)


def has_index_on(conn: psycopg.Connection, tracked: Tracked) -> bool:
    """Whether an index leads with the ordering column; without one every scrape scans the table."""
    row = conn.execute(
        "select exists (select 1 from pg_index i join pg_attribute a"
        " on a.attrelid = i.indrelid and a.attnum = i.indkey[0]"
        " where i.indrelid = to_regclass(%s) and a.attname = %s)",
        (tracked.table, tracked.column),
    ).fetchone()
    return bool(row[0])


def tally(
    conn: psycopg.Connection,
    tracked: Tracked,
    label_sql: Sequence[str],
    label_params: Mapping[str, object],
    to_labels: Callable[[tuple], Labels],
    slow: set[str] | None = None,
) -> Tally | None:
    """Settle what is safe, count the tail, and return settled + tail per label.

    `label_sql` are SQL expressions over the table grouped on (with `label_params` for their
    named placeholders); `to_labels` maps one group's values to the exported labels.

    A large tail (a first scrape, or a table that grew a lot between scrapes) is counted whole
    when that fits in the connection's statement_timeout, so the first scrape is complete.
    When it does not, the table goes into `slow` (the caller keeps it across scrapes, so the
    timeout is paid once) and is settled one `step` per scrape: None is returned until it has
    caught up.
    """
    t, col, typ = tracked.table, tracked.column, tracked.sql_type
    with conn.transaction():
        conn.execute("insert into ops.metrics_tally_state (relation) values (%s) on conflict do nothing", (t,))
        settled, candidate, candidate_xmax, newest_settled = conn.execute(
            "select settled_through, candidate, candidate_xmax, extract(epoch from newest_settled_at)::float8"
            " from ops.metrics_tally_state where relation = %s for update",
            (t,),
        ).fetchone()
        current_sql = "now()" if tracked.is_time else f"(select max({col}) from {t})"
        xmin, xmax, current = conn.execute(
            "select pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint,"
            f" ({current_sql})::text from pg_current_snapshot() s"  # noqa: S608 - names from Tracked
        ).fetchone()

        if not tracked.is_time and settled is not None and current is not None and int(current) < int(settled):
            log.warning("metrics: %s restarted its ids below the tallied %s; tallying it again from the start"
                        " (counts so far are kept)", t, settled)
            settled = candidate = candidate_xmax = None

        ready = False
        if candidate is None:
            candidate, candidate_xmax = current, None
        elif candidate_xmax is None:
            candidate_xmax = xmax
        elif xmin >= candidate_xmax:
            ready = True

        upper, reaches_candidate = (candidate, True) if ready else (None, False)
        complete = _tail_is_small(conn, tracked, current, settled)
        counted = None
        slow = slow if slow is not None else set()
        if complete:
            slow.discard(t)
        elif t not in slow:
            try:
                with conn.transaction():  # a savepoint: a statement timeout here leaves the tally usable
                    counted = _count(conn, tracked, label_sql, label_params, settled, upper, whole_tail=True)
                complete = True
            except psycopg.errors.QueryCanceled:
                slow.add(t)
                log.warning("metrics: counting the rows of %s not tallied yet takes longer than the statement"
                            " timeout; it is tallied in steps of %s per scrape from now on, and its series"
                            " return once it has caught up (a larger --statement-timeout-ms counts it at once)",
                            t, tracked.step)
        if counted is None:
            if ready and not complete:  # settle one step only; the tail is not counted on this scrape
                start = "%(settled)s::" + typ if settled is not None else f"(select min({col}) from {t})"
                upper, reaches_candidate = conn.execute(
                    f"select u::text, u = %(candidate)s::{typ}"  # noqa: S608 - names from Tracked
                    f" from (select least(%(candidate)s::{typ}, {start} + {tracked.step}) as u) b",
                    {"settled": settled, "candidate": candidate},
                ).fetchone()
            counted = _count(conn, tracked, label_sql, label_params, settled, upper, whole_tail=complete)

        settled_now: dict[Labels, int] = {}
        tail: dict[Labels, int] = {}
        newest_tail: float | None = None
        width = max(len(label_sql), 1)
        for row in counted:
            labels = to_labels(tuple(row[:width]))
            settle_count, total, newest_settled_group, newest_group = row[width:]
            settled_now[labels] = settled_now.get(labels, 0) + int(settle_count)
            tail[labels] = tail.get(labels, 0) + int(total) - int(settle_count)
            if newest_settled_group is not None:
                newest_settled = max(newest_settled or 0.0, newest_settled_group)
            if newest_group is not None:
                newest_tail = max(newest_tail or 0.0, newest_group)

        if settled_now:
            with conn.cursor() as cur:
                cur.executemany(
                    "insert into ops.metrics_tally (relation, source, reason, rows) values (%s, %s, %s, %s)"
                    " on conflict (relation, source, reason) do update set rows = ops.metrics_tally.rows + excluded.rows",
                    [(t, source, reason, count) for (source, reason), count in settled_now.items() if count],
                )
        if ready:
            settled = upper
            if reaches_candidate:  # caught up with the candidate: start the next cycle from here
                candidate, candidate_xmax = current, None
        conn.execute(
            "update ops.metrics_tally_state set settled_through = %s, candidate = %s, candidate_xmax = %s,"
            " newest_settled_at = to_timestamp(%s), updated_at = now() where relation = %s",
            (settled, candidate, candidate_xmax, newest_settled, t),
        )
        if not complete:
            log.info("metrics: %s is still being tallied in steps (%s per scrape, through %s so far);"
                     " its series return once the rest is within one step", t, tracked.step, settled or "-")
            return None
        counts = {(source, reason): int(count) for source, reason, count in conn.execute(
            "select source, reason, rows from ops.metrics_tally where relation = %s", (t,)).fetchall()}
    for labels, count in tail.items():
        counts[labels] = counts.get(labels, 0) + count
    newest = max((v for v in (newest_settled, newest_tail) if v is not None), default=None)
    return Tally(counts, newest)


def _tail_is_small(conn: psycopg.Connection, tracked: Tracked, current: str | None, after: str | None) -> bool:
    """Whether the rows above `after` are few enough to count on every scrape (at most TAIL_LIMIT).

    A landing table settled within the hour has a small tail by construction (and, without an
    index, a probe would cost a second scan); otherwise the probe stops after TAIL_LIMIT rows.
    """
    t, col, typ = tracked.table, tracked.column, tracked.sql_type
    if tracked.is_time and after is not None and conn.execute(
        "select %(current)s::timestamptz - %(after)s::timestamptz <= interval '1 hour'",
        {"current": current, "after": after},
    ).fetchone()[0]:
        return True
    after_sql = f"{col} > %(after)s::{typ}" if after is not None else "true"
    return conn.execute(
        f"select count(*) <= %(limit)s from (select from {t} where {after_sql}"  # noqa: S608
        " limit %(limit)s + 1) probe",
        {"after": after, "limit": TAIL_LIMIT},
    ).fetchone()[0]


def _count(conn: psycopg.Connection, tracked: Tracked, label_sql: Sequence[str], label_params: Mapping[str, object],
           settled: str | None, upper: str | None, *, whole_tail: bool) -> list[tuple]:
    """Per label group: rows up to `upper` (to settle), rows counted, newest settled and newest counted
    value (time-ordered tables). Counts the whole tail above `settled`, or only up to `upper`."""
    t, col, typ = tracked.table, tracked.column, tracked.sql_type
    groups = list(label_sql) or ["''"]
    lower_sql = f"{col} > %(settled)s::{typ}" if settled is not None else "true"
    settle_filter = f"{col} <= %(upper)s::{typ}" if upper is not None else "false"
    where = lower_sql if whole_tail else f"{lower_sql} and {settle_filter}"
    newest_sql = "null, null"
    if tracked.is_time:
        newest_sql = (f"extract(epoch from max({col}) filter (where {settle_filter}))::float8,"
                      f" extract(epoch from max({col}))::float8")
    return conn.execute(
        f"select {', '.join(groups)}, count(*) filter (where {settle_filter}), count(*), {newest_sql}"  # noqa: S608
        f" from {t} where {where} group by {', '.join(str(i + 1) for i in range(len(groups)))}",
        {**label_params, "settled": settled, "upper": upper},
    ).fetchall()


def remember_mark(conn: psycopg.Connection, name: str, at: float | None) -> float | None:
    """Store `at` (unix seconds) under `name` if it is newer than what is stored; return the newest."""
    with conn.transaction():
        if at is not None:
            conn.execute(
                "insert into ops.metrics_marks (name, at) values (%s, to_timestamp(%s))"
                " on conflict (name) do update set at = greatest(ops.metrics_marks.at, excluded.at)",
                (name, at),
            )
        row = conn.execute("select extract(epoch from at)::float8 from ops.metrics_marks where name = %s",
                           (name,)).fetchone()
    return row[0] if row else None
