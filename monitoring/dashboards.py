"""The Grafana dashboards, written as data and rendered to `monitoring/grafana/dashboards/*.json`.

Hand-edited dashboard JSON drifts (ids, grid positions, datasource references); keeping the
panels here as short definitions makes a review read like the dashboard and lets the tests
check every query. Regenerate after a change: `python -m monitoring.dashboards`; a test fails
while the JSON files are out of date.

SQL panels read only the `reporting` views (the analysts' stable interface, phone numbers
masked), never marts. Template variables: `restaurant`, `segment`, `channel` (multi-value,
with All), and a hidden constant `tz` for the business time zone of hour-of-day charts, taken
from BUSINESS_TIMEZONE when the files are generated (the committed files use the default,
Europe/Moscow; a chain elsewhere regenerates them with its own setting).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from monitoring import wallboard
from pantao.settings import Settings, load_settings

DASHBOARD_DIR = Path(__file__).resolve().parent / "grafana" / "dashboards"
DEFAULT_TIMEZONE = Settings.business_timezone  # what the committed JSON is generated with
DEFAULT_LANG = Settings.report_lang  # the wallboard's texts (monitoring/wallboard.py)
PROMETHEUS = {"type": "prometheus", "uid": "pantao-prometheus"}
POSTGRES = {"type": "postgres", "uid": "pantao-postgres"}  # "postgres" is the id every Grafana version accepts

# the filter shared by the order panels; anonymous orders have no segment and count as 'anonymous'
ORDERS_FROM = """
from reporting.orders o
where $__timeFilter(o.created_at)
  and o.restaurant_id in ($restaurant)
  and o.channel in ($channel)
  and coalesce(o.customer_segment, 'anonymous') in ($segment)"""

# ---------------------------------------------------------------------------------------------
# panels: (title, kind, queries, unit, width, height); a query is PromQL (+ legend) or SQL (+ format)


def prom(expr: str, legend: str = "") -> dict[str, Any]:
    return {"datasource": PROMETHEUS, "expr": expr, "legendFormat": legend or "__auto", "range": True}


def sql(query: str, fmt: str = "time_series") -> dict[str, Any]:
    return {"datasource": POSTGRES, "rawSql": query.strip(), "format": fmt, "rawQuery": True, "editorMode": "code"}


PIPELINE_PANELS: list[tuple[str, str, list[dict[str, Any]], str, int, int]] = [
    ("Exporter and database up", "stat", [prom('up{job="pantao"}', "exporter"), prom("pantao_up", "database")],
     "none", 6, 4),
    ("Scrape errors by source", "stat", [prom("sum by (source) (pantao_scrape_error)", "{{source}}")], "none", 6, 4),
    ("Morning report delivered", "stat", [prom("pantao_morning_report_delivered", "delivered")], "none", 6, 4),
    ("dbt test failures", "stat", [prom("pantao_dbt_test_failures", "failures")], "none", 6, 4),
    ("Landing lag by topic", "timeseries",
     [prom("sum by (topic) (pantao_landing_lag_messages)", "{{topic}}")], "short", 12, 8),
    ("Landing lag by partition", "timeseries",
     [prom("pantao_landing_lag_messages", "{{topic}}/{{partition}}")], "short", 12, 8),
    ("Records landed per minute", "timeseries",
     [prom("sum by (source) (rate(pantao_records_landed_total[5m])) * 60", "{{source}}")], "short", 12, 8),
    ("Records rejected per minute", "timeseries",
     [prom("sum by (source, reason) (rate(pantao_records_rejected_total[5m])) * 60", "{{source}} {{reason}}")],
     "short", 12, 8),
    ("Time since last success", "bargauge",
     [prom("time() - pantao_last_success_timestamp_seconds", "{{asset}}")], "s", 12, 8),
    ("Mart freshness", "bargauge", [prom("pantao_mart_freshness_seconds", "{{mart}}")], "s", 12, 8),
    ("dbt nodes by status (last run)", "table",
     [prom("pantao_dbt_nodes", "{{resource_type}} {{status}}")], "none", 12, 8),
    ("Telegram deliveries by outcome", "bargauge",
     [prom("pantao_telegram_deliveries", "{{kind}} {{outcome}}")], "none", 12, 8),
    ("Scrape duration by source", "timeseries",
     [prom("pantao_scrape_duration_seconds", "{{source}}")], "s", 24, 6),
    ("Yesterday: orders and average check", "stat",
     [prom("pantao_kpi_orders", "orders"), prom("pantao_kpi_average_check_rub", "average check, RUB")],
     "none", 12, 5),
    ("Yesterday: contact centre", "stat",
     [prom("pantao_kpi_missed_call_ratio", "missed-call rate"), prom("pantao_kpi_service_level_ratio",
      "service level"), prom("pantao_kpi_asa_seconds", "ASA, s"), prom("pantao_kpi_csat_mean", "CSAT")],
     "none", 12, 5),
]

ORDERS_PANELS: list[tuple[str, str, list[dict[str, Any]], str, int, int]] = [
    ("Orders", "stat", [sql(f"""
