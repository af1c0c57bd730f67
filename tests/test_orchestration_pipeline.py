"""The whole Dagster graph on the embedded stack: simulate → publish → land → dbt → reports → Telegram.

One small simulated chain is run through `full_pipeline_job` in-process on a real instance
(dagster.yaml, storage in PostgreSQL); the other tests build on that warehouse: re-execution
from failure, the failure alert, a two-day backfill of the report partitions.
"""

import datetime as dt
import os
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import psycopg
import pytest
import requests

from app.prepare import prepare_database
from orchestration.lib.instance import PG_URL_VAR, REPO_ROOT, open_instance, prepare_dagster_home
from orchestration.lib.runner import materialize_all
from orchestration.lib.services import start_dagster
from pantao.db import sqlalchemy_url
from pantao.settings import load_settings
from pantao.stack import free_port
from simulator import SimConfig, generate, publish_to_kafka, write_outputs
from tests.telegram_standin import TelegramStandIn

pytestmark = pytest.mark.slow

def _monday_two_weeks_ago() -> dt.date:
    from zoneinfo import ZoneInfo

    today = dt.datetime.now(ZoneInfo(SimConfig.timezone)).date()
    return today - dt.timedelta(days=today.weekday() + 14)


# Monday and Tuesday of a whole past week: a daily partition each and one weekly partition.
SIM = SimConfig(days=2, restaurants=2, seed=23, scale=0.15, start=_monday_two_weeks_ago())
OPS_CHAT = "-100777"
MANAGERS_CHAT = "-100555"
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}


def _env(database_url: str, bootstrap: str, data_dir: Path, pbx_dir: Path, telegram: TelegramStandIn) -> dict:
    suffix = uuid.uuid4().hex[:8]
    return {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "PANTAO_DATA_DIR": str(data_dir),
        "KAFKA_TOPIC_ORDERS": f"orders-{suffix}",
        "KAFKA_TOPIC_CUSTOMERS": f"customers-{suffix}",
        "KAFKA_TOPIC_FEEDBACK": f"feedback-{suffix}",
        "KAFKA_CONSUMER_NAME": f"orch-{suffix}",
        "PBX_SOURCE": "files",
        "PBX_CDR_CSV": str(pbx_dir / "Master.csv"),
        "PBX_QUEUE_LOG": str(pbx_dir / "queue_log"),
        "PBX_EXTENSIONS_FILE": str(pbx_dir / "extensions.json"),
        "BUSINESS_TIMEZONE": SIM.timezone,
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "TELEGRAM_CHAT_IDS": MANAGERS_CHAT,
        "TELEGRAM_OPS_CHAT_ID": OPS_CHAT,
        "DAGSTER_UI_URL": "http://dagster.test:3000",
        "REPORT_LANG": "en",
    }


@pytest.fixture(scope="module")
def pipeline(new_database, kafka_bootstrap, tmp_path_factory):
    """A simulated chain landed, built and reported for its last day by `full_pipeline_job`."""
    with new_database("orch") as database_url:
        yield from _pipeline(database_url, kafka_bootstrap, tmp_path_factory.mktemp("orchestration"))


def _pipeline(database_url, kafka_bootstrap, work):
    config = SIM.resolved()
    write_outputs(generate(config), work / "sim")
    telegram = TelegramStandIn().start()
    env = _env(database_url, kafka_bootstrap, work / "data", work / "sim" / "pbx", telegram)
    days = [config.start_date + dt.timedelta(days=i) for i in range(config.days)]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO_ROOT)
        for var in ("PANTAO_DAGSTER_EXECUTOR", "FREEPBX_API_URL", "PBX_DB_URL"):
            mp.delenv(var, raising=False)
        for var, value in env.items():
            mp.setenv(var, value)
        settings = load_settings(dotenv_path=None)
        publish_to_kafka(work / "sim", kafka_bootstrap, settings.topics)
        prepare_database(settings, database_url)
        home = prepare_dagster_home(settings)
        mp.setenv("DAGSTER_HOME", str(home))
        mp.setenv(PG_URL_VAR, sqlalchemy_url(database_url))
        with open_instance(home) as instance:
            summary = materialize_all(instance, days[-1])
            yield SimpleNamespace(instance=instance, summary=summary, days=days, settings=settings,
                                  database_url=database_url, telegram=telegram, mp=mp, home=home)
    telegram.stop()


