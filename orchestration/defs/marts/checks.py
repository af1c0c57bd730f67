"""Freshness of the marts: the hourly build must keep succeeding."""


import datetime as dt
import warnings

import dagster as dg

from orchestration.defs.marts.assets import mart_keys

# Built hourly; two hours without a successful build means at least one whole run failed or never ran.
MARTS_MAX_AGE = dt.timedelta(hours=2)

# Dagster 1.13 marks these builders as superseded by FreshnessPolicy, whose evaluation needs the
# instance-level freshness daemon (a preview); the checks are explicit, tested and show up as
# check results on each mart, so they stay until that daemon is the default.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.SupersessionWarning)
    marts_freshness_checks = dg.build_last_update_freshness_checks(
        assets=mart_keys(),
        lower_bound_delta=MARTS_MAX_AGE,
        severity=dg.AssetCheckSeverity.WARN,
    )
    marts_freshness_sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=marts_freshness_checks,
        name="marts_freshness_sensor",
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
