"""The missed-call recovery section of the day's report: how many callers nobody reached back, the
revenue the chain can expect to lose with them, and the ten worth calling first.

Read from marts.missed_call_recovery (docs/metrics.md, "Missed-call recovery"); the report's files go
to people who do not call back, so numbers are masked as in the reporting views (last two digits).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from reports.messages import Messages

TOP = 10


def masked(phone: str | None) -> str | None:
    """*** ***-**-67: the last two digits, as reporting.* shows a number."""
    if not phone:
        return None
    return "*** ***-**-" + re.sub(r"[^0-9]", "", phone)[-2:]


def recovery_figures(conn, business_date: dt.date) -> dict[str, Any]:
    """{count, expected_lost_revenue_amount, top: the TOP rows by expected lost revenue} of the day."""
    [totals] = conn.execute(
        "select count(*) as n, coalesce(sum(expected_lost_revenue_amount), 0) as amount "
        "from marts.missed_call_recovery where business_date = %s", (business_date,)).fetchall()
    rows = conn.execute(
        "select caller_phone, is_known_customer, lifetime_orders_count, attempts_count, wait_seconds_total, "
        "last_call_at, expected_lost_revenue_amount from marts.missed_call_recovery where business_date = %s "
        "order by expected_lost_revenue_amount desc, last_call_at, caller_phone limit %s",
        (business_date, TOP)).fetchall()
    return {
        "count": int(totals["n"]),
        "expected_lost_revenue_amount": float(totals["amount"]),
        "top": [{"caller": masked(r["caller_phone"]), "is_known_customer": r["is_known_customer"],
                 "lifetime_orders_count": r["lifetime_orders_count"], "attempts_count": r["attempts_count"],
                 "wait_seconds_total": r["wait_seconds_total"], "last_call_at": r["last_call_at"].isoformat(),
                 "expected_lost_revenue_amount": float(r["expected_lost_revenue_amount"])} for r in rows],
    }


def recovery_line(figures: Mapping[str, Any], msg: Messages) -> str | None:
    """«Не перезвонили: 12 клиентов, ожидаемая потеря 4 310 ₽»; None for a report stored before the section."""
    recovery = figures.get("recovery")
    if recovery is None:
        return None
    return msg.t("recovery_value", count=msg.number(recovery["count"]),
                 amount=msg.money(recovery["expected_lost_revenue_amount"]))


def recovery_table(figures: Mapping[str, Any], msg: Messages, tz: str) -> dict[str, Any] | None:
    """The top callers to reach back, highest expected lost revenue first."""
    recovery = figures.get("recovery")
    if recovery is None:
        return None
    rows = [[r["caller"], msg.t("yes") if r["is_known_customer"] else msg.t("no"),
             msg.number(r["lifetime_orders_count"]), msg.number(r["attempts_count"]),
             msg.seconds(r["wait_seconds_total"]), msg.moment(r["last_call_at"], tz),
             msg.money(r["expected_lost_revenue_amount"], 2)] for r in recovery["top"]]
    return {"id": "recovery", "title": msg.t("recovery_section", count=TOP),
            "header": [msg.t(k) for k in ("recovery_caller", "recovery_known", "recovery_orders",
                                          "recovery_attempts", "recovery_waited", "recovery_last_try",
                                          "recovery_expected")],
            "rows": rows, "note": recovery_line(figures, msg) or ""}
