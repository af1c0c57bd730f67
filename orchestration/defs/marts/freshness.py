"""Freshness of the marts: the hourly build must keep succeeding.

Every mart carries a `FreshnessPolicy`, which Dagster 1.13 recommends over the superseded
freshness checks. The daemon's freshness evaluation (on by default, and set in dagster.yaml)
turns a mart WARN when its last materialization is older than `MARTS_WARN_AFTER` and FAIL after
`MARTS_FAIL_AFTER`; the UI shows the state on the asset and in its health, with no sensor or
check to run.
"""

import datetime as dt

import dagster as dg

from orchestration.lib.dbt import is_mart

# Built hourly at :05. Two hours without a materialization means one build failed or never ran;
# three means two in a row did, which is no longer a hiccup.
MARTS_WARN_AFTER = dt.timedelta(hours=2)
MARTS_FAIL_AFTER = dt.timedelta(hours=3)
MARTS_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=MARTS_FAIL_AFTER, warn_window=MARTS_WARN_AFTER)


def with_marts_freshness(dbt_models: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """The dbt assets with the marts' freshness policy on every mart (staging and intermediate have none)."""
    [mapped] = dg.map_asset_specs(
        lambda spec: spec.replace_attributes(freshness_policy=MARTS_FRESHNESS) if is_mart(spec.key) else spec,
        [dbt_models],
    )
    return mapped
