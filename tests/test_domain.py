import datetime as dt
from zoneinfo import ZoneInfo

from pantao.domain import business_today, business_yesterday


def test_business_day_follows_the_business_time_zone_not_utc():
    # 22:30 UTC on 1 Nov is already 2 Nov in Moscow (UTC+3)
    late_utc = dt.datetime(2026, 11, 1, 22, 30, tzinfo=dt.UTC)
    assert business_today("Europe/Moscow", late_utc) == dt.date(2026, 11, 2)
    assert business_today("UTC", late_utc) == dt.date(2026, 11, 1)
    assert business_yesterday(ZoneInfo("Europe/Moscow"), late_utc) == dt.date(2026, 11, 1)