select count(*) filter (where o.status <> 'cancelled') as orders
{ORDERS_FROM}""", "table")], "none", 6, 4),
    ("Revenue, RUB", "stat", [sql(f"""
select coalesce(sum(o.total_amount) filter (where o.status <> 'cancelled'), 0) as revenue
{ORDERS_FROM}""", "table")], "currencyRUB", 6, 4),
    ("Average check, RUB", "stat", [sql(f"""
select avg(o.total_amount) filter (where o.status <> 'cancelled') as average_check
{ORDERS_FROM}""", "table")], "currencyRUB", 6, 4),
    ("Cancelled share", "stat", [sql(f"""
select avg(case when o.status = 'cancelled' then 1.0 else 0.0 end) as cancelled_share
{ORDERS_FROM}""", "table")], "percentunit", 6, 4),
    ("Orders and revenue by day", "timeseries", [sql(f"""
select o.business_date::timestamp as "time",
       count(*) filter (where o.status <> 'cancelled') as orders,
       sum(o.total_amount) filter (where o.status <> 'cancelled') as revenue
{ORDERS_FROM}
group by 1
order by 1""")], "short", 12, 8),
    ("Average check by day and restaurant", "timeseries", [sql(f"""
select o.business_date::timestamp as "time",
       'restaurant ' || o.restaurant_id as metric,
       avg(o.total_amount) as average_check
{ORDERS_FROM}
  and o.status <> 'cancelled'
group by 1, 2
order by 1""")], "currencyRUB", 12, 8),
    ("Orders by hour", "timeseries", [sql(f"""
select $__timeGroupAlias(o.created_at, '1h'),
       count(*) filter (where o.status <> 'cancelled') as orders
{ORDERS_FROM}
group by 1
order by 1""")], "short", 12, 8),
    ("Orders by hour of day (business time)", "barchart", [sql(f"""
select lpad(extract(hour from o.created_at at time zone '$tz')::int::text, 2, '0') as hour,
       count(*) filter (where o.status <> 'cancelled') as orders
{ORDERS_FROM}
group by 1
order by 1""", "table")], "short", 12, 8),
    ("Orders by channel", "piechart", [sql(f"""
select o.channel, count(*) filter (where o.status <> 'cancelled') as orders
{ORDERS_FROM}
group by 1
order by 2 desc""", "table")], "short", 8, 8),
    ("Orders by customer segment", "piechart", [sql(f"""
select coalesce(o.customer_segment, 'anonymous') as segment, count(*) filter (where o.status <> 'cancelled') as orders
{ORDERS_FROM}
group by 1
order by 2 desc""", "table")], "short", 8, 8),
    ("By restaurant", "table", [sql(f"""
select o.restaurant_id as restaurant,
       count(*) filter (where o.status <> 'cancelled') as orders,
       sum(o.total_amount) filter (where o.status <> 'cancelled') as revenue,
       avg(o.total_amount) filter (where o.status <> 'cancelled') as average_check,
       count(distinct o.customer_key) filter (where o.status <> 'cancelled') as customers
{ORDERS_FROM}
group by 1
order by 1""", "table")], "none", 8, 8),
    ("New and repeat customers by day (selected restaurants)", "timeseries", [sql("""
select k.business_date::timestamp as "time",
       sum(k.new_customers_count) as new_customers,
       sum(k.repeat_customers_count) as repeat_customers
from reporting.daily_kpis k
where k.scope = 'restaurant'
  and $__timeFilter(k.business_date::timestamp)
  and k.restaurant_id in ($restaurant)
group by 1
order by 1""")], "short", 24, 8),
]

CONTACT_PANELS: list[tuple[str, str, list[dict[str, Any]], str, int, int]] = [
    ("Calls offered", "stat", [sql("""
select sum(k.calls_offered_count) as calls_offered
from reporting.daily_kpis k
where k.scope = 'chain' and $__timeFilter(k.business_date::timestamp)""", "table")], "none", 5, 4),
    ("Missed-call rate", "stat", [sql("""
