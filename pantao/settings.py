"""One settings object for the whole system, read from the environment (and an optional `.env`).

Every value is validated when the settings are loaded, so a wrong value fails at start with a
message that names the variable and what it expects, instead of deep inside a run.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from dotenv import dotenv_values

from pantao.kafka_config import KafkaSecurity, kafka_security_from
from pantao.settings_values import (
    SettingsError,
    _bootstrap,
    _chat_id,
    _chat_ids,
    _date,
    _group_ids,
    _http_url,
    _instant,
    _mysql_url,
    _positive_float,
    _postgres_url,
    _restaurant_ids,
    _secret,
    _share,
    _sqlalchemy_url,
    _timezone,
    _token,
)

__all__ = ["ENV_VARS", "Settings", "SettingsError", "load_settings"]

PBX_SOURCES = ("files", "db", "api")
# cdr_csv layouts by their column count (docs/contracts.md §2): 16 = Asterisk's defaults,
# u = loguniqueid, f = loguserfield, 19-21 add newcdrcolumns (peeraccount, linkedid, sequence).
CDR_CSV_LAYOUTS = ("auto", "16", "17u", "17f", "18", "19", "20u", "20f", "21")
PBX_CLOCKS = ("local", "utc")
REPORT_LANGS = ("ru", "en")

# Per group role, applied to each of its logins (PostgreSQL keeps both per login role, not per
# group): statement_timeout in seconds (0 = none) and CONNECTION LIMIT (-1 = none). Admins run
# ad-hoc work, analysts long exports; operators only read their own few rows.
DEFAULT_ROLE_STATEMENT_TIMEOUTS: tuple[tuple[str, int], ...] = (
    ("crm_admin", 1800), ("crm_manager", 300), ("crm_analyst", 900), ("crm_operator", 60))
DEFAULT_ROLE_CONNECTION_LIMITS: tuple[tuple[str, int], ...] = (
    ("crm_admin", 10), ("crm_manager", 10), ("crm_analyst", 15), ("crm_operator", 5))


class _UnderDataDir:
    """A read-only path attribute: `data_dir / relative`, unless the setting `given_by` names one."""

    def __init__(self, relative: str, given_by: str | None = None):
        self.relative = relative
        self.given_by = given_by

    def __get__(self, settings: Settings | None, owner: type | None = None) -> Path:
        if settings is None:
            return self  # type: ignore[return-value]  # the class attribute itself
        given = getattr(settings, self.given_by) if self.given_by else None
        return given or settings.data_dir / self.relative


@dataclass(frozen=True)
class Settings:
    # Where things live. Empty DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS mean "use the embedded stack".
    database_url: str | None = None
    kafka_bootstrap_servers: str | None = None
    data_dir: Path = Path(".pantao")

    # Kafka topics
    topic_orders: str = "orders"
    topic_customers: str = "customers"
    topic_feedback: str = "feedback"
    kafka_consumer_name: str = "pantao-landing"

    # Kafka security (pantao/kafka_config.py): KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*
    kafka_security: KafkaSecurity = KafkaSecurity()

    # FreePBX source: files (Master.csv + queue_log), db (asteriskcdrdb on MariaDB) or api (GraphQL)
    pbx_source: str = "files"
    pbx_cdr_csv: Path | None = None
    pbx_queue_log: Path | None = None
    pbx_extensions_file: Path | None = None
    pbx_db_url: str | None = None
    freepbx_api_url: str | None = None
    freepbx_client_id: str | None = None
    freepbx_client_secret: str | None = field(default=None, repr=False)
    # The PBX's clock: its time zone (default BUSINESS_TIMEZONE), whether CDR times are UTC
    # (cdr.conf usegmtime=yes) and whether the database queue_log `time` is UTC
    # (logger.conf queue_log_realtime_use_gmt=yes); the queue_log file is always UTC epochs.
    pbx_timezone: str | None = None
    pbx_cdr_times: str = "local"
    pbx_queue_log_times: str = "local"
    pbx_cdr_csv_layout: str = "auto"

    # Telegram
    telegram_bot_token: str | None = field(default=None, repr=False)
    telegram_chat_ids: tuple[str, ...] = ()
    telegram_ops_chat_id: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    # The groups the bot answers in (the chain summary only); private chats are always answered
    telegram_bot_group_ids: tuple[int, ...] = ()

    # Business rules
    business_timezone: str = "Europe/Moscow"
    report_lang: str = "ru"
    service_level_seconds: int = 20
    service_level_target: float = 0.8  # the staffing advice's target: this share answered within the seconds above
    short_abandon_seconds: int = 5
    callback_window_hours: int = 24
    late_data_lookback_days: int = 3
    # The chain's restaurants (RESTAURANT_IDS); an order for another id is a data issue
    # (order_unknown_restaurant). Empty: every positive id is a known restaurant.
    restaurant_ids: tuple[int, ...] = ()
    # The first business day the reports cover (their Dagster partitions start there); unset: the
    # first day of marts.daily_kpis when `pantao ui` / `pantao run` start Dagster.
    reports_start_date: dt.date | None = None

    # The landing's plausibility window for event times (docs/schemas.md): earlier, or later than
    # this many hours after landing, is quarantined (a Kafka message timestamp is stored as NULL)
    landing_min_event_time: dt.datetime = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    landing_max_future_hours: int = 48
    # Access: limits per group role (see DEFAULT_ROLE_* above; docs/access.md)
    role_statement_timeouts: tuple[tuple[str, int], ...] = DEFAULT_ROLE_STATEMENT_TIMEOUTS
    role_connection_limits: tuple[tuple[str, int], ...] = DEFAULT_ROLE_CONNECTION_LIMITS

    # Operations
    dagster_ui_url: str = "http://127.0.0.1:3000"
    metrics_port: int = 9108
    http_timeout_seconds: float = 10.0

    # BI (Superset): metadata in SQLite under data_dir/superset unless SUPERSET_DATABASE_URL is set;
    # the secret key is generated there on first use unless SUPERSET_SECRET_KEY is set.
    bi_port: int = 8088
    superset_database_url: str | None = field(default=None, repr=False)
    superset_secret_key: str | None = field(default=None, repr=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.business_timezone)

    @property
    def pbx_tz(self) -> ZoneInfo:
        """The zone of the PBX's local times (CDR calldate, the database queue_log `time`)."""
        return ZoneInfo(self.pbx_timezone or self.business_timezone)

    @property
    def cdr_zone(self) -> str:
        """The IANA zone CDR times are written in: UTC with usegmtime, else the PBX's zone."""
        return "UTC" if self.pbx_cdr_times == "utc" else (self.pbx_timezone or self.business_timezone)

    @property
    def queue_log_db_zone(self) -> ZoneInfo:
        """The zone of the database queue_log `time` column."""
        return ZoneInfo("UTC") if self.pbx_queue_log_times == "utc" else self.pbx_tz

    @property
    def uses_embedded_postgres(self) -> bool:
        return not self.database_url

    @property
    def uses_embedded_kafka(self) -> bool:
        return not self.kafka_bootstrap_servers

    @property
    def topics(self) -> dict[str, str]:
        """Logical stream name -> Kafka topic name."""
        return {"orders": self.topic_orders, "customers": self.topic_customers, "feedback": self.topic_feedback}

    # Files and folders below PANTAO_DATA_DIR; the PBX files unless PBX_CDR_CSV etc. name others.
    reports_dir = _UnderDataDir("reports")
    dagster_home = _UnderDataDir("dagster_home")
    superset_home = _UnderDataDir("superset")
    pbx_dir = _UnderDataDir("pbx")
    cdr_csv_path = _UnderDataDir("pbx/Master.csv", given_by="pbx_cdr_csv")
    queue_log_path = _UnderDataDir("pbx/queue_log", given_by="pbx_queue_log")
    extensions_path = _UnderDataDir("pbx/extensions.json", given_by="pbx_extensions_file")

    @property
    def dbt_vars(self) -> dict[str, object]:
        """The business rules dbt models read through `var()`."""
        return {
            "business_timezone": self.business_timezone,
            "service_level_seconds": self.service_level_seconds,
            "short_abandon_seconds": self.short_abandon_seconds,
            "callback_window_hours": self.callback_window_hours,
            "late_data_lookback_days": self.late_data_lookback_days,
            "report_lang": self.report_lang,
            "known_restaurant_ids": list(self.restaurant_ids),
        }

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)


