"""The one list of metrics the exporter serves.

The exporter builds its metric families from this list, `docs/operations.md` documents each
entry, and the tests check both against it, so a metric cannot be served undocumented or
documented without being served. Names are the exposition names without the `_total` suffix
prometheus-client appends to counters. The business gauges (`pantao_kpi_*`) are the KPIs whose
registry entry names a gauge (pantao.kpis, `meta.kpi.gauge` in daily_kpis.yml): their help text
is the KPI's description, so both are written once.
"""

from __future__ import annotations

from dataclasses import dataclass

from pantao.kpis import load_kpis


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: str  # "gauge" | "counter"
    labels: tuple[str, ...]
    help: str

    @property
    def series_name(self) -> str:
        """The name a sample carries in the exposition (counters get `_total`)."""
        return f"{self.name}_total" if self.kind == "counter" else self.name


PIPELINE_METRICS: tuple[MetricSpec, ...] = (
    # exporter health
    MetricSpec("pantao_up", "gauge", (), "1 when PostgreSQL answered this scrape, 0 when it could not be reached."),
    MetricSpec("pantao_scrape_error", "gauge", ("source",),
               "1 when reading this source failed during the scrape (the log says why), else 0."),
    MetricSpec("pantao_scrape_duration_seconds", "gauge", ("source",), "Time spent reading each source in this scrape."),
    # Kafka landing
    MetricSpec("pantao_landing_lag_messages", "gauge", ("stream", "topic", "partition"),
               "Broker high watermark minus the landing's stored next offset (messages not yet landed)."),
    MetricSpec("pantao_landing_high_watermark", "gauge", ("stream", "topic", "partition"),
               "The broker's end offset of the partition."),
    MetricSpec("pantao_landing_committed_offset", "gauge", ("stream", "topic", "partition"),
               "The next offset the landing will read, from raw.kafka_offsets."),
    MetricSpec("pantao_landing_offset_updated_timestamp_seconds", "gauge", ("stream", "topic", "partition"),
               "When the landing last stored an offset for the partition (unix time)."),
    MetricSpec("pantao_records_landed", "counter", ("source",),
               "Rows landed into the raw table of each source since tallying began (duplicates land once)."),
    MetricSpec("pantao_records_rejected", "counter", ("source", "reason"),
               "Rows written to raw.rejected_records since tallying began, by source and normalised reason."),
    # last success per asset and data freshness
    MetricSpec("pantao_last_success_timestamp_seconds", "gauge", ("asset",),
               "When the asset last completed successfully (unix time), read from the data it wrote."),
    MetricSpec("pantao_mart_latest_data_timestamp_seconds", "gauge", ("mart",),
               "The newest point in time a mart covers (unix time)."),
    MetricSpec("pantao_mart_freshness_seconds", "gauge", ("mart",),
               "Seconds from the newest point in time a mart covers to now (0 when it covers now)."),
    # dbt
    MetricSpec("pantao_dbt_last_run_timestamp_seconds", "gauge", (),
               "When the last dbt invocation finished (run_results.json generated_at, unix time)."),
    MetricSpec("pantao_dbt_last_run_success", "gauge", (), "1 when the last dbt invocation had no error or failure."),
    MetricSpec("pantao_dbt_nodes", "gauge", ("resource_type", "status"),
               "Nodes of the last dbt invocation by resource type and status."),
    MetricSpec("pantao_dbt_test_failures", "gauge", (), "dbt tests that failed or errored in the last invocation."),
    # reports and Telegram
    MetricSpec("pantao_telegram_deliveries", "gauge", ("kind", "outcome"),
               "Telegram deliveries (one per business day, chat and kind) by their current outcome."),
    MetricSpec("pantao_telegram_delivery_attempts", "counter", ("kind",), "Telegram send attempts, retries included."),
    MetricSpec("pantao_morning_report_delivered", "gauge", (),
               "1 when the morning summary for the last complete business day reached every chat it was sent to."),
    MetricSpec("pantao_telegram_configured", "gauge", (),
               "1 when TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_IDS are set, so a morning report is expected."),
    MetricSpec("pantao_business_day_elapsed_seconds", "gauge", (),
               "Seconds since midnight in BUSINESS_TIMEZONE, so alert rules can speak business time."),
    # business gauges, chain row of marts.daily_kpis for the last complete business day
    MetricSpec("pantao_kpi_business_date_timestamp_seconds", "gauge", (),
               "Midnight (business time zone) starting the business day the pantao_kpi_* gauges describe."),
    # the operators of the last complete business day the FreePBX directory has never listed
    MetricSpec("pantao_unknown_operators", "gauge", (),
               "Operators active that day whom the FreePBX directory has never listed (operator_daily)."),
    # landed records kept out of the marts because they break a business rule (marts.data_issues)
    MetricSpec("pantao_data_issues", "gauge", ("rule",),
               "Records kept out of the marts now because they break this business rule (marts.data_issues);"
               " 0 for a rule with none."),
    # the callback worklist of the running business day (marts.missed_call_recovery, minus the callers
    # marked «перезвонили» in the bot)
    MetricSpec("pantao_callbacks_open", "gauge", (),
               "Callers of today nobody reached back after unanswered calls and not marked called back."),
    MetricSpec("pantao_callbacks_oldest_open_age_seconds", "gauge", (),
               "Seconds since the last try of the longest-waiting open caller of today; 0 when none is open."),
)

