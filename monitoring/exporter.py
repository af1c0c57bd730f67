"""The Prometheus collector: on each scrape, read PostgreSQL and the broker and yield metrics.

A custom collector (rather than counters incremented in the pipeline) because the pipeline runs
in several processes — the landing service, Dagster runs, the bot — and the database already
holds the truth of what they did. Reading it on each scrape keeps one source of truth and
makes a restarted exporter report the same numbers. The raw tables are too big to count on
every scrape, so their counters come from running totals the exporter keeps in `ops`
(monitoring.tally), as does the last successful dbt build.

Each source is read on its own: a failing one is exported as `pantao_scrape_error{source=...} 1`
and logged, the others still report. Missing schemas are not errors (a fresh install exposes
`pantao_up 1` and no data series).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg
from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from ingestion.kafka import LandingError, PartitionLag, stream_lag
from monitoring import readers
from monitoring.catalog import DATA_ISSUE_RULES, SCRAPE_SOURCES, kpi_gauges, metrics
from monitoring.families import Families as _Families
from monitoring.tally import ensure_ops_tables, remember_mark
from pantao.db import connect
from pantao.dbt_results import DbtResultsError, RunResults, last_run, last_successful_build
from pantao.dbt_runner import DEFAULT_TARGET_DIR
from pantao.domain import business_yesterday
from pantao.settings import Settings

log = logging.getLogger(__name__)


class BrokerUnavailable(RuntimeError):
    """The broker did not answer within the scrape's Kafka budget."""


EXPECTED_ERRORS = (psycopg.Error, BrokerUnavailable, LandingError, DbtResultsError, OSError)


