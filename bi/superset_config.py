"""Superset's configuration for pantao (SUPERSET_CONFIG_PATH points here; runs inside .venv-bi).

Every value comes from the PANTAO_BI_* variables that `pantao bi` sets (bi/config.py), so this
file holds policy, not settings. The policy that matters:

- A person signs in with their own PostgreSQL login and password (no second password to leak
  or forget), and every query Superset runs for them goes through their BI login, which acts as
  them in PostgreSQL: the database's own row filters and masking apply (docs/access.md).
- No result cache is shared between people: the data cache is off, and the database is marked
  for per-user cache keys in case someone turns one on.
"""

from __future__ import annotations

import os

from bi.superset_security import PantaoSecurityManager, connection_for_person

SECRET_KEY = os.environ["PANTAO_BI_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ["PANTAO_BI_METADATA_URL"]
if SQLALCHEMY_DATABASE_URI.startswith("sqlite:"):
    # Several threads of one server share the file; SQLite's own locking keeps writes safe.
    SQLALCHEMY_ENGINE_OPTIONS = {"connect_args": {"check_same_thread": False, "timeout": 30}}

APP_NAME = "pantao"
CUSTOM_SECURITY_MANAGER = PantaoSecurityManager
DB_CONNECTION_MUTATOR = connection_for_person

# Results are never shared between people (see the module docstring).
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}

# People read Russian by default; English on request (REPORT_LANG=en).
BABEL_DEFAULT_LOCALE = os.environ.get("PANTAO_BI_LANG", "ru")
LANGUAGES = {"ru": {"flag": "ru", "name": "Русский"}, "en": {"flag": "us", "name": "English"}}
if BABEL_DEFAULT_LOCALE == "ru":
    # d3 number and date formats as a Russian reader expects: 1 234 567,89 ₽, «12 ноября 2026».
    D3_FORMAT = {"decimal": ",", "thousands": "\u00a0", "grouping": [3], "currency": ["", "\u00a0₽"]}
    D3_TIME_FORMAT = {
        "dateTime": "%A, %e %B %Y г. %X",
        "date": "%d.%m.%Y",
        "time": "%H:%M:%S",
        "periods": ["", ""],
        "days": ["воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"],
        "shortDays": ["вс", "пн", "вт", "ср", "чт", "пт", "сб"],
        "months": ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
                   "сентября", "октября", "ноября", "декабря"],
        "shortMonths": ["янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"],
    }
CURRENCIES = ["RUB"]

# Local by default: the server listens on 127.0.0.1 only, and nothing phones home.
CONTENT_SECURITY_POLICY_WARNING = False
TALISMAN_ENABLED = False
SESSION_COOKIE_SAMESITE = "Lax"
THUMBNAILS = False
FEATURE_FLAGS = {"ALERT_REPORTS": False, "THUMBNAILS": False}
SQLLAB_TIMEOUT = 120
SUPERSET_WEBSERVER_TIMEOUT = 120
