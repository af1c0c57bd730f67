"""The PostgreSQL and Kafka a benchmark runs on: DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS when
set (a production-like server to measure on), else an embedded one started in the work folder
for the benchmark and stopped after it."""

from __future__ import annotations

from collections.abc import Iterator
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
