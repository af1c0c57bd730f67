"""`pantao simulate`: generate a simulated chain, write its files and truth.json, optionally publish.

It lives in the composition layer because it joins the settings (data folder, time zone, service
thresholds, broker) with the simulator, which itself imports nothing of the pipeline.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click

from pantao.kafka_config import Refusals, client_config
from pantao.settings import Settings, load_settings
from simulator.config import SimConfig
from simulator.generate import generate
from simulator.kafka import publish_to_kafka
from simulator.pbx_profiles import DEFAULT_PROFILE, PROFILES
from simulator.writer import write_outputs


def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; expected YYYY-MM-DD") from None


@click.command("simulate")
@click.option("--days", type=click.IntRange(min=1), default=14, show_default=True, help="Business days to simulate.")
@click.option("--restaurants", type=click.IntRange(min=1), default=8, show_default=True,
              help="Number of restaurants in the chain.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed; the same seed gives the same files.")
@click.option("--start", callback=_parse_date, default=None, metavar="YYYY-MM-DD",
              help="First business day (default: DAYS days before today in the business timezone).")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Volume multiplier for orders, calls, customers and staff.")
@click.option("--malformed-share", type=click.FloatRange(0, 1, max_open=True), default=0.01, show_default=True,
              help="Share of extra deliberately broken records per source.")
@click.option("--pbx-profile", type=click.Choice(sorted(PROFILES)), default=DEFAULT_PROFILE, show_default=True,
              help="How the PBX writes the contact centre: Master.csv layout and clock, queue_log agent names "
                   "and event forms (the calls are the same; see simulator/pbx_profiles.py). Land the files with "
                   "the PBX_* settings `pantao simulate` prints.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: <PANTAO_DATA_DIR>/sim).")
@click.option("--publish/--no-publish", default=False, show_default=True,
              help="Also produce the Kafka messages to KAFKA_BOOTSTRAP_SERVERS, or, when it is not set, to the "
                   "embedded broker of the local stack (started if it is not running).")
def simulate(days: int, restaurants: int, seed: int, start: dt.date | None, scale: float, malformed_share: float,
             pbx_profile: str, out_dir: Path | None, publish: bool) -> None:
    """Simulate a fast-food chain and its contact centre: Kafka events, FreePBX files and truth.json."""
    settings = load_settings()
    out = out_dir if out_dir is not None else settings.data_dir / "sim"
    config = SimConfig(days=days, restaurants=restaurants, seed=seed, start=start, scale=scale,
                       timezone=settings.business_timezone, malformed_share=malformed_share,
                       service_level_seconds=settings.service_level_seconds,
                       short_abandon_seconds=settings.short_abandon_seconds, pbx_profile=pbx_profile)
    began = time.perf_counter()
    sim = generate(config)
    paths = write_outputs(sim, out)
    messages = sum(len(o.events) for o in sim.orders) + len(sim.duplicates) + len(sim.customer_events) + len(
        sim.ratings)
    click.echo(f"Simulated {config.days} days from {sim.config.start_date} for {restaurants} restaurants "
               f"(seed {seed}) in {time.perf_counter() - began:.1f} s:")
    click.echo(f"  orders {len(sim.orders):,}, calls {len(sim.calls):,}, CDR rows {len(sim.cdrs):,}, "
               f"Kafka messages {messages:,} (+{len(sim.malformed):,} malformed records)")
    click.echo(f"  files in {paths.out_dir} (kafka/, pbx/, truth.json)")
    profile = PROFILES[pbx_profile]
    clock = [f"PBX_TIMEZONE={profile.pbx_timezone}"] if profile.pbx_timezone else []
    clock += ["PBX_CDR_TIMES=utc"] if profile.cdr_times == "utc" else []
    click.echo(f"  PBX profile {pbx_profile}: Master.csv layout {' then '.join(dict.fromkeys(profile.cdr_layouts))}"
               + (f"; land with {' '.join(clock)}" if clock else ""))
    if publish:
        bootstrap = _bootstrap(settings)
        counts = publish_simulation(settings, paths.out_dir, bootstrap)
        where = "" if settings.kafka_bootstrap_servers else " (the embedded broker; `pantao stack status`)"
        click.echo(f"  published to {bootstrap}{where}: {counts}")


def publish_simulation(settings: Settings, out_dir: Path, bootstrap: str,
                       timeout: float = 30.0) -> dict[str, int]:
    """Publish the simulated messages with the system's own Kafka client configuration (security
    included); a broker that refuses us is named with the setting to check."""
    refusals = Refusals(settings.kafka_security, bootstrap)
    config = client_config(settings.kafka_security, bootstrap, on_error=refusals)
    try:
        return publish_to_kafka(out_dir, config, settings.topics, timeout=timeout)
    except RuntimeError as exc:
        raise click.ClickException(f"--publish: {refusals.explain() or exc}") from None


def _bootstrap(settings) -> str:
    """KAFKA_BOOTSTRAP_SERVERS, else the local stack's embedded broker, as every other command finds it."""
    if settings.kafka_bootstrap_servers:
        return settings.kafka_bootstrap_servers
    from pantao.stack import StackError, resolve_endpoints

    try:
        return resolve_endpoints(settings, need_kafka=True).kafka_bootstrap
    except StackError as exc:
        raise click.ClickException(f"--publish: the local stack could not start: {exc}") from None