select sum(k.calls_unanswered_count)::numeric / nullif(sum(k.calls_offered_count), 0) as missed_call_rate
from reporting.daily_kpis k
where k.scope = 'chain' and $__timeFilter(k.business_date::timestamp)""", "table")], "percentunit", 5, 4),
    ("ASA", "stat", [sql("""
select sum(k.asa_seconds * k.calls_answered_count) / nullif(sum(k.calls_answered_count), 0) as asa_seconds
from reporting.daily_kpis k
where k.scope = 'chain' and $__timeFilter(k.business_date::timestamp)""", "table")], "s", 5, 4),
    ("Service level", "stat", [sql("""
select avg(k.service_level) as service_level
from reporting.daily_kpis k
where k.scope = 'chain' and $__timeFilter(k.business_date::timestamp)""", "table")], "percentunit", 5, 4),
    ("CSAT", "stat", [sql("""
select sum(k.csat_mean * k.ratings_count) / nullif(sum(k.ratings_count), 0) as csat_mean
from reporting.daily_kpis k
where k.scope = 'chain' and $__timeFilter(k.business_date::timestamp)""", "table")], "none", 4, 4),
    ("Calls by day", "timeseries", [sql("""
select k.business_date::timestamp as "time",
       k.calls_offered_count as offered,
       k.calls_answered_count as answered,
       k.calls_unanswered_count as unanswered
from reporting.daily_kpis k
where k.scope = 'chain' and $__timeFilter(k.business_date::timestamp)
order by 1""")], "short", 12, 8),
    ("Missed-call rate and service level by day", "timeseries", [sql("""
select k.business_date::timestamp as "time",
       k.missed_call_rate,
       k.service_level
from reporting.daily_kpis k
where k.scope = 'chain' and $__timeFilter(k.business_date::timestamp)
order by 1""")], "percentunit", 12, 8),
    ("Calls and ASA by hour", "timeseries", [sql("""
select h.hour_start_at as "time",
       h.calls_offered_count as offered,
       h.calls_answered_count as answered,
       h.asa_seconds
from reporting.hourly_kpis h
where $__timeFilter(h.hour_start_at)
order by 1""")], "short", 12, 8),
    ("Average calls by hour of day", "barchart", [sql("""
select lpad(h.hour::text, 2, '0') as hour,
       avg(h.calls_offered_count) as offered,
       avg(h.calls_unanswered_count) as unanswered
from reporting.hourly_kpis h
where $__timeFilter(h.hour_start_at)
group by 1
order by 1""", "table")], "short", 12, 8),
    ("Call outcomes by day (caller segment)", "timeseries", [sql("""
select $__timeGroupAlias(c.entered_at, '1d'),
       c.outcome as metric,
       count(*) as calls
from reporting.calls c
where $__timeFilter(c.entered_at)
  and coalesce(c.customer_segment, 'anonymous') in ($segment)
group by 1, 2
order by 1""")], "short", 12, 8),
    ("Phone orders by day (selected restaurants)", "timeseries", [sql("""
select o.business_date::timestamp as "time",
       count(*) filter (where o.status <> 'cancelled') as phone_orders
from reporting.orders o
where $__timeFilter(o.created_at)
  and o.channel = 'phone'
  and o.restaurant_id in ($restaurant)
group by 1
order by 1""")], "short", 12, 8),
    ("Operators", "table", [sql("""
select d.operator_extension as extension,
       max(d.operator_name) as operator,
       sum(d.calls_handled_count) as calls_handled,
       sum(d.talk_seconds_total) / nullif(sum(d.calls_handled_count), 0) as avg_talk_seconds,
       sum(d.missed_rings_count)::numeric
         / nullif(sum(d.missed_rings_count) + sum(d.calls_handled_count), 0) as missed_ring_rate,
       sum(d.talk_seconds_total) / nullif(sum(d.logged_in_seconds) - sum(d.paused_seconds), 0) as occupancy,
       sum(d.rating_mean * d.ratings_count) / nullif(sum(d.ratings_count), 0) as rating_mean,
       sum(d.phone_orders_count) as phone_orders
from reporting.operator_daily d
where $__timeFilter(d.business_date::timestamp)
group by 1
order by 3 desc""", "table")], "none", 24, 9),
]


def _variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "name": name, "label": label, "type": "query", "datasource": POSTGRES, "query": query,
        "definition": query, "multi": True, "includeAll": True, "refresh": 2, "sort": 1,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "hide": 0, "options": [],
    }


def sql_variables(timezone: str) -> list[dict[str, Any]]:
    """The SQL dashboards' variables; `tz` is the business time zone the hour-of-day charts use."""
    return [
        _variable("restaurant", "Restaurant", "select distinct restaurant_id from reporting.orders order by 1"),
        _variable("segment", "Customer segment",
                  "select segment from (select distinct segment from reporting.customers"
                  " where segment is not null union select 'anonymous') s order by 1"),
        _variable("channel", "Channel", "select distinct channel from reporting.orders order by 1"),
        {"name": "tz", "type": "constant", "query": timezone, "hide": 2, "label": "Business time zone",
         "current": {"text": timezone, "value": timezone}},
    ]


