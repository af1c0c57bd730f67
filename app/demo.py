"""`pantao demo`: the whole system end to end on the embedded stack, from nothing.

stack up → simulate N days → publish the events to the broker → prepare schemas and the dbt
manifest → materialize the Dagster graph (landing, marts, reporting views, reports, Telegram)
for the last simulated day → print the key figures and where to look.

Each run starts from a clean slate (its schemas and topics are reset) so the figures it prints
are exactly those of the simulation it just made; `--keep` skips the reset. Because it resets,
the demo always runs on the embedded stack: DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS are
ignored, so a checkout holding production settings can never have its data dropped by a demo.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from pantao import runfiles
from pantao.db import connect, redact
from pantao.files import open_private, private_dir
from pantao.kafka_config import KAFKA_SECURITY_VARS, KafkaSecurity, client_config
from pantao.settings import Settings, load_settings
from pantao.stack import Endpoints, resolve_endpoints

DEMO_SCHEMAS = ("raw", "staging", "intermediate", "marts", "reporting", "reports")


STREAM_NOUNS = {"orders": "order events", "customers": "customer updates", "feedback": "ratings"}


def simulated_summary(truth: dict) -> str:
    """What the simulator made, each count named: orders split by whether they were cancelled."""
    days = [day["chain"] for day in truth["daily"].values()]
    kept = sum(day["orders_count"] for day in days)
    cancelled = sum(day["cancelled_orders_count"] for day in days)
    counts = truth.get("counts", {})
    return (f"{kept + cancelled:,} orders ({kept:,} not cancelled, {cancelled:,} cancelled),"
            f" {counts.get('calls', 0):,} calls, {counts.get('customers', 0):,} customers")


def published_summary(published: dict[str, int], topics: dict[str, str], counts: dict) -> str:
    """Messages per topic, and how many of them are bad on purpose (the landing must cope)."""
    parts = [f"{n:,} {STREAM_NOUNS.get(stream, 'messages')} to topic {topics.get(stream, stream)}"
             for stream, n in published.items()]
    malformed = sum(n for source, n in counts.get("malformed", {}).items() if source.startswith("kafka:"))
    duplicates = sum(counts.get("duplicates", {}).values())
    return (", ".join(parts) + f"\n    of which {malformed:,} malformed (to be quarantined)"
            f" and {duplicates:,} duplicates (to be counted once)")


@contextmanager
def step(title: str) -> Iterator[None]:
    click.echo(click.style(f"==> {title}", bold=True))
    started = time.monotonic()
    yield
    click.echo(f"    done in {time.monotonic() - started:.1f} s")


def reset_demo_data(settings: Settings, endpoints: Endpoints) -> None:
    """Drop the pipeline's schemas and the demo topics so the run starts from nothing."""
    with connect(endpoints.database_url, autocommit=True) as conn:
        for schema in DEMO_SCHEMAS:
            conn.execute(f"drop schema if exists {schema} cascade")
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(client_config(settings.kafka_security, endpoints.kafka_bootstrap))
    existing = set(admin.list_topics(timeout=10).topics)
    doomed = [topic for topic in settings.topics.values() if topic in existing]
    if doomed:
        for future in admin.delete_topics(doomed, operation_timeout=10).values():
            future.result()
        _wait_topics_gone(admin, doomed)
    shutil.rmtree(settings.reports_dir, ignore_errors=True)


