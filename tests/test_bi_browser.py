"""A person's afternoon in a real browser: sign in, open «Продажи и клиенты», filter, read, export.

Debian's chromium, driven by playwright, against the session's Superset server (tests/bi_server.py).
Every figure read off the page is compared with the same question asked of `reporting` through
the analyst's own login.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from bi.browser import (
    apply_filters,
    chart_text,
    choose_filter_value,
    chromium_page,
    export_csv,
    open_dashboard,
    set_period,
    sign_in,
)
from tests.bi_server import BiStack
from tests.test_access_helpers import fetch

pytestmark = pytest.mark.slow


def _rubles(text: str) -> int:
    """«2 556 496 ₽» -> 2556496 (Russian grouping with no-break spaces)."""
    digits = "".join(ch for ch in text if ch.isdigit() or ch == "-")
    return int(digits)


def test_an_analyst_filters_sales_by_period_and_segment_and_exports_the_restaurants(bi_stack: BiStack):
    analyst = bi_stack.people["analyst"]
    days = sorted(bi_stack.warehouse.truth["daily"])
    start, last = days[1], days[-2]
    end = (dt.date.fromisoformat(last) + dt.timedelta(days=1)).isoformat()
    expected = fetch(analyst.dsn, """
        select restaurant_id, sum(total_amount), count(*)
        from reporting.orders
        where business_date between %s and %s and customer_segment = 'repeat' and status <> 'cancelled'
        group by 1 order by 2 desc""", (start, last))
    assert expected, "the simulation has repeat customers in the period"

    with chromium_page() as page:
        sign_in(page, bi_stack.address, analyst.username, analyst.password)
        open_dashboard(page, bi_stack.address, "sales")
        set_period(page, start, end)
        choose_filter_value(page, "Сегмент клиента", "Повторные")
        apply_filters(page)
        revenue_card = chart_text(page, "Выручка")
        orders_card = chart_text(page, "Заказы\n")
        exported = export_csv(page, "Рестораны по выручке")

    total = sum(float(r[1]) for r in expected)
    assert _rubles(revenue_card.splitlines()[-1]) == round(total)
    assert int("".join(ch for ch in orders_card.splitlines()[-1] if ch.isdigit())) == sum(r[2] for r in expected)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["Ресторан"], round(float(r["Выручка"]), 2), int(r["Заказы"])) for r in rows] == \
        [(f"Ресторан {rid:02d}", round(float(revenue), 2), n) for rid, revenue, n in expected]
