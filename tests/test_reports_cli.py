"""`pantao report build|show|send` through the real click entry point, without Telegram."""

from __future__ import annotations

import psycopg
import pytest
from click.testing import CliRunner

from app.cli import cli
from reports.schema import ensure_reports_schema
from tests.reports_marts import create_small_marts


@pytest.fixture
def env(fresh_database_url, make_settings, tmp_path, monkeypatch):
    ensure_reports_schema(make_settings(), fresh_database_url)
    create_small_marts(fresh_database_url)
    for var in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_IDS", "REPORT_LANG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("PANTAO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no developer .env
    return fresh_database_url


def test_build_then_show_prints_the_summary(env, tmp_path):
    runner = CliRunner()
    built = runner.invoke(cli, ["report", "build", "--date", "2026-11-02"])
    assert built.exit_code == 0, built.output
    assert "version 1" in built.output
    assert (tmp_path / "data" / "reports" / "2026-11-02" / "report.html").is_file()
    shown = runner.invoke(cli, ["report", "show", "--date", "2026-11-02"])
    assert shown.exit_code == 0, shown.output
    assert "Заказы: 1\u202f234" in shown.output and "<b>" not in shown.output
    with psycopg.connect(env) as conn:  # show reuses the stored version, it does not add one
        assert conn.execute("select count(*) from reports.daily_report").fetchone()[0] == 1


def test_send_without_a_token_prints_the_summary_and_says_why(env):
    result = CliRunner().invoke(cli, ["report", "send", "--date", "2026-11-02"])
    assert result.exit_code == 0, result.output
    assert "Итоги дня 02.11.2026" in result.output
    assert "Telegram is not configured (TELEGRAM_BOT_TOKEN)" in result.output


def test_a_day_without_data_fails_with_the_fix(env):
    result = CliRunner().invoke(cli, ["report", "build", "--date", "2026-12-01"])
    assert result.exit_code == 1
    assert "no chain row for 2026-12-01" in result.output


def test_english_with_report_lang(env, monkeypatch):
    monkeypatch.setenv("REPORT_LANG", "en")
    result = CliRunner().invoke(cli, ["report", "show", "--date", "2026-11-02"])
    assert "Daily summary 2026-11-02 (Mon)" in result.output and "Orders: 1,234" in result.output


def test_bot_without_a_token_explains_what_to_set(env):
    result = CliRunner().invoke(cli, ["bot"])
    assert result.exit_code == 1
    assert "TELEGRAM_BOT_TOKEN is not set" in result.output
