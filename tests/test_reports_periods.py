"""A week's and a month's report from the real marts (`long_warehouse`), rendered in both languages:
the HTML page, the Telegram summary, and their sections agreeing with each other and the truth."""

from __future__ import annotations

import base64
import datetime as dt
import re

import psycopg
import pytest
from psycopg.rows import dict_row

from pantao.periods import period_of
from reports.consistency import inconsistencies
from reports.messages import Messages
from reports.period_snapshot import build_period_report
from reports.period_summary import period_detailed_text, period_summary
from reports.snapshot import collect_figures
from reports.summary import to_plain
from tests.html_page import parse_page

pytestmark = pytest.mark.slow
WEEK = period_of("week", dt.date(2026, 10, 26))  # Monday 26.10 to Sunday 01.11, the week before it whole
MONTH = period_of("month", dt.date(2026, 10, 1))  # October: 31 days; September has 3 days of data





@pytest.fixture(scope="module")
def reports(long_warehouse, tmp_path_factory):
    """The week's and the month's report in Russian and in English (new versions in the long warehouse)."""
    built = {}
    for lang in ("ru", "en"):
        settings = long_warehouse.settings.with_overrides(data_dir=tmp_path_factory.mktemp(f"periods-{lang}"),
                                                          report_lang=lang)
        for period in (WEEK, MONTH):
            built[(period.kind, lang)] = build_period_report(settings, long_warehouse.database_url, period)
    return built


@pytest.mark.parametrize("kind", ["week", "month"])
def test_the_period_report_shows_the_period_kpis_and_the_truth(long_warehouse, reports, kind):
    report = reports[(kind, "ru")]
    truth = long_warehouse.truth["periods"][kind][report.period.start.isoformat()]["chain"]
    assert report.chain["orders_count"] == truth["orders_count"]
    assert report.chain["unique_customers_count"] == truth["unique_customers_count"]
    assert report.chain["call_ratings_count"] == truth["call_ratings_count"]
    assert report.figures["days_count"] == report.period.days


@pytest.mark.parametrize("kind", ["week", "month"])
def test_the_period_reports_sections_agree_with_each_other(reports, kind):
    assert inconsistencies(reports[(kind, "ru")].figures) == []


def test_the_day_reports_sections_agree_on_every_day(long_warehouse):
    with psycopg.connect(long_warehouse.database_url, row_factory=dict_row) as conn:
        for day in sorted(long_warehouse.truth["daily"]):
            assert inconsistencies(collect_figures(conn, dt.date.fromisoformat(day))) == [], day


def test_a_section_that_counts_other_rows_is_caught():
    figures = {"chain": {"ratings_count": 329, "call_ratings_count": 141, "order_ratings_count": 188,
                         "call_csat_mean": 4.10, "order_csat_mean": 4.05, "csat_mean": 4.07, "csat_share": 0.8},
               "ratings": {"call": {"1": 6, "2": 13, "3": 11, "4": 42, "5": 69}, "order": {}}}
    problems = inconsistencies(figures)
    assert any("the order breakdown adds up to 0, order_ratings_count is 188" in p for p in problems)
    assert any("the all breakdown adds up to 141, ratings_count is 329" in p for p in problems)


def test_the_weekly_html_has_trends_ranks_and_ratings_in_russian(reports):
    report = reports[("week", "ru")]
    page = parse_page(report.html_path)
    text = " ".join(page.text)
    assert "Отчёт по сети за неделю 26.10.2026 – 01.11.2026" in text
    assert "Заказы по дням, последние 8 нед." in text
    assert re.search(r"[+−±][\d,]+\u00a0% к нед\. 19\.10–25\.10", text)
    assert "Рестораны по выручке: лучшие и худшие" in text and "Операторы по числу звонков" in text
    assert "Звонки Заказы Всего" in text  # the ratings table: calls, orders, both
    assert {img["data-file"] for img in page.images} == {
        "orders_by_day.png", "revenue_by_day.png", "missed_call_rate_by_day.png", "csat_mean_by_day.png", "csat.png"}
    for img in page.images:
        assert base64.b64decode(img["src"].removeprefix("data:image/png;base64,")).startswith(b"\x89PNG")
    assert "(Europe/Moscow)" in text  # every time with its zone
    # 8 weeks back from 01.11 reach 14.09, but the data starts 28.09: 35 days and the header
    assert report.files["csv:trend"].read_text().count("\n") == (WEEK.end - dt.date(2026, 9, 28)).days + 1 + 1


def test_the_monthly_html_in_english_names_the_month_and_the_missing_comparison(reports):
    page = parse_page(reports[("month", "en")].html_path)
    text = " ".join(page.text)
    assert "Chain report for October 2026" in text
    assert "no complete data for the month before" in text  # September has 3 days of data
    assert "Orders by day, last 6 months" in text


def test_the_weekly_telegram_summary_in_both_languages(reports, long_warehouse):
    msg = Messages("ru")
    truth = long_warehouse.truth["periods"]["week"][WEEK.start.isoformat()]["chain"]
    ru = to_plain(period_summary(reports[("week", "ru")]))
    assert ru.splitlines()[0] == "Итоги недели 26.10.2026 – 01.11.2026"
    assert f"Заказы: {msg.kpi('orders_count', truth['orders_count'])} (" in ru and "к нед. 19.10–25.10)" in ru
    assert "Лучшие: Ресторан" in ru and "Больше всего:" in ru
    en = to_plain(period_summary(reports[("week", "en")]))
    assert en.splitlines()[0] == "Weekly summary 2026-10-26 – 2026-11-01"
    assert "vs week Oct 19–Oct 25" in en and "Top: Restaurant" in en


def test_the_monthly_telegram_texts_in_both_languages(reports):
    ru = to_plain(period_summary(reports[("month", "ru")]))
    assert ru.splitlines()[0] == "Итоги месяца: октябрь 2026"
    assert ru.splitlines()[1] == "(нет полных данных за прошлый месяц)" and "Заказы:" in ru
    detailed = to_plain(period_detailed_text(reports[("month", "en")], timezone="Europe/Moscow"))
    assert detailed.splitlines()[0] == "Monthly summary: October 2026"
    assert detailed.splitlines()[1] == "(no complete data for the month before)"
    assert "(Europe/Moscow)" in detailed.splitlines()[2]  # generated at, with its zone