# the `rule` label values of pantao_data_issues: the rules of dbt_project/macros/data_rules.sql
DATA_ISSUE_RULES: tuple[str, ...] = (
    "order_negative_total", "order_negative_discount", "order_total_mismatch", "order_unknown_restaurant",
    "rating_score_out_of_range", "rating_subject_missing",
)

# The mart the pantao_kpi_* gauges are read from (its row for the last complete business day).
KPI_GAUGE_MART = "daily_kpis"


def kpi_gauges() -> dict[str, str]:
    """daily_kpis column -> gauge name, for the pantao_kpi_* family, from the KPI registry."""
    gauges = {kpi.name: kpi.gauge for kpi in load_kpis().values() if kpi.gauge}
    elsewhere = [name for name in gauges if load_kpis()[name].model != KPI_GAUGE_MART]
    if elsewhere:
        raise ValueError(f"KPI registry: {', '.join(elsewhere)} name a Prometheus gauge but are not columns of "
                         f"{KPI_GAUGE_MART}, the only mart the exporter reads; move meta.kpi.gauge or drop it")
    return gauges


def metrics() -> tuple[MetricSpec, ...]:
    """Every metric the exporter serves: the pipeline's, then one gauge per exported KPI."""
    kpis = load_kpis()
    return PIPELINE_METRICS + tuple(
        MetricSpec(gauge, "gauge", (), f"{kpis[column].description} ({column}, last complete business day)")
        for column, gauge in kpi_gauges().items()
    )


def by_name() -> dict[str, MetricSpec]:
    return {spec.name: spec for spec in metrics()}


# the `source` label values of pantao_scrape_error / pantao_scrape_duration_seconds
SCRAPE_SOURCES: tuple[str, ...] = (
    "postgres", "kafka", "landing", "rejected", "freshness", "dbt", "reports", "deliveries", "kpis",
)

# the bounded set of `reason` label values of pantao_records_rejected, first match wins.
# Patterns are PostgreSQL case-insensitive regular expressions over raw.rejected_records.reason.
REJECT_REASONS: tuple[tuple[str, str], ...] = (
    ("schema_version", r"schema_version"),
    ("encoding", r"utf-?8|u0000|decod|encod"),
    ("invalid_json", r"json"),
    ("missing_field", r"missing|required|empty|must not be null"),
    ("parse_error", r"field\(s\)|malformed|pars|column count|format"),
    ("bad_timestamp", r"timestamp|datetime|utc offset|epoch"),
    ("wrong_type", r"must be an? (string|int|number|bool|object|array|uuid)"),
    ("invalid_value", r"must be|not a |one of|does not match|unknown|invalid|negative|expected"),
)
OTHER_REASON = "other"

# --- the live queue board ------------------------------------------------------------------
# Served by `pantao ingest pbx --follow` on its own port (monitoring/live.py; --metrics-port, 9109),
# not by `pantao metrics`: the state lives in that process, built from the queue_log events as
# they arrive. Documented in docs/operations.md (Live queue board).
LIVE_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("pantao_live_calls_waiting", "gauge", ("queue",),
               "Callers in the queue now: ENTERQUEUE seen, no CONNECT or exit from that queue yet."),
    MetricSpec("pantao_live_longest_wait_seconds", "gauge", ("queue",),
               "How long the caller waiting longest in the queue has waited so far; 0 when nobody waits."),
    MetricSpec("pantao_live_operators", "gauge", ("state",),
               "Operators now: logged_in, and of them on_call, paused (in every queue they are in), available."),
    MetricSpec("pantao_live_calls_last_15m", "gauge", ("queue", "outcome"),
               "Calls answered (CONNECT) or that left the queue unanswered (abandoned, timeout, exit_key,"
               " exit_empty) in the last 15 minutes."),
    MetricSpec("pantao_live_last_event_age_seconds", "gauge", (),
               "Seconds from the newest queue_log event on the board (its PBX time) to now."),
    MetricSpec("pantao_live_last_poll_timestamp_seconds", "gauge", (),
               "When the follow loop last read its source successfully (unix time)."),
    MetricSpec("pantao_live_expired", "counter", ("kind",),
               "Waiting calls (after 4 h) and calls in progress (after 12 h) dropped from the board because"
               " their end never appeared in the queue_log."),
)
