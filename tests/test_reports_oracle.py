"""The report and the morning summary against the real pipeline: the figures they show equal
marts.daily_kpis and the simulator's truth.json for that day."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from psycopg.rows import dict_row

from reports.messages import Messages
from reports.render import render_report
from reports.report import DailyReport
from reports.snapshot import collect_figures, collect_freshness
from reports.summary import morning_summary, to_plain
from tests.mini_marts import DAILY_KPIS, TABLES, create_mini_marts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def warehouse(built_warehouse):
    """The shared small warehouse built once per session by tests/pipeline.py."""
    return built_warehouse


@pytest.fixture(scope="module")
def report_day(warehouse):
    days = sorted(warehouse.truth["daily"])
    return dt.date.fromisoformat(days[len(days) // 2])


@pytest.fixture(scope="module")
def report(warehouse, report_day, tmp_path_factory):
    """The report as build_daily_report makes it, read-only: the shared warehouse is not written to."""
    with psycopg.connect(warehouse.database_url, row_factory=dict_row) as conn:
        figures = collect_figures(conn, report_day)
        freshness = collect_freshness(conn)
    snapshot = DailyReport(report_day, version=1, figures=figures, data_freshness=freshness,
                           generated_at=dt.datetime.now(dt.UTC), lang="ru")
    files = render_report(snapshot, tmp_path_factory.mktemp("oracle-report"), "Europe/Moscow")
    return DailyReport(report_day, version=1, figures=figures, data_freshness=freshness,
                       generated_at=snapshot.generated_at, lang="ru", files=files)


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a == pytest.approx(b, rel=1e-6, abs=0.006)


def test_report_figures_equal_daily_kpis_and_truth(warehouse, report_day, report):
    truth = warehouse.truth["daily"][report_day.isoformat()]["chain"]
    with psycopg.connect(warehouse.database_url, row_factory=dict_row) as conn:
        mart = conn.execute("select * from marts.daily_kpis where business_date = %s",
                            (report_day,)).fetchone()
    mismatches = []
    for kpi in DAILY_KPIS:
        shown = report.chain.get(kpi)
        mart_value = None if mart[kpi] is None else float(mart[kpi])
        if not (_close(shown, mart_value) and _close(shown, truth.get(kpi))):
            mismatches.append((kpi, shown, mart_value, truth.get(kpi)))
    assert mismatches == []
    assert report.chain["orders_count"] > 0 and report.chain["calls_offered_count"] > 0


def test_operator_table_equals_truth(warehouse, report_day, report):
    truth = warehouse.truth["operator_daily"][report_day.isoformat()]
    shown = {o["operator_extension"]: o for o in report.figures["operators"]}
    assert set(shown) == set(truth)
    for ext, expected in truth.items():
        assert shown[ext]["calls_handled_count"] == expected["calls_handled_count"], ext
        assert _close(shown[ext]["avg_pickup_seconds"], expected["avg_pickup_seconds"]), ext


def test_morning_summary_shows_the_truth(warehouse, report_day, report):
    truth = warehouse.truth["daily"][report_day.isoformat()]["chain"]
    msg = Messages("ru")
    text = to_plain(morning_summary(report))
    assert f"Заказы: {msg.kpi('orders_count', truth['orders_count'])} " in text
    assert f"Выручка: {msg.kpi('revenue_amount', truth['revenue_amount'])}" in text
    assert f"Средний чек: {msg.kpi('average_check_amount', truth['average_check_amount'])}" in text
    assert f"Повторные клиенты: {msg.kpi('repeat_customers_count', truth['repeat_customers_count'])} " in text
    assert (f"Пропущенные звонки: {msg.kpi('calls_unanswered_count', truth['calls_unanswered_count'])} из "
            f"{msg.kpi('calls_offered_count', truth['calls_offered_count'])}") in text
    assert f"(ASA): {msg.kpi('asa_seconds', truth['asa_seconds'])}" in text


def test_hourly_charts_add_up_to_the_day(report):
    hourly = report.figures["hourly"]
    assert sum(h["orders_count"] or 0 for h in hourly) == report.chain["orders_count"]
    assert sum(h["calls_offered_count"] or 0 for h in hourly) == report.chain["calls_offered_count"]
    assert all(report.files[f"png:{n}"].read_bytes().startswith(b"\x89PNG")
               for n in ("orders_by_hour", "calls_by_hour", "asa_by_hour", "csat"))


def _mart_columns(database_url: str) -> dict[str, dict[str, str]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "select c.relname, a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
            "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'marts' and c.relkind in ('r', 'p', 'v') and a.attnum > 0 and not a.attisdropped "
            "order by c.relname, a.attnum").fetchall()
    tables: dict[str, dict[str, str]] = {}
    for table, column, type_name in rows:
        tables.setdefault(table, {})[column] = type_name
    return tables


def test_the_mini_marts_have_the_dbt_marts_columns_and_types(warehouse, fresh_database_url):
    """tests/mini_marts.py stands in for the marts in fast tests: it must not drift from dbt's."""
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        create_mini_marts(conn)
    mini = _mart_columns(fresh_database_url)
    real = _mart_columns(warehouse.database_url)
    assert set(mini) == set(TABLES)
    for table, columns in mini.items():
        assert columns == {c: t for c, t in real[table].items() if c in columns}, table  # the same types
        assert set(columns) == set(real[table]), f"marts.{table}: update TABLES in tests/mini_marts.py"
