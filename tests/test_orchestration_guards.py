"""orchestration.lib.guards on a real (temporary) Dagster instance: a report run on its own refuses
to report while the latest evaluation of a blocking check on its marts failed at severity ERROR."""

import dagster as dg
import pytest

from orchestration.lib.guards import failed_checks, require_passing_checks

OUTCOME = {"passed": True, "severity": dg.AssetCheckSeverity.ERROR}
MART = dg.AssetKey(["marts", "daily_kpis"])
CHECK = dg.AssetCheckKey(MART, "no_negative_revenue")


@dg.asset(key=MART)
def daily_kpis() -> None:
    return None


@dg.asset_check(asset=MART, name=CHECK.name, blocking=True)
def no_negative_revenue() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=OUTCOME["passed"], severity=OUTCOME["severity"])


@dg.asset(deps=[MART])
def report(context: dg.AssetExecutionContext) -> None:
    require_passing_checks(context, [CHECK])


def build_marts(instance: dg.DagsterInstance, passed: bool, severity=dg.AssetCheckSeverity.ERROR) -> str:
    OUTCOME.update(passed=passed, severity=severity)
    result = dg.materialize([daily_kpis, no_negative_revenue], instance=instance, raise_on_error=False)
    return result.run_id


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def test_a_check_that_never_ran_does_not_stop_the_report(instance):
    assert failed_checks(instance, [CHECK]) == []


def test_the_latest_failed_evaluation_is_named_with_its_run(instance):
    run_id = build_marts(instance, passed=False)
    assert failed_checks(instance, [CHECK]) == [f"marts/daily_kpis:no_negative_revenue (run {run_id})"]


def test_a_later_passing_evaluation_clears_it(instance):
    build_marts(instance, passed=False)
    build_marts(instance, passed=True)
    assert failed_checks(instance, [CHECK]) == []


def test_a_failure_at_severity_warn_does_not_stop_the_report(instance):
    build_marts(instance, passed=False, severity=dg.AssetCheckSeverity.WARN)
    assert failed_checks(instance, [CHECK]) == []


def test_a_report_run_on_its_own_fails_with_the_check_and_the_fix(instance):
    build_marts(instance, passed=False)
    result = dg.materialize([daily_kpis, no_negative_revenue, report], selection=[report.key], instance=instance,
                            raise_on_error=False)
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert "not reporting on marts whose blocking checks failed: marts/daily_kpis:no_negative_revenue" in message
    assert "rematerialize the marts (marts_job)" in message
