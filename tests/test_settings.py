from pathlib import Path

import pytest

from pantao.settings import SettingsError, load_settings


def test_defaults_use_embedded_stack_and_moscow_time():
    s = load_settings(env={}, dotenv_path=None)
    assert s.uses_embedded_postgres and s.uses_embedded_kafka
    assert s.business_timezone == "Europe/Moscow"
    assert s.report_lang == "ru"
    assert s.data_dir == Path(".pantao")
    assert s.topics == {"orders": "orders", "customers": "customers", "feedback": "feedback"}


def test_environment_values_are_parsed():
    s = load_settings(
        env={
            "DATABASE_URL": "postgresql://u:p@db:5432/crm",
            "KAFKA_BOOTSTRAP_SERVERS": "k1:9092,k2:9092",
            "REPORT_LANG": "EN",
            "TELEGRAM_CHAT_IDS": "-100123, 456",
            "SERVICE_LEVEL_SECONDS": "30",
        },
        dotenv_path=None,
    )
    assert s.database_url == "postgresql://u:p@db:5432/crm"
    assert s.kafka_bootstrap_servers == "k1:9092,k2:9092"
    assert s.report_lang == "en"
    assert s.telegram_chat_ids == ("-100123", "456")
    assert s.service_level_seconds == 30
    assert s.dbt_vars["service_level_seconds"] == 30


@pytest.mark.parametrize(
    ("var", "value", "expected_words"),
    [
        ("BUSINESS_TIMEZONE", "Mars/Olympus", "IANA time zone"),
        ("REPORT_LANG", "de", "ru, en"),
        ("DATABASE_URL", "mysql://x/y", "postgresql://"),
        ("KAFKA_BOOTSTRAP_SERVERS", "localhost", "host:port"),
        ("SERVICE_LEVEL_SECONDS", "abc", "whole number"),
        ("SERVICE_LEVEL_SECONDS", "0", "out of range"),
        ("PBX_SOURCE", "ftp", "files, db, api"),
        ("TELEGRAM_BOT_TOKEN", "nocolon", "bot token"),
        ("TELEGRAM_CHAT_IDS", "abc", "chat id"),
        ("TELEGRAM_API_BASE_URL", "ftp://x", "http(s) URL"),
        ("LANDING_MIN_EVENT_TIME", "last year", "not a date or timestamp"),
        ("LANDING_MIN_EVENT_TIME", "2000-01-01T00:00:00", "no UTC offset"),
        ("LANDING_MIN_EVENT_TIME", "2999-01-01", "in the future"),
        ("LANDING_MAX_FUTURE_HOURS", "0", "out of range"),
        ("RESTAURANT_IDS", "0", "restaurant id or range"),
        ("RESTAURANT_IDS", "5-2", "restaurant id or range"),
        ("RESTAURANT_IDS", "Тверская", "restaurant id or range"),
    ],
)
def test_wrong_value_names_the_variable(var, value, expected_words):
    with pytest.raises(SettingsError) as err:
        load_settings(env={var: value}, dotenv_path=None)
    assert var in str(err.value)
    assert expected_words in str(err.value)


def test_pbx_api_mode_requires_its_credentials():
    with pytest.raises(SettingsError, match="FREEPBX_CLIENT_ID, FREEPBX_CLIENT_SECRET"):
        load_settings(env={"PBX_SOURCE": "api", "FREEPBX_API_URL": "http://pbx"}, dotenv_path=None)


def test_pbx_db_mode_requires_url():
    with pytest.raises(SettingsError, match="PBX_DB_URL"):
        load_settings(env={"PBX_SOURCE": "db"}, dotenv_path=None)


def test_topics_must_differ():
    with pytest.raises(SettingsError, match="different topics"):
        load_settings(env={"KAFKA_TOPIC_ORDERS": "x", "KAFKA_TOPIC_FEEDBACK": "x"}, dotenv_path=None)