def _wait_topics_gone(admin, topics: list[str], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not set(topics) & set(admin.list_topics(timeout=10).topics):
            return
        time.sleep(0.2)


def demo_settings(settings: Settings, sim_dir: Path) -> Settings:
    """The demo reads the simulated PBX files where the simulator wrote them."""
    return settings.with_overrides(
        pbx_source="files",
        pbx_cdr_csv=sim_dir / "pbx" / "Master.csv",
        pbx_queue_log=sim_dir / "pbx" / "queue_log",
        pbx_extensions_file=sim_dir / "pbx" / "extensions.json",
    )


def _run_env(settings: Settings, endpoints: Endpoints) -> dict[str, str]:
    """The environment of the `pantao run` child: the demo's stack and its simulated PBX files."""
    env = dict(os.environ)
    env.update({var: "" for var in KAFKA_SECURITY_VARS})  # the embedded broker: PLAINTEXT (empty = unset)
    env.update(
        DATABASE_URL=endpoints.database_url,
        KAFKA_BOOTSTRAP_SERVERS=endpoints.kafka_bootstrap,
        PANTAO_DATA_DIR=str(settings.data_dir),
        PBX_SOURCE="files",
        PBX_CDR_CSV=str(settings.cdr_csv_path),
        PBX_QUEUE_LOG=str(settings.queue_log_path),
        PBX_EXTENSIONS_FILE=str(settings.extensions_path),
    )
    if settings.reports_start_date:  # the report partitions start with the simulated days
        env["REPORTS_START_DATE"] = settings.reports_start_date.isoformat()
    return env


# The whole demo graph takes a few minutes; far beyond this something is stuck (a lock, a hung peer).
RUN_TIMEOUT_SECONDS = 3600


def materialize(settings: Settings, endpoints: Endpoints, business_date: dt.date) -> str | None:
    """Run the Dagster graph in-process (`pantao run`), streaming its progress; returns the run id."""
    cmd = [sys.executable, "-m", "app.cli", "run", "--date", business_date.isoformat()]
    log_path = settings.data_dir / "logs" / f"demo-run-{business_date}.log"
    private_dir(log_path.parent)
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    run_id = None
    with open_private(log_path, "w", encoding="utf-8") as log, subprocess.Popen(
        cmd, env=_run_env(settings, endpoints), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, errors="replace",
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            started = _RUN_LINE.match(line)
            run_id = started["run_id"] if started else run_id
            shown = _progress_line(line)
            if shown:
                click.echo(shown)
            if time.monotonic() > deadline:
                proc.kill()
                raise click.ClickException(f"the pipeline run did not finish in {RUN_TIMEOUT_SECONDS} s; log: {log_path}")
    click.echo(f"    full log: {log_path}")
    if proc.returncode != 0:
        raise click.ClickException(f"the pipeline run failed (exit {proc.returncode}); see {log_path}")
    return run_id


_STEP_EVENT = re.compile(r" - (?P<step>[\w.]+) - (?P<event>STEP_START|STEP_FAILURE) - ")
_RUN_LINE = re.compile(r"^run (?P<run_id>[0-9a-f-]{36}) for ")
_MATERIALIZED = re.compile(r"^materialized (?P<count>\d+) assets: (?P<keys>.*)$")
_RUN_SUMMARY = ("run ", "checks: ", "failed step ")


def _progress_line(line: str) -> str | None:
    """What of the run's output a person watching the demo wants: steps starting, failures, the summary.

    The list of materialized assets is summarised by layer; the run's UI link is left out here
    (the demo ends by saying where the run can be seen, depending on whether the UI runs).
    """
    match = _STEP_EVENT.search(line)
    if match:
        verb = "running" if match["event"] == "STEP_START" else "FAILED"
        return f"    {verb} {match['step']}"
    materialized = _MATERIALIZED.match(line.rstrip())
    if materialized:
        return f"    materialized {materialized['count']} assets: {summarise_assets(materialized['keys'].split(', '))}"
    if line.startswith(_RUN_SUMMARY):
        return "    " + line.rstrip()
    return None


def summarise_assets(keys: list[str]) -> str:
    """`raw/orders, raw/customers, marts/orders, csv_extracts` -> `raw 2, marts 1, csv_extracts`:
    how many per layer (the first part of the key), in run order; assets outside a layer by name."""
    parts: dict[str, int] = {}
    for key in (key.strip() for key in keys):
        if key and key != "-":
            layer = key.split("/", 1)[0] if "/" in key else key
            parts[layer] = parts.get(layer, 0) + ("/" in key)
    return ", ".join(f"{name} {count}" if count else name for name, count in parts.items()) or "none"


def print_morning_summary(settings: Settings, endpoints: Endpoints, business_date: dt.date) -> None:
    """The morning message as Telegram would show it (printed here: the demo has no bot token)."""
    from reports.snapshot import current_report
    from reports.summary import morning_summary, to_plain

    report = current_report(settings, endpoints.database_url, business_date)
    click.echo("")
    click.echo(click.style("The morning Telegram summary (not sent: TELEGRAM_BOT_TOKEN is not set):", bold=True))
    for line in to_plain(morning_summary(report, settings.report_lang)).splitlines():
        click.echo(f"  | {line}")


def check_reports(settings: Settings, endpoints: Endpoints, last_day: dt.date) -> Path | None:
    """The day's report and the last whole week's agree section by section (reports/consistency.py);
    returns the weekly report's page, or None when the simulation holds no whole week."""
    from pantao.periods import period_of
    from reports.consistency import inconsistencies
    from reports.period_snapshot import build_period_report
    from reports.snapshot import current_report

    week = period_of("week", last_day)
    week = week if week.end == last_day else week.previous()
    day_report = current_report(settings, endpoints.database_url, last_day)
    problems = [f"day {last_day}: {p}" for p in inconsistencies(day_report.figures)]
    weekly = None
    if settings.reports_start_date is None or week.start >= settings.reports_start_date:
        weekly = build_period_report(settings, endpoints.database_url, week)
        problems += [f"week {week.start}: {p}" for p in inconsistencies(weekly.figures)]
    click.echo("")
    checked = f"the day {last_day}" + (f" and the week {week.start} – {week.end}" if weekly else "")
    if problems:
        raise click.ClickException(f"the report's sections disagree ({checked}):\n  " + "\n  ".join(problems))
    click.echo(f"Report sections agree ({checked}): ratings by score = rating cards, hours and restaurants = the "
               "chain, operators' calls = calls answered")
    return weekly.html_path if weekly else None


def last_day_figures(database_url: str, business_date: dt.date) -> dict | None:
    with connect(database_url) as conn:
        cur = conn.execute(
            "select * from marts.daily_kpis where business_date = %s", (business_date,)
        )
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([c.name for c in cur.description], row, strict=True))


# label, daily_kpis column, format: each is checked against the simulator's truth
FIGURES = [
    ("orders, not cancelled", "orders_count", "{:,.0f}"),
    ("orders cancelled", "cancelled_orders_count", "{:,.0f}"),
    ("revenue, RUB", "revenue_amount", "{:,.2f}"),
    ("average check, RUB", "average_check_amount", "{:,.2f}"),
    ("repeat customers", "repeat_customers_count", "{:,.0f}"),
    ("calls offered", "calls_offered_count", "{:,.0f}"),
    ("missed-call rate", "missed_call_rate", "{:.1%}"),
    ("ASA, s", "asa_seconds", "{:.1f}"),
    ("service level ({seconds} s)", "service_level", "{:.1%}"),
    ("operator occupancy", "occupancy", "{:.1%}"),
    ("CSAT (share 4-5)", "csat_share", "{:.1%}"),
]


def print_summary(settings: Settings, endpoints: Endpoints, business_date: dt.date, truth: dict,
                  run_id: str | None, weekly: Path | None = None) -> None:
    figures = last_day_figures(endpoints.database_url, business_date)
    expected = truth["daily"][business_date.isoformat()]["chain"]
    click.echo("")
    click.echo(click.style(f"Key figures for {business_date}, whole chain, from marts.daily_kpis:", bold=True))
    if figures is None:
        raise click.ClickException(f"marts.daily_kpis has no chain row for {business_date}")
    mismatches = 0
    for label, column, fmt in FIGURES:
        value, truth_value = figures.get(column), expected.get(column)
        same = value is None and truth_value is None or (
            value is not None and truth_value is not None and abs(float(value) - float(truth_value)) < 1e-6
        )
        mismatches += not same
        shown = fmt.format(float(value)) if value is not None else "-"
        label = label.format(seconds=settings.service_level_seconds)
        click.echo(f"  {label:<22} {shown:>14}   {'= simulator truth' if same else 'DIFFERS from truth'}")
    click.echo("  (revenue and the average check are of the orders not cancelled)")
    print_where_to_look(settings, endpoints, business_date, run_id, weekly)
    if mismatches:
        raise click.ClickException(f"{mismatches} figure(s) differ from the simulator's truth")


def print_where_to_look(settings: Settings, endpoints: Endpoints, business_date: dt.date, run_id: str | None,
                        weekly: Path | None = None) -> None:
    """Files that exist and services that run; what is not running is named with the command that starts it."""
    report = settings.reports_dir / business_date.isoformat() / "report.html"
    click.echo("")
    click.echo(f"Daily report:   {report}" if report.exists() else "Daily report:   (not built)")
    if weekly is not None:
        click.echo(f"Weekly report:  {weekly}   (`.venv/bin/pantao report show --period week` prints its summary)")
    click.echo(f"PostgreSQL:     {redact(endpoints.database_url)}   (running; schemas marts, reporting)")
    click.echo(f"Kafka:          {endpoints.kafka_bootstrap}   (running)")
    ui = runfiles.running(settings.data_dir, "ui")
    run_path = f"/runs/{run_id}" if run_id else ""
    if ui is not None:
        click.echo(f"Dagster UI:     {ui.address}{run_path}   (`pantao ui` runs, pid {ui.pid})")
    else:
        click.echo("Dagster UI:     not running; `.venv/bin/pantao ui` starts it"
                   + (f" (this run: {run_id})" if run_id else ""))
    bi = runfiles.running(settings.data_dir, "bi")
    if bi is not None:
        click.echo(f"Dashboards:     {bi.address}   (Superset runs, pid {bi.pid}; sign in with your database login)")
    else:
        click.echo(f"Dashboards:     not running; `.venv/bin/pantao bi up` starts them (the first start installs "
                   f"Superset) on http://127.0.0.1:{settings.bi_port}; sign in with a login from "
                   "`.venv/bin/pantao users add NAME --role crm_analyst`")
    click.echo("What runs:      `.venv/bin/pantao stack status`; stop it all: `.venv/bin/pantao stack down`")


@click.command("demo")
@click.option("--days", default=14, show_default=True, help="Days to simulate.")
@click.option("--restaurants", default=8, show_default=True, help="Restaurants in the simulated chain.")
@click.option("--seed", default=2026, show_default=True, help="Simulation seed (same seed, same data).")
@click.option("--keep", is_flag=True, help="Do not reset the demo's schemas and topics first.")
@click.option("--bi", "with_bi", is_flag=True, help="Also start the Superset dashboards (`pantao bi up`).")
def demo_command(days: int, restaurants: int, seed: int, keep: bool, with_bi: bool) -> None:
    """Run the whole system end to end on the embedded stack and print the key figures."""
    import simulator
    from app.prepare import prepare
    from app.simulate import publish_simulation

    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:  # the steps below say what happens; -v shows more
        logging.getLogger().setLevel(logging.WARNING)
    configured = load_settings()
    if not (configured.uses_embedded_postgres and configured.uses_embedded_kafka):
        click.echo("note: the demo resets its data, so it ignores DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS "
                   "(and the KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_* that go with it) "
                   "and runs on the embedded stack")
    base = configured.with_overrides(database_url=None, kafka_bootstrap_servers=None, kafka_security=KafkaSecurity())
    with step("Starting the local stack (embedded PostgreSQL + Kafka-protocol broker)"):
        endpoints = resolve_endpoints(base)
        click.echo(f"    postgres {redact(endpoints.database_url)}\n    kafka    {endpoints.kafka_bootstrap}")
    if not keep:
        with step("Resetting the demo's schemas, topics and reports"):
            reset_demo_data(base, endpoints)

    sim_dir = base.data_dir / "sim"
    with step(f"Simulating {days} days of a {restaurants}-restaurant chain (seed {seed})"):
        shutil.rmtree(sim_dir, ignore_errors=True)
        config = simulator.SimConfig(days=days, restaurants=restaurants, seed=seed, timezone=base.business_timezone,
                                     service_level_seconds=base.service_level_seconds,
                                     short_abandon_seconds=base.short_abandon_seconds)
        simulator.write_outputs(simulator.generate(config), sim_dir)
        truth = json.loads((sim_dir / "truth.json").read_text())
        last_day = dt.date.fromisoformat(max(truth["daily"]))
        click.echo(f"    {simulated_summary(truth)}; files in {sim_dir}")
    with step("Publishing the events to the Kafka topics"):
        published = publish_simulation(base, sim_dir, endpoints.kafka_bootstrap)
        click.echo(f"    {published_summary(published, base.topics, truth.get('counts', {}))}")

    settings = demo_settings(base, sim_dir)
    if base.reports_start_date is None:  # the reports' partitions start with the data
        settings = settings.with_overrides(reports_start_date=config.resolved().start_date)
    with step("Preparing schemas, roles and the dbt manifest"):
        prepare(settings, endpoints.database_url)
    with step(f"Running the pipeline in Dagster for {last_day} (landing → dbt marts → reports)"):
        run_id = materialize(settings, endpoints, last_day)
    if not settings.telegram_bot_token:
        print_morning_summary(settings, endpoints, last_day)
    weekly = check_reports(settings, endpoints, last_day)
    print_summary(settings, endpoints, last_day, truth, run_id, weekly)
    if with_bi:
        with step("Starting the dashboards (Superset on the reporting views)"):
            # a child process, as `pantao run` is: the BI package loads only when asked for
            subprocess.run([sys.executable, "-m", "app.cli", "bi", "up"], env=_run_env(settings, endpoints),
                           check=True)