def _panel(index: int, spec: tuple, pos: dict[str, int]) -> dict[str, Any]:
    title, kind, queries, unit, width, height = spec
    datasource = queries[0]["datasource"]
    panel: dict[str, Any] = {
        "id": index + 1, "title": title, "type": kind, "datasource": datasource,
        "gridPos": {"x": pos["x"], "y": pos["y"], "w": width, "h": height},
        "targets": [{"refId": chr(ord("A") + i), **query} for i, query in enumerate(queries)],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
    }
    if kind == "stat":
        panel["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                            "colorMode": "value", "graphMode": "none"}
    return panel


def _layout(specs: list[tuple]) -> list[dict[str, Any]]:
    panels, x, y, row_height = [], 0, 0, 0
    for index, spec in enumerate(specs):
        width, height = spec[4], spec[5]
        if x + width > 24:
            x, y, row_height = 0, y + row_height, 0
        panels.append(_panel(index, spec, {"x": x, "y": y}))
        x, row_height = x + width, max(row_height, height)
    return panels


def dashboard(uid: str, title: str, specs: list[tuple], *, variables: list[dict[str, Any]], time_from: str,
              refresh: str, tags: list[str]) -> dict[str, Any]:
    return {
        "uid": uid, "title": title, "tags": ["pantao", *tags], "timezone": "browser", "editable": False,
        "schemaVersion": 39, "version": 1, "refresh": refresh, "graphTooltip": 1,
        "time": {"from": time_from, "to": "now"},
        "templating": {"list": variables},
        "annotations": {"list": []},
        "panels": _layout(specs),
    }


def dashboards(timezone: str = DEFAULT_TIMEZONE, lang: str = DEFAULT_LANG) -> dict[str, dict[str, Any]]:
    """File name -> dashboard model, for a chain in `timezone` (BUSINESS_TIMEZONE), the wallboard in
    `lang` (REPORT_LANG)."""
    variables = sql_variables(timezone)
    live = [(title, kind, [prom(expr, legend) for expr, legend in queries], unit, width, height)
            for title, kind, queries, unit, width, height in wallboard.panels(lang)]
    return {
        "pipeline-health.json": dashboard("pantao-pipeline", "pantao · pipeline health", PIPELINE_PANELS,
                                          variables=[], time_from="now-24h", refresh="1m", tags=["pipeline"]),
        "orders.json": dashboard("pantao-orders", "pantao · orders and customers", ORDERS_PANELS,
                                 variables=variables, time_from="now-30d", refresh="", tags=["kpi"]),
        "contact-centre.json": dashboard("pantao-contact-centre", "pantao · contact centre", CONTACT_PANELS,
                                         variables=variables, time_from="now-30d", refresh="", tags=["kpi"]),
        "wallboard.json": dashboard("pantao-wallboard", wallboard.TITLE[lang], live, variables=[],
                                    time_from="now-1h", refresh="5s", tags=["contact-centre", "live"]),
    }


def render(name: str, model: dict[str, Any]) -> str:
    return json.dumps(model, ensure_ascii=False, indent=2) + "\n"


def write_all(directory: Path = DASHBOARD_DIR, timezone: str = DEFAULT_TIMEZONE,
              lang: str = DEFAULT_LANG) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, model in dashboards(timezone, lang).items():
        path = directory / name
        path.write_text(render(name, model), encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    """Write the dashboard JSON for this install's BUSINESS_TIMEZONE and REPORT_LANG (environment or
    .env), so the hour-of-day charts speak the chain's local time and the wallboard its language."""
    parser = argparse.ArgumentParser(prog="python -m monitoring.dashboards", description=main.__doc__)
    parser.add_argument("--output-dir", type=Path, default=DASHBOARD_DIR,
                        help=f"where to write the dashboards (default: {DASHBOARD_DIR})")
    args = parser.parse_args(argv)
    settings = load_settings()
    timezone, lang = settings.business_timezone, settings.report_lang
    for written in write_all(args.output_dir, timezone, lang):
        print(f"{written} (tz {timezone}, lang {lang})")


if __name__ == "__main__":
    main()