def _materialized(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    return {record.event_log_entry.asset_materialization.asset_key.to_user_string() for record in records}


def test_full_graph_materializes_every_asset_from_landing_to_telegram(pipeline):
    from orchestration.definitions import defs
    from orchestration.defs.reports.periods import period_assets

    summary = pipeline.summary
    assert summary.success, summary.errors
    every_asset = {key.to_user_string() for key in defs.resolve_asset_graph().materializable_asset_keys}
    weeks_and_months = {key.to_user_string() for asset in period_assets for key in asset.keys}
    assert set(summary.materialized) == every_asset - weeks_and_months  # those have their own jobs
    dbt_checks_failed = [name for name in summary.checks_failed if not name.endswith(":orders_arriving")]
    assert dbt_checks_failed == []
    assert len(summary.checks_passed) > 20
    day = pipeline.days[-1]
    with psycopg.connect(pipeline.database_url) as conn:
        orders = conn.execute("select count(*) from marts.orders").fetchone()[0]
        reports = conn.execute("select count(*) from reports.daily_report where business_date = %s", (day,)).fetchone()[0]
    assert orders > 0 and reports == 1
    sent = pipeline.telegram.calls_of("sendMessage", "sendPhoto", "sendDocument")
    assert {str(call.params.get("chat_id")) for call in sent} == {MANAGERS_CHAT}
    assert (pipeline.settings.data_dir / "extracts" / day.isoformat()).is_dir()


def test_the_weekly_job_reports_the_week_and_sends_its_summary_once(pipeline):
    from orchestration.definitions import defs

    monday = pipeline.days[0].isoformat()
    job = defs.resolve_job_def("weekly_reports_job")
    result = job.execute_in_process(instance=pipeline.instance, partition_key=monday, run_config=IN_PROCESS,
                                    raise_on_error=False)
    assert result.success, [str(e.step_failure_data.error) for e in result.all_events if e.is_step_failure]
    with psycopg.connect(pipeline.database_url) as conn:
        stored = conn.execute("select period_kind, figures->>'days_count' from reports.period_report "
                              "where period_start = %s", (pipeline.days[0],)).fetchall()
        delivered = conn.execute("select chat_id, status from reports.deliveries where kind = 'weekly_summary'"
                                 ).fetchall()
    assert stored == [("week", "2")] and delivered == [(MANAGERS_CHAT, "sent")]
    texts = [c.params["text"] for c in pipeline.telegram.calls_of("sendMessage")
             if c.params["text"].startswith("<b>Weekly summary")]
    assert len(texts) == 1 and "(data for 2 of 7 days" in texts[0]


def test_the_run_is_stored_in_postgres_for_the_ui(pipeline):
    run = pipeline.instance.get_run_by_id(pipeline.summary.run_id)
    assert run.job_name == "full_pipeline_job"
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert run.tags["dagster/partition"] == pipeline.days[-1].isoformat()
    with psycopg.connect(pipeline.database_url) as conn:
        stored = conn.execute("select count(*) from runs where run_id = %s", (run.run_id,)).fetchone()[0]
    assert stored == 1


def test_a_failed_run_sends_an_alert_with_its_error_and_link_to_the_ops_chat(pipeline, monkeypatch):
    from orchestration.definitions import defs
    from orchestration.lib.resources import PantaoResource

    instance, telegram = pipeline.instance, pipeline.telegram
    sensor = defs.get_sensor_def("ops_alert_on_run_failure")

    def tick(cursor):
        context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                          resources={"pantao": PantaoResource()})
        return sensor.evaluate_tick(context)

    before = tick(None)  # the first tick only records where the event log stands
    monkeypatch.setenv("PBX_SOURCE", "db")  # a PBX database nothing listens on
    monkeypatch.setenv("PBX_DB_URL", f"mysql://pbx:s3cret@127.0.0.1:{free_port()}/asteriskcdrdb")
    failed = defs.resolve_job_def("landing_job").execute_in_process(
        instance=instance, raise_on_error=False,
        asset_selection=[dg.AssetKey(["raw", t]) for t in ("pbx_cdr", "pbx_queue_log", "pbx_extensions")])
    assert not failed.success
    tick(before.cursor)

    alerts = [call for call in telegram.calls_of("sendMessage") if str(call.params.get("chat_id")) == OPS_CHAT]
    assert len(alerts) == 1
    text = alerts[0].params["text"]
    assert "landing_job" in text and failed.run_id in text
    assert "cannot connect to the PBX database" in text
    assert "s3cret" not in text
    assert f"http://dagster.test:3000/runs/{failed.run_id}" in text


