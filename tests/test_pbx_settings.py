"""The PBX's own settings: its clock and its Master.csv layout, validated at start."""

from __future__ import annotations

import pytest

from pantao.settings import SettingsError, load_settings


def test_the_pbx_clock_defaults_to_business_time_and_can_differ() -> None:
    default = load_settings({"BUSINESS_TIMEZONE": "Europe/Moscow"}, dotenv_path=None)
    assert (str(default.pbx_tz), default.cdr_zone, str(default.queue_log_db_zone)) == (
        "Europe/Moscow", "Europe/Moscow", "Europe/Moscow")
    server = load_settings({"PBX_TIMEZONE": "Europe/Berlin", "PBX_QUEUE_LOG_TIMES": "utc"}, dotenv_path=None)
    assert (str(server.pbx_tz), server.cdr_zone, str(server.queue_log_db_zone)) == ("Europe/Berlin", "Europe/Berlin",
                                                                                     "UTC")
    gmt = load_settings({"PBX_TIMEZONE": "Europe/Berlin", "PBX_CDR_TIMES": "UTC"}, dotenv_path=None)
    assert gmt.cdr_zone == "UTC"  # usegmtime=yes wins over the PBX's zone


@pytest.mark.parametrize(("var", "value", "message"), [
    ("PBX_TIMEZONE", "Berlin", "PBX_TIMEZONE='Berlin' is not an IANA time zone"),
    ("PBX_CDR_TIMES", "gmt", "PBX_CDR_TIMES='gmt' is not one of local, utc"),
    ("PBX_QUEUE_LOG_TIMES", "yes", "PBX_QUEUE_LOG_TIMES='yes' is not one of local, utc"),
    ("PBX_CDR_CSV_LAYOUT", "17", "PBX_CDR_CSV_LAYOUT='17' is not one of auto, 16, 17u, 17f, 18, 19, 20u, 20f, 21"),
])
def test_a_wrong_pbx_setting_names_the_variable_and_the_choices(var: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        load_settings({var: value}, dotenv_path=None)


def test_dbt_gets_the_report_language_for_generated_labels() -> None:
    assert load_settings({"REPORT_LANG": "en"}, dotenv_path=None).dbt_vars["report_lang"] == "en"
