"""The chain's vocabulary, in one place: channels, segments, roles, business days.

Every module that needs one of these imports it from here, so a new channel is added once. The
KPIs have their own registry (pantao.kpis, read from the marts' yml). The simulator keeps its own
copies on purpose: it is the independent oracle.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

# Order channels (docs/contracts.md §1).
CHANNELS: tuple[str, ...] = ("phone", "app", "web", "kiosk", "delivery_partner")

# Customer segments as marts.customers assigns them (docs/metrics.md).
SEGMENTS: tuple[str, ...] = ("prospect", "new", "repeat", "loyal", "vip", "lapsed")

# PostgreSQL group roles (docs/access.md).
GROUP_ROLES: tuple[str, ...] = ("crm_admin", "crm_manager", "crm_analyst", "crm_operator")
# The roles whose people get a BI (Superset) account; operators get none (docs/access.md).
BI_ROLES: tuple[str, ...] = ("crm_admin", "crm_manager", "crm_analyst")
# A person's BI login in PostgreSQL is this prefix + their login name: the dot makes it a name no
# person can have, and the prefix fits any name of at most 60 characters into PostgreSQL's 63.
BI_LOGIN_PREFIX = "bi."

def business_today(timezone: str | ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    """Today's date in the business time zone (a call or order belongs to the day it started there)."""
    tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    return (now or dt.datetime.now(tz)).astimezone(tz).date()


def business_yesterday(timezone: str | ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    """The last complete business day: what the morning report is about."""
    return business_today(timezone, now) - dt.timedelta(days=1)