# --- the real webserver and daemon on the same instance --------------------------------------

REPOSITORY_QUERY = """
{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name }
    schedules { id name cronSchedule executionTimezone scheduleState { status } }
    sensors { id name sensorState { status } } } } } }
"""
ASSETS_QUERY = "{ assetNodes { assetKey { path } dependencyKeys { path } } }"
RUN_QUERY = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
LAUNCH_RUN = """
mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }
"""
REEXECUTE = """
mutation($params: ReexecutionParams!) { launchPipelineReexecution(reexecutionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }
"""
BACKFILL = """
mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }
"""
STOP_SCHEDULE = """
mutation($id: String!) { stopRunningSchedule(id: $id) {
  __typename ... on ScheduleStateResult { scheduleState { status } } ... on PythonError { message } } }
"""
BACKFILL_QUERY = "query($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } } }"
DONE = {"SUCCESS", "FAILURE", "CANCELED"}


@pytest.fixture(scope="module")
def dagster_ui(pipeline):
    """`dagster-webserver` and `dagster-daemon` as `pantao ui` starts them, on the pipeline's instance.

    Runs the daemon launches execute in one process each (PANTAO_DAGSTER_EXECUTOR=in_process) to
    keep the test quick; the code path is otherwise the production one.
    """
    port = free_port()
    log_path = pipeline.home / "services.log"
    env = {**os.environ, "PANTAO_DAGSTER_EXECUTOR": "in_process"}
    with log_path.open("ab") as log:
        services = start_dagster(env, "127.0.0.1", port, output=log)
    url = f"{services.url}/graphql"

    def gql(query, variables=None):
        response = requests.post(url, json={"query": query, "variables": variables or {}}, timeout=60)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    deadline = time.monotonic() + 240
    while True:
        assert not services.exited(), f"{services.exited()} exited: {log_path.read_text()[-3000:]}"
        try:
            nodes = gql(REPOSITORY_QUERY)["repositoriesOrError"].get("nodes")
            if nodes:
                break
        except (requests.ConnectionError, requests.HTTPError):
            pass
        assert time.monotonic() < deadline, f"the webserver did not load the code location: {log_path.read_text()[-3000:]}"
        time.sleep(1)
    loaded = nodes[0]
    _wait_for_the_daemons_first_schedule_checkpoint(pipeline.instance, loaded, deadline, log_path)
    # Pause the schedules (as an operator would) so their ticks do not launch runs in the middle
    # of the tests below; `loaded` keeps the state the webserver reported before that.
    paused = [gql(STOP_SCHEDULE, {"id": s["id"]})["stopRunningSchedule"] for s in loaded["schedules"]]
    yield SimpleNamespace(gql=gql, repository=loaded, paused=paused, log=log_path)
    services.stop()


def _wait_for_the_daemons_first_schedule_checkpoint(instance, repository, deadline, log_path):
    """Wait until the scheduler daemon has recorded its first iteration of every schedule.

    Dagster's scheduler reads every schedule's state at the start of an iteration and, for a
    schedule it has never checkpointed, writes that state back (with its iteration timestamp) from
    a worker thread afterwards. A pause landing in between is overwritten by the stale "running"
    state — CI saw exactly that when the fixture paused right after the webserver came up, while
    the daemon was in its first iteration. Once every schedule is checkpointed the next write is an
    hour away, so a pause after this stays a pause.
    """
    names = {s["name"] for s in repository["schedules"]}
    while True:
        checkpointed = {state.instigator_name for state in instance.all_instigator_state()
                        if getattr(state.instigator_data, "last_iteration_timestamp", None)}
        if names <= checkpointed:
            return
        assert time.monotonic() < deadline, (f"the scheduler daemon did not check schedules {sorted(names - checkpointed)}:"
                                             f" {log_path.read_text()[-3000:]}")
        time.sleep(1)