# Environment variable -> (field name, parser). The parser raises SettingsError with the variable's name.
def _text(var: str, raw: str) -> str:
    value = raw.strip()
    if not value:
        raise SettingsError(f"{var} is set but empty; unset it or give a value")
    return value


def _int_range(lo: int, hi: int):
    def parse(var: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise SettingsError(f"{var}={raw!r} is not a whole number; expected an integer from {lo} to {hi}") from None
        if not lo <= value <= hi:
            raise SettingsError(f"{var}={value} is out of range; expected an integer from {lo} to {hi}")
        return value

    return parse


def _choice(options: tuple[str, ...]):
    def parse(var: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise SettingsError(f"{var}={raw!r} is not one of {', '.join(options)}")
        return value

    return parse


def _role_map(defaults: tuple[tuple[str, int], ...], lo: int, hi: int):
    """`crm_analyst=300,crm_operator=30`: the roles given override the defaults, the others keep theirs."""

    def parse(var: str, raw: str) -> tuple[tuple[str, int], ...]:
        values = dict(defaults)
        for part in (p.strip() for p in raw.split(",") if p.strip()):
            role, sep, number = (x.strip() for x in part.partition("="))
            if not sep or role not in values:
                raise SettingsError(f"{var}: {part!r} is not ROLE=NUMBER with ROLE one of {', '.join(values)}")
            values[role] = _int_range(lo, hi)(f"{var} ({role})", number)
        return tuple(values.items())

    return parse


def _path(var: str, raw: str) -> Path:
    return Path(_text(var, raw)).expanduser()


ENV_VARS: dict[str, tuple[str, object]] = {
    "DATABASE_URL": ("database_url", _postgres_url),
    "KAFKA_BOOTSTRAP_SERVERS": ("kafka_bootstrap_servers", _bootstrap),
    "PANTAO_DATA_DIR": ("data_dir", _path),
    "KAFKA_TOPIC_ORDERS": ("topic_orders", _text),
    "KAFKA_TOPIC_CUSTOMERS": ("topic_customers", _text),
    "KAFKA_TOPIC_FEEDBACK": ("topic_feedback", _text),
    "KAFKA_CONSUMER_NAME": ("kafka_consumer_name", _text),
    "PBX_SOURCE": ("pbx_source", _choice(PBX_SOURCES)),
    "PBX_CDR_CSV": ("pbx_cdr_csv", _path),
    "PBX_QUEUE_LOG": ("pbx_queue_log", _path),
    "PBX_EXTENSIONS_FILE": ("pbx_extensions_file", _path),
    "PBX_DB_URL": ("pbx_db_url", _mysql_url),
    "PBX_TIMEZONE": ("pbx_timezone", _timezone),
    "PBX_CDR_TIMES": ("pbx_cdr_times", _choice(PBX_CLOCKS)),
    "PBX_QUEUE_LOG_TIMES": ("pbx_queue_log_times", _choice(PBX_CLOCKS)),
    "PBX_CDR_CSV_LAYOUT": ("pbx_cdr_csv_layout", _choice(CDR_CSV_LAYOUTS)),
    "FREEPBX_API_URL": ("freepbx_api_url", _http_url),
    "FREEPBX_CLIENT_ID": ("freepbx_client_id", _text),
    "FREEPBX_CLIENT_SECRET": ("freepbx_client_secret", _text),
    "TELEGRAM_BOT_TOKEN": ("telegram_bot_token", _token),
    "TELEGRAM_CHAT_IDS": ("telegram_chat_ids", _chat_ids),
    "TELEGRAM_OPS_CHAT_ID": ("telegram_ops_chat_id", _chat_id),
    "TELEGRAM_API_BASE_URL": ("telegram_api_base_url", _http_url),
    "TELEGRAM_BOT_GROUP_IDS": ("telegram_bot_group_ids", _group_ids),
    "BUSINESS_TIMEZONE": ("business_timezone", _timezone),
    "REPORT_LANG": ("report_lang", _choice(REPORT_LANGS)),
    "SERVICE_LEVEL_SECONDS": ("service_level_seconds", _int_range(1, 600)),
    "SERVICE_LEVEL_TARGET": ("service_level_target", _share),
    "SHORT_ABANDON_SECONDS": ("short_abandon_seconds", _int_range(0, 120)),
    "CALLBACK_WINDOW_HOURS": ("callback_window_hours", _int_range(1, 168)),
    "LATE_DATA_LOOKBACK_DAYS": ("late_data_lookback_days", _int_range(0, 60)),
    "RESTAURANT_IDS": ("restaurant_ids", _restaurant_ids),
    "REPORTS_START_DATE": ("reports_start_date", _date),
    "LANDING_MIN_EVENT_TIME": ("landing_min_event_time", _instant),
    "LANDING_MAX_FUTURE_HOURS": ("landing_max_future_hours", _int_range(1, 8760)),
    "ROLE_STATEMENT_TIMEOUT_SECONDS": ("role_statement_timeouts", _role_map(DEFAULT_ROLE_STATEMENT_TIMEOUTS, 0, 86400)),
    "ROLE_CONNECTION_LIMIT": ("role_connection_limits", _role_map(DEFAULT_ROLE_CONNECTION_LIMITS, -1, 10000)),
    "DAGSTER_UI_URL": ("dagster_ui_url", _http_url),
    "METRICS_PORT": ("metrics_port", _int_range(1, 65535)),
    "HTTP_TIMEOUT_SECONDS": ("http_timeout_seconds", _positive_float),
    "BI_PORT": ("bi_port", _int_range(1, 65535)),
    "SUPERSET_DATABASE_URL": ("superset_database_url", _sqlalchemy_url),
    "SUPERSET_SECRET_KEY": ("superset_secret_key", _secret),
}

def load_settings(env: Mapping[str, str] | None = None, dotenv_path: Path | None = Path(".env")) -> Settings:
    """Read settings from `env` (default: the process environment) over an optional `.env` file.

    Real environment variables win over `.env`. Raises SettingsError naming the first bad variable.
    """
    values: dict[str, str] = {}
    if dotenv_path is not None and dotenv_path.is_file():
        values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    values.update(os.environ if env is None else env)

    kwargs: dict[str, object] = {}
    for var, (name, parse) in ENV_VARS.items():
        raw = values.get(var)
        if raw is None or raw.strip() == "":  # `VAR=` (as in .env.example) means "not set"
            continue
        kwargs[name] = parse(var, raw)  # type: ignore[operator]
    kwargs["kafka_security"] = kafka_security_from(values)
    settings = Settings(**kwargs)  # type: ignore[arg-type]
    _check_combinations(settings)
    return settings


def _check_combinations(s: Settings) -> None:
    if s.pbx_source == "db" and not s.pbx_db_url:
        raise SettingsError("PBX_SOURCE=db needs PBX_DB_URL (mysql://user:password@host:3306/asteriskcdrdb)")
    if s.pbx_source == "api":
        missing = [
            var
            for var, value in (
                ("FREEPBX_API_URL", s.freepbx_api_url),
                ("FREEPBX_CLIENT_ID", s.freepbx_client_id),
                ("FREEPBX_CLIENT_SECRET", s.freepbx_client_secret),
            )
            if not value
        ]
        if missing:
            raise SettingsError(f"PBX_SOURCE=api needs {', '.join(missing)}")
    if s.landing_min_event_time >= dt.datetime.now(dt.UTC):
        raise SettingsError(f"LANDING_MIN_EVENT_TIME={s.landing_min_event_time.isoformat()} is in the future: "
                            f"every event would be rejected")
    if len(set(s.topics.values())) != 3:
        raise SettingsError("KAFKA_TOPIC_ORDERS, KAFKA_TOPIC_CUSTOMERS and KAFKA_TOPIC_FEEDBACK must be different topics")
