"""Daily report snapshots over small hand-made marts: versions, files, HTML, CSV, languages."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from reports.cards import change_class, kpi_rows
from reports.messages import Messages
from reports.report import ReportError
from reports.schema import ensure_reports_schema
from reports.snapshot import build_daily_report, current_report, load_report
from reports.summary import morning_summary, to_plain
from tests.html_page import parse_page
from tests.mini_marts import CHAIN
from tests.reports_marts import DAY, LAST_WEEK, LAST_WEEK_CHAIN, create_small_marts


@pytest.fixture
def marts_db(fresh_database_url, make_settings):
    settings = make_settings()
    ensure_reports_schema(settings, fresh_database_url)
    create_small_marts(fresh_database_url)
    return fresh_database_url


def test_schema_is_idempotent(fresh_database_url, make_settings):
    settings = make_settings()
    ensure_reports_schema(settings, fresh_database_url)
    ensure_reports_schema(settings, fresh_database_url)
    with psycopg.connect(fresh_database_url) as conn:
        tables = {r[0] for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'reports'")}
    assert {"daily_report", "deliveries", "bot_access_log"} <= tables


def test_report_stores_the_marts_figures_and_last_week(marts_db, make_settings):
    report = build_daily_report(make_settings(), marts_db, DAY)
    assert report.version == 1
    assert report.chain["orders_count"] == CHAIN["orders_count"]
    assert report.chain["revenue_amount"] == pytest.approx(CHAIN["revenue_amount"])
    assert report.previous_chain["orders_count"] == LAST_WEEK_CHAIN["orders_count"]
    assert [r["restaurant_id"] for r in report.figures["restaurants"]] == [2, 1, 3]  # by revenue
    assert report.figures["ratings"] == {"call": {"1": 1, "2": 0, "3": 1, "4": 2, "5": 3},
                                         "order": {"1": 0, "2": 1, "3": 0, "4": 2, "5": 2}}
    assert sorted(report.figures["history"]) == ["2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26"]
    assert report.figures["history"]["2026-10-26"] == report.previous_chain  # the same weekday, 1..4 weeks ago
    with psycopg.connect(marts_db) as conn:
        stored = conn.execute("select figures->'chain'->>'orders_count', lang, data_freshness "
                              "from reports.daily_report").fetchall()
    assert stored[0][0] == "1234" and stored[0][1] == "ru"
    assert stored[0][2]["latest_order_at"].startswith("2026-11-02T20:59")


def test_regenerating_a_day_adds_version_2_and_keeps_version_1(marts_db, make_settings):
    settings = make_settings()
    first = build_daily_report(settings, marts_db, DAY)
    with psycopg.connect(marts_db, autocommit=True) as conn:  # late data arrives
        conn.execute("update marts.daily_kpis set orders_count = 1240 where business_date = %s",
                     (DAY,))
    second = build_daily_report(settings, marts_db, DAY)
    assert (first.version, second.version) == (1, 2)
    assert load_report(settings, marts_db, DAY, version=1).chain["orders_count"] == 1234
    assert load_report(settings, marts_db, DAY).chain["orders_count"] == 1240
    assert (settings.reports_dir / DAY.isoformat() / "version.txt").read_text().strip() == "2"


def test_html_opens_and_embeds_every_chart(marts_db, make_settings):
    report = build_daily_report(make_settings(), marts_db, DAY)
    page = parse_page(report.html_path)
    assert page.tags[:2] == ["html", "head"]
    files = {img["data-file"] for img in page.images}
    assert files == {"orders_by_hour.png", "calls_by_hour.png", "asa_by_hour.png", "csat.png"}
    for img in page.images:
        png = base64.b64decode(img["src"].removeprefix("data:image/png;base64,"))
        assert png.startswith(b"\x89PNG")
        assert png == (report.html_path.parent / img["data-file"]).read_bytes()
    text = " ".join(page.text)
    assert "Отчёт по сети за 02.11.2026" in text
    assert "<Иван>" in text  # escaped in the markup, shown as is
    assert "1\u202f234" in text  # orders, Russian thousands


def test_csv_files_hold_the_tables_with_raw_values(marts_db, make_settings):
    report = build_daily_report(make_settings(), marts_db, DAY)
    with report.files["csv:kpis"].open(encoding="utf-8") as fh:
        kpis = {row["kpi"]: row for row in csv.DictReader(fh)}
    assert kpis["orders_count"]["value"] == "1234"
    assert kpis["orders_count"]["same_weekday_last_week"] == "1173"
    with report.files["csv:operators"].open(encoding="utf-8") as fh:
        operators = list(csv.DictReader(fh))
    assert [o["operator_name"] for o in operators] == ["O'Brien", "<Иван>", "Анна_Мария*"]
    with report.files["csv:hourly"].open(encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == 24  # every hour of the day, as dbt builds it


def test_english_report_and_summary(marts_db, make_settings):
    report = build_daily_report(make_settings(report_lang="en"), marts_db, DAY)
    assert report.lang == "en"
    html = report.html_path.read_text(encoding="utf-8")
    assert "Chain report for 2026-11-02" in html and 'lang="en"' in html
    text = to_plain(morning_summary(report))
    assert "Orders: 1,234 (+5.2% vs Mon Oct 26)" in text
    assert "Revenue: ₽1,234,568 (+12.2% vs Mon Oct 26)" in text


def test_russian_summary_is_short_and_uses_russian_number_format(marts_db, make_settings):
    report = build_daily_report(make_settings(), marts_db, DAY)
    text = to_plain(morning_summary(report))
    assert text.splitlines()[0] == "Итоги дня 02.11.2026 (пн)"
    assert "Заказы: 1\u202f234 (+5,2\u00a0% к пн 26.10)" in text
    assert "Выручка: 1\u202f234\u202f568\u00a0₽ (+12,2\u00a0% к пн 26.10)" in text
    assert "Средний чек: 1\u202f000,46\u00a0₽" in text
    assert "Повторные клиенты: 600 из 900 клиентов (66,7\u00a0%)" in text
    assert ("Удовлетворённость (CSAT): 3,92 из 5 (−6,7\u00a0% к пн 26.10), 75,0\u00a0% оценок 4–5 (12); "
            "звонки 3,86 (7), заказы 4,00 (5)") in text
    assert "Загрузка операторов: занятость 64,1\u00a0%, 5,1 звонка" in text
    assert "Пропущенные звонки: 45 из 620 (7,3\u00a0%) (+8,8\u00a0% к пн 26.10)" in text
    assert "(ASA): 18\u00a0с (−8,5\u00a0% к пн 26.10)" in text
    assert len(text) < 900 and len(text.splitlines()) <= 12


def test_a_day_without_data_names_the_fix(marts_db, make_settings):
    with pytest.raises(ReportError, match="no chain row for 2026-12-01.*pantao run"):
        build_daily_report(make_settings(), marts_db, dt.date(2026, 12, 1))


def test_missing_marts_are_named(fresh_database_url, make_settings):
    settings = make_settings()
    ensure_reports_schema(settings, fresh_database_url)
    with pytest.raises(ReportError, match="marts.daily_kpis.*not found.*pantao run"):
        build_daily_report(settings, fresh_database_url, DAY)


def test_card_colour_follows_business_meaning_not_the_sign():
    assert change_class("orders_count", 120, 100) == "good"
    assert change_class("orders_count", 80, 100) == "bad"
    assert change_class("missed_call_rate", 0.2, 0.1) == "bad"
    assert change_class("asa_seconds", 12.0, 30.0) == "good"
    assert change_class("calls_offered_count", 700, 600) == "neutral"
    assert change_class("revenue_amount", 5.0, 5.0) == ""


def test_current_report_reuses_an_unchanged_version_and_stores_a_new_one_when_the_marts_change(
        marts_db, make_settings):
    settings = make_settings()
    first = current_report(settings, marts_db, DAY)
    again = current_report(settings, marts_db, DAY)
    assert (first.version, again.version) == (1, 1) and again.html_path.is_file()
    with psycopg.connect(marts_db, autocommit=True) as conn:
        conn.execute("update marts.operator_daily set calls_handled_count = 211 "
                     "where business_date = %s and operator_extension = '101'", (DAY,))
    changed = current_report(settings, marts_db, DAY)
    assert changed.version == 2 and changed.figures["operators"][0]["calls_handled_count"] == 211
    assert (settings.reports_dir / DAY.isoformat() / "version.txt").read_text().strip() == "2"


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", "Orders: 1,234 (+1,234 from 0 vs Mon Oct 26)"),
    ("ru", "Заказы: 1\u202f234 (+1\u202f234 с 0 к пн 26.10)"),
])
def test_a_zero_last_week_shows_the_absolute_change_not_no_data(marts_db, make_settings, lang, expected):
    with psycopg.connect(marts_db, autocommit=True) as conn:
        conn.execute("update marts.daily_kpis set orders_count = 0, missed_call_rate = 0 "
                     "where business_date = %s", (LAST_WEEK,))
    report = build_daily_report(make_settings(report_lang=lang), marts_db, DAY)
    assert expected in to_plain(morning_summary(report))
    cards = {card["name"]: card for card in kpi_rows(report, Messages(lang))}
    assert cards["missed_call_rate"]["change"] == ("+7.3% from 0.0% vs Mon Oct 26" if lang == "en"
                                                 else "+7,3\u00a0% с 0,0\u00a0% к пн 26.10")
    assert cards["missed_call_rate"]["direction"] == "bad"


def test_messages_change_is_relative_absolute_from_zero_and_none_without_a_value():
    msg = Messages("en")
    assert msg.change(110, 100, "orders_count") == "+10.0%"
    assert msg.change(0, 0, "orders_count") == "±0 from 0"
    assert msg.change(1500.0, 0, "revenue_amount") == "+₽1,500 from ₽0"
    assert msg.change(5, None, "orders_count") is None


def test_the_summary_the_bot_and_the_delivery_load_no_plotting_library():
    code = ("import sys, reports.summary, notifications.bot, notifications.delivery; "
            "print(sorted(m for m in ('matplotlib', 'jinja2', 'reports.render') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"