def _wait_run(ui, run_id, timeout=600):  # generous: a deadline, not a timing; the machine may be shared
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = ui.gql(RUN_QUERY, {"id": run_id})["runOrError"].get("status")
        if status in DONE:
            return status
        time.sleep(2)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s; see {ui.log}")


def test_webserver_serves_the_asset_graph_and_running_schedules(dagster_ui):
    repository = dagster_ui.repository
    schedules = {s["name"]: s for s in repository["schedules"]}
    assert set(schedules) == {"landing_every_15_minutes", "marts_hourly", "morning_report_0800",
                              "weekly_report_monday_0800", "monthly_report_0800"}
    assert {s["scheduleState"]["status"] for s in schedules.values()} == {"RUNNING"}
    assert schedules["morning_report_0800"]["executionTimezone"] == SIM.timezone
    assert schedules["weekly_report_monday_0800"]["executionTimezone"] == SIM.timezone
    assert {s["sensorState"]["status"] for s in repository["sensors"]} == {"RUNNING"}

    nodes = dagster_ui.gql(ASSETS_QUERY)["assetNodes"]
    parents = {"/".join(n["assetKey"]["path"]): {"/".join(d["path"]) for d in n["dependencyKeys"]} for n in nodes}
    path, key = [], "telegram_morning_summary"
    while parents.get(key):  # walk up the lineage, always through the first parent in name order
        key = sorted(parents[key])[0]
        path.append(key)
    assert path[-1].startswith("raw/"), path
    assert "marts/daily_kpis" in parents["daily_report_snapshot"]


def test_schedules_paused_through_the_api_stay_stopped(dagster_ui):
    assert [result["scheduleState"]["status"] for result in dagster_ui.paused] == ["STOPPED"] * 5
    repository = dagster_ui.gql(REPOSITORY_QUERY)["repositoriesOrError"]["nodes"][0]
    assert {s["scheduleState"]["status"] for s in repository["schedules"]} == {"STOPPED"}


def _selector(repository, job):
    return {"repositoryLocationName": repository["location"]["name"], "repositoryName": repository["name"],
            "jobName": job}