def test_dotenv_is_read_and_environment_wins(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("REPORT_LANG=en\nBUSINESS_TIMEZONE=Asia/Yekaterinburg\n")
    s = load_settings(env={"REPORT_LANG": "ru"}, dotenv_path=dotenv)
    assert s.report_lang == "ru"
    assert s.business_timezone == "Asia/Yekaterinburg"


def test_secrets_do_not_appear_in_repr():
    s = load_settings(env={"TELEGRAM_BOT_TOKEN": "123:secret-token"}, dotenv_path=None)
    assert "secret-token" not in repr(s)


def test_empty_values_as_in_env_example_mean_unset(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text((Path(__file__).resolve().parent.parent / ".env.example").read_text())
    s = load_settings(env={}, dotenv_path=dotenv)
    assert s.telegram_bot_token is None and s.telegram_ops_chat_id is None
    assert s.uses_embedded_postgres and s.uses_embedded_kafka
    assert s.pbx_source == "files" and s.report_lang == "ru"


def test_every_environment_variable_maps_to_a_settings_field():
    from dataclasses import fields

    from pantao.settings import ENV_VARS, Settings

    assert {name for name, _ in ENV_VARS.values()} <= {f.name for f in fields(Settings)}


def test_the_landing_event_time_window_defaults_and_parses():
    import datetime as dt

    default = load_settings(env={}, dotenv_path=None)
    assert default.landing_min_event_time == dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    assert default.landing_max_future_hours == 48
    s = load_settings(env={"LANDING_MIN_EVENT_TIME": "2020-03-01T00:00:00+03:00", "LANDING_MAX_FUTURE_HOURS": "6"},
                      dotenv_path=None)
    assert s.landing_min_event_time == dt.datetime(2020, 2, 29, 21, tzinfo=dt.UTC)
    assert s.landing_max_future_hours == 6
    assert load_settings(env={"LANDING_MIN_EVENT_TIME": "2010-05-01"}, dotenv_path=None).landing_min_event_time == \
        dt.datetime(2010, 5, 1, tzinfo=dt.UTC)


def test_role_limits_default_for_every_group_role_and_override_only_the_roles_named():
    from pantao.domain import GROUP_ROLES

    s = load_settings(env={"ROLE_STATEMENT_TIMEOUT_SECONDS": "crm_operator=20, crm_admin=0",
                           "ROLE_CONNECTION_LIMIT": "crm_analyst=-1"}, dotenv_path=None)
    timeouts, limits = dict(s.role_statement_timeouts), dict(s.role_connection_limits)
    assert set(timeouts) == set(limits) == set(GROUP_ROLES)
    assert timeouts["crm_operator"] == 20 and timeouts["crm_admin"] == 0 and timeouts["crm_analyst"] == 900
    assert limits["crm_analyst"] == -1 and limits["crm_operator"] == 5


@pytest.mark.parametrize(("value", "words"), [
    ("crm_operator", "ROLE=NUMBER"), ("crm_root=5", "ROLE=NUMBER"), ("crm_operator=-5", "out of range"),
    ("crm_operator=soon", "whole number"),
])
def test_a_wrong_role_limit_names_the_variable_and_the_role(value, words):
    with pytest.raises(SettingsError, match="ROLE_CONNECTION_LIMIT") as err:
        load_settings(env={"ROLE_CONNECTION_LIMIT": value}, dotenv_path=None)
    assert words in str(err.value)


def test_restaurant_ids_take_ranges_and_lists_and_reach_dbt():
    s = load_settings(env={"RESTAURANT_IDS": "1-3, 7,2"}, dotenv_path=None)
    assert s.restaurant_ids == (1, 2, 3, 7)
    assert s.dbt_vars["known_restaurant_ids"] == [1, 2, 3, 7]
    assert load_settings(env={}, dotenv_path=None).dbt_vars["known_restaurant_ids"] == []


def test_the_service_level_target_is_a_share_between_0_and_1():
    assert load_settings(env={}, dotenv_path=None).service_level_target == 0.8
    assert load_settings(env={"SERVICE_LEVEL_TARGET": "0.9"}, dotenv_path=None).service_level_target == 0.9
    for raw in ("80", "0", "1", "eighty"):
        with pytest.raises(SettingsError, match="SERVICE_LEVEL_TARGET"):
            load_settings(env={"SERVICE_LEVEL_TARGET": raw}, dotenv_path=None)
