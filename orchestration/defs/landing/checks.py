"""Freshness of the landing: orders must keep arriving while the restaurants are open."""


import datetime as dt

import dagster as dg

from orchestration.lib.resources import PantaoResource
from orchestration.lib.rules import orders_freshness
from pantao.db import connect


@dg.asset_check(
    asset=dg.AssetKey(["raw", "orders"]),
    name="orders_arriving",
    description="Fails when no new order reached raw.orders for 30 minutes during opening hours "
                "(10:00–23:00 business time): the order service or the landing has stopped.",
)
def orders_arriving(pantao: PantaoResource) -> dg.AssetCheckResult:
    settings = pantao.settings()
    with connect(pantao.database_url()) as conn:
        last = conn.execute("select max(kafka_timestamp) from raw.orders").fetchone()[0]
    verdict = orders_freshness(last, dt.datetime.now(dt.UTC), settings.tz)
    return dg.AssetCheckResult(
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=verdict.description,
        metadata={"last_order_at": last.isoformat() if last else "never"},
    )


landing_checks = [orders_arriving]