def _launch(ui, job: str) -> str:
    launched = ui.gql(LAUNCH_RUN, {"params": {"selector": _selector(ui.repository, job), "runConfigData": {}}})
    assert launched["launchRun"]["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["launchRun"]["run"]["runId"]
    assert _wait_run(ui, run_id) == "SUCCESS", f"{job} {run_id}; see {ui.log}"
    return run_id


def _marts_schema_oid(database_url) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("select oid from pg_namespace where nspname = 'marts'").fetchone()[0]


def test_the_hourly_marts_run_after_a_landing_with_nothing_new_runs_no_dbt(pipeline, dagster_ui):
    from orchestration.defs.marts.assets import UNCHANGED_METADATA, dbt_models

    instance = pipeline.instance
    # a dbt test whose latest result failed is run again, whatever the inputs: the reports wait on it
    check = sorted(dbt_models.check_keys, key=lambda k: k.to_user_string())[0]
    instance.report_runless_asset_event(dg.AssetCheckEvaluation(
        asset_key=check.asset_key, check_name=check.name, passed=False, severity=dg.AssetCheckSeverity.ERROR))
    built = _launch(dagster_ui, "marts_job")
    said = [entry.user_message for entry in instance.all_logs(built)]
    assert "building whatever the inputs: the latest result of 1 check(s) failed" in said
    records = instance.get_records_for_run(built, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    assert "marts/daily_kpis" in _materialized(instance, built)
    assert not any(UNCHANGED_METADATA in r.event_log_entry.asset_materialization.metadata for r in records)
    latest = instance.get_latest_asset_check_evaluation_record(check)
    assert latest.run_id == built and latest.event.asset_check_evaluation.passed
    live = _marts_schema_oid(pipeline.database_url)

    # a landing run finds nothing new on the broker or in the PBX files: nothing is written
    _launch(dagster_ui, "landing_job")
    skipped = _launch(dagster_ui, "marts_job")
    records = instance.get_records_for_run(skipped, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    reported = {r.event_log_entry.asset_materialization.asset_key.to_user_string():
                r.event_log_entry.asset_materialization.metadata for r in records}
    assert reported.keys() == _materialized(instance, built)  # every model reported current
    unchanged = {key: meta[UNCHANGED_METADATA].value for key, meta in reported.items() if UNCHANGED_METADATA in meta}
    assert unchanged.keys() == reported.keys()
    assert all(text.startswith("nothing has changed since the build published at") for text in unchanged.values())
    assert _marts_schema_oid(pipeline.database_url) == live  # nothing copied, built or published


def test_a_failed_dbt_run_is_retried_from_asset_failure_without_rebuilding_what_succeeded(pipeline, dagster_ui):
    instance = pipeline.instance
    params = {"selector": _selector(dagster_ui.repository, "marts_job"), "runConfigData": {}}
    # Break the queue_log staging model with a renamed column: unlike a renamed table, a landing run
    # that happens to start meanwhile (a schedule tick queued before the fixture paused it) cannot
    # repair it with its `create table if not exists`, so the dbt run fails as intended.
    with psycopg.connect(pipeline.database_url, autocommit=True) as conn:
        conn.execute("alter table raw.pbx_queue_log rename column event to event_moved_away")
        try:
            launched = dagster_ui.gql(LAUNCH_RUN, {"params": params})["launchRun"]
            assert launched["__typename"] == "LaunchRunSuccess", launched
            first = launched["run"]["runId"]
            assert _wait_run(dagster_ui, first) == "FAILURE"
        finally:
            conn.execute("alter table raw.pbx_queue_log rename column event_moved_away to event")
    built_first = _materialized(instance, first)
    assert "marts/orders" in built_first
    assert "marts/daily_kpis" not in built_first and "reporting/daily_kpis" not in built_first

    retried = dagster_ui.gql(REEXECUTE, {"params": {"parentRunId": first, "strategy": "FROM_ASSET_FAILURE"}})
    retried = retried["launchPipelineReexecution"]
    assert retried["__typename"] == "LaunchRunSuccess", retried
    retry = retried["run"]["runId"]
    assert _wait_run(dagster_ui, retry) == "SUCCESS"
    built_retry = _materialized(instance, retry)
    assert {"marts/daily_kpis", "marts/operator_daily", "staging/stg_freepbx__queue_log",
            "reporting/daily_kpis", "reporting/calls"} <= built_retry
    assert not built_first & built_retry, f"rebuilt models that had succeeded: {sorted(built_first & built_retry)}"


def _report_versions(database_url):
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("select business_date::text, count(*) from reports.daily_report group by 1").fetchall()
    return dict(rows)


def test_a_backfill_of_two_days_creates_exactly_those_report_partitions(pipeline, dagster_ui):
    instance = pipeline.instance
    days = [day.isoformat() for day in pipeline.days[:2]]
    reports = [{"path": [name]} for name in ("daily_report_snapshot", "csv_extracts", "telegram_morning_summary")]
    before = _report_versions(pipeline.database_url)
    launched = dagster_ui.gql(BACKFILL, {"params": {"partitionNames": days, "assetSelection": reports}})
    launched = launched["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]
    deadline = time.monotonic() + 300
    while (status := dagster_ui.gql(BACKFILL_QUERY, {"id": backfill_id})["partitionBackfillOrError"]["status"]) \
            not in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"):
        assert time.monotonic() < deadline, f"backfill {backfill_id} still {status}; see {dagster_ui.log}"
        time.sleep(3)
    assert status in ("COMPLETED", "COMPLETED_SUCCESS"), status

    runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
    assert sorted(run.tags["dagster/partition"] for run in runs) == days
    for name in ("daily_report_snapshot", "csv_extracts", "telegram_morning_summary"):
        partitions = set()
        for run in runs:
            records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
            partitions |= {r.event_log_entry.asset_materialization.partition for r in records.records
                           if r.event_log_entry.asset_materialization.asset_key == dg.AssetKey(name)}
        assert sorted(partitions) == days, name
    after = _report_versions(pipeline.database_url)
    changed = {day for day, count in after.items() if count > before.get(day, 0)}
    # exactly the backfilled days got a new report version (the 08:00 schedule may add one for yesterday too)
    assert changed == set(days)