class PantaoCollector(Collector):
    def __init__(
        self,
        settings: Settings,
        database_url: str,
        bootstrap: str | None,
        *,
        clock: Callable[[], float] = time.time,
        statement_timeout_ms: int = 5000,
        kafka_timeout_seconds: float = 8.0,
        dbt_target_dir: Path | None = None,
    ):
        self.settings = settings
        self.database_url = database_url
        self.clock = clock
        self.statement_timeout_ms = statement_timeout_ms
        self.dbt_target_dir = dbt_target_dir or DEFAULT_TARGET_DIR
        self.bootstrap = bootstrap
        self.kafka_timeout_seconds = kafka_timeout_seconds
        # stream_lag has its own retries and per-call timeouts; running it in a worker bounds the
        # whole question by kafka_timeout_seconds, and at most one call is ever in flight.
        self._kafka_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pantao-metrics-kafka")
        self._kafka_call: Future | None = None
        self._lock = threading.Lock()
        self._dbt_runs = RunResults(self.dbt_target_dir)
        self._ops_ready = False
        self._warned_unindexed: set[str] = set()
        self._slow_tallies: set[str] = set()  # tables whose untallied rows did not count within the timeout

    def describe(self) -> list[Metric]:
        # Registering must not touch the database; prometheus-client accepts an empty description.
        return []

    def collect(self) -> Iterator[Metric]:
        # Scrapes are serialised: the HTTP server is threaded and the broker client is shared.
        with self._lock:
            families = self._scrape()
        yield from families

    def close(self) -> None:
        self._kafka_worker.shutdown(wait=False, cancel_futures=True)

    # ---------------------------------------------------------------------------------------

    def _scrape(self) -> _Families:
        out = _Families(metrics())
        errors = dict.fromkeys(SCRAPE_SOURCES, 0)
        durations: dict[str, float] = {}
        now = self.clock()
        local_now = datetime.fromtimestamp(now, self.settings.tz)
        yesterday = business_yesterday(self.settings.tz, local_now)
        midnight = datetime.combine(local_now.date(), datetime.min.time(), self.settings.tz)
        out.add("pantao_business_day_elapsed_seconds", (local_now - midnight).total_seconds())
        configured = bool(self.settings.telegram_bot_token and self.settings.telegram_chat_ids)
        out.add("pantao_telegram_configured", 1 if configured else 0)

        def run(source: str, step: Callable[[], None]) -> None:
            started = time.perf_counter()
            try:
                step()
            except EXPECTED_ERRORS as exc:
                errors[source] = 1
                log.warning("metrics: reading %s failed: %s", source, exc)
            finally:
                durations[source] = durations.get(source, 0.0) + time.perf_counter() - started

        conn: psycopg.Connection | None = None

        def open_db() -> None:
            nonlocal conn
            conn = connect(
                self.database_url, autocommit=True, connect_timeout=5, application_name="pantao-metrics",
                options=f"-c statement_timeout={self.statement_timeout_ms}",
            )

        run("postgres", open_db)
        out.add("pantao_up", 1 if conn is not None else 0)
        offsets_ready: list[bool] = []
        try:
            if conn is not None:
                db = conn
                run("landing", lambda: self._landing(db, out, offsets_ready))
                run("rejected", lambda: self._rejected(db, out))
                run("freshness", lambda: self._freshness(db, out, now))
                run("reports", lambda: self._reports(db, out))
                run("deliveries", lambda: self._deliveries(db, out, yesterday))
                run("kpis", lambda: self._kpis(db, out, yesterday))
                run("dbt", lambda: self._dbt(out, db))
            else:
                run("dbt", lambda: self._dbt(out, None))
        finally:
            if conn is not None:
                conn.close()
        if offsets_ready and offsets_ready[0]:  # before `pantao prepare` there is nothing to lag behind
            run("kafka", lambda: self._lag(out))
        for source in SCRAPE_SOURCES:
            out.add("pantao_scrape_error", errors[source], source)
            out.add("pantao_scrape_duration_seconds", durations.get(source, 0.0), source)
        return out

    def _ensure_ops(self, conn: psycopg.Connection) -> None:
        """The tally tables, created once per exporter; warns once per table that has no index to use."""
        if not self._ops_ready:
            ensure_ops_tables(conn)
            self._ops_ready = True
        for column in readers.unindexed(conn):
            if column not in self._warned_unindexed:
                self._warned_unindexed.add(column)
                log.warning("metrics: no index leads with %s, so every scrape scans that table to count its"
                            " new rows; see docs/operations.md (Landing) for the index to add", column)

    def _landing(self, conn: psycopg.Connection, out: _Families, offsets_ready: list[bool]) -> None:
        """Stored offsets first (cheap, and they tell whether lag can be asked), then the row counts."""
        offsets_ready.append(len(readers.existing(conn, "raw.kafka_offsets", "raw.rejected_records")) == 2)
        stream_of = {topic: stream for stream, topic in self.settings.topics.items()}
        for offset in readers.stored_offsets(conn, self.settings.kafka_consumer_name, list(stream_of)):
            labels = (stream_of[offset.topic], offset.topic, offset.partition)
            out.add("pantao_landing_committed_offset", offset.next_offset, *labels)
            if offset.updated_at is not None:
                out.add("pantao_landing_offset_updated_timestamp_seconds", offset.updated_at, *labels)
        if not readers.existing(conn, *(table for table, _ in readers.RAW_SOURCES.values())):
            return
        self._ensure_ops(conn)
        for source, landed in readers.landed(conn, self._slow_tallies).items():
            out.add("pantao_records_landed", landed.rows, source)
            if landed.last_landed_at is not None:
                out.add("pantao_last_success_timestamp_seconds", landed.last_landed_at, readers.RAW_SOURCES[source][1])

    def _lag(self, out: _Families) -> None:
        """Lag per partition from the landing's own `stream_lag`, so both agree on what "end" means."""
        if not self.bootstrap:
            return
        if self._kafka_call is not None and not self._kafka_call.done():
            raise BrokerUnavailable(f"the previous end-offset query to {self.bootstrap} is still running;"
                                    " is the broker up? `pantao stack status`")
        self._kafka_call = self._kafka_worker.submit(stream_lag, self.settings, self.database_url, self.bootstrap)
        try:
            lags: list[PartitionLag] = self._kafka_call.result(timeout=self.kafka_timeout_seconds)
        except FutureTimeout:
            raise BrokerUnavailable(f"broker {self.bootstrap} did not return end offsets within"
                                    f" {self.kafka_timeout_seconds:.0f} s; is it running? `pantao stack status`") from None
        for lag in lags:
            labels = (lag.stream, lag.topic, lag.partition)
            out.add("pantao_landing_high_watermark", lag.high_watermark, *labels)
            out.add("pantao_landing_lag_messages", max(lag.high_watermark - (lag.stored_offset or 0), 0), *labels)

    def _rejected(self, conn: psycopg.Connection, out: _Families) -> None:
        if not readers.existing(conn, "raw.rejected_records"):
            return
        self._ensure_ops(conn)
        counts = readers.rejected(conn, self._slow_tallies)
        for (source, reason), count in sorted((counts or {}).items()):
            out.add("pantao_records_rejected", count, source, reason)

    def _freshness(self, conn: psycopg.Connection, out: _Families, now: float) -> None:
        for mart, latest in readers.mart_latest(conn, self.settings.business_timezone).items():
            out.add("pantao_mart_latest_data_timestamp_seconds", latest, mart)
            out.add("pantao_mart_freshness_seconds", max(now - latest, 0.0), mart)

    def _reports(self, conn: psycopg.Connection, out: _Families) -> None:
        generated = readers.last_report_generated(conn)
        if generated is not None:
            out.add("pantao_last_success_timestamp_seconds", generated, "daily_report")

    def _deliveries(self, conn: psycopg.Connection, out: _Families, yesterday: date) -> None:
        found = readers.deliveries(conn, yesterday)
        for (kind, outcome), count in sorted(found.by_kind_outcome.items()):
            out.add("pantao_telegram_deliveries", count, kind, outcome)
        for kind, attempts in sorted(found.attempts_by_kind.items()):
            out.add("pantao_telegram_delivery_attempts", attempts, kind)
        out.add("pantao_morning_report_delivered", 1 if found.morning_delivered else 0)
        if found.last_morning_sent_at is not None:
            out.add("pantao_last_success_timestamp_seconds", found.last_morning_sent_at, "morning_delivery")

    def _kpis(self, conn: psycopg.Connection, out: _Families, yesterday: date) -> None:
        callbacks = readers.open_callbacks(conn, yesterday + timedelta(days=1), self.clock())
        if callbacks is not None:
            out.add("pantao_callbacks_open", callbacks[0])
            out.add("pantao_callbacks_oldest_open_age_seconds", callbacks[1])
        unknown = readers.unknown_operators(conn, through=yesterday)
        if unknown is not None:
            out.add("pantao_unknown_operators", unknown)
        issues = readers.data_issues(conn)
        if issues is not None:  # every rule, so an alert on one clears when its count falls to 0
            for rule in sorted(set(DATA_ISSUE_RULES) | set(issues)):
                out.add("pantao_data_issues", issues.get(rule, 0), rule)
        gauges = kpi_gauges()
        found = readers.chain_kpis(conn, list(gauges), through=yesterday)
        if found is None:
            return
        business_date, values = found
        day_start = datetime.combine(business_date, datetime.min.time(), self.settings.tz)
        out.add("pantao_kpi_business_date_timestamp_seconds", day_start.timestamp())
        for column, value in values.items():
            out.add(gauges[column], value)

    def _dbt(self, out: _Families, conn: psycopg.Connection | None) -> None:
        """The last invocation from run_results.json, and the last successful build, which is also
        kept in ops.metrics_marks: run_results.json is rewritten by every invocation, so after a
        failed rebuild only the database still knows when the marts were last built well."""
        runs = self._dbt_runs.runs()
        last = last_run(runs)
        if last is not None:
            out.add("pantao_dbt_last_run_timestamp_seconds", last.generated_at)
            out.add("pantao_dbt_last_run_success", 1 if last.success else 0)
            out.add("pantao_dbt_test_failures", last.test_failures)
            for (resource_type, status), count in sorted(last.nodes.items()):
                out.add("pantao_dbt_nodes", count, resource_type, status)
        known = last_successful_build(runs)
        try:
            if conn is not None:
                self._ensure_ops(conn)
                known = remember_mark(conn, "dbt_build", known)
        finally:  # a database error still leaves what the files say, and is reported as a dbt error
            if known is not None:
                out.add("pantao_last_success_timestamp_seconds", known, "dbt_build")


def collect(settings: Settings, database_url: str, bootstrap: str | None, **options: object) -> CollectorRegistry:
    """A registry holding the pantao collector, ready for `start_http_server` or `generate_latest`.

    `options` go to PantaoCollector (clock, statement_timeout_ms, kafka_timeout_seconds,
    dbt_target_dir). The registry carries only our metrics, not the Python process ones, so
    what Prometheus stores is what docs/operations.md lists.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PantaoCollector(settings, database_url, bootstrap, **options))  # type: ignore[arg-type]
    return registry
