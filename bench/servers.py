"""The PostgreSQL and Kafka a benchmark runs on: DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS when
set (a production-like server to measure on), else an embedded one started in the work folder
for the benchmark and stopped after it."""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path


@contextmanager
def bench_servers(work: Path) -> Iterator[tuple[str, str]]:
    """Yields (superuser DSN of the `postgres` database, Kafka bootstrap servers)."""
    from pantao.settings import load_settings
    from pantao.stack import EmbeddedKafka, EmbeddedPostgres

    env = load_settings()
    with ExitStack() as stack:
        admin_url = env.database_url or stack.enter_context(EmbeddedPostgres(work / "pg")).dsn("postgres")
        bootstrap = env.kafka_bootstrap_servers or stack.enter_context(EmbeddedKafka(work / "kafka")).bootstrap
        yield admin_url, bootstrap


def run_histories(description: str, default_days: list[int], bench_history: Callable[..., dict],
                  extra: Callable[[argparse.ArgumentParser], None] = lambda parser: None,
                  ) -> tuple[argparse.Namespace, list[dict]]:
    """The main of a benchmark over simulated histories: `--days N [N ...]`, `--scale`, `--restaurants`;
    `bench_history(days, scale, restaurants, admin_url, bootstrap, work)` for each, on `bench_servers`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--days", type=int, nargs="+", default=default_days)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--restaurants", type=int, default=8)
    extra(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, bench_servers(Path(tmp)) as (admin_url, bootstrap):
        results = [bench_history(days, args.scale, args.restaurants, admin_url, bootstrap, Path(tmp))
                   for days in args.days]
    return args, results
