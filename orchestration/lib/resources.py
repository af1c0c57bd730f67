"""The one resource every asset uses: the settings and the database/broker to talk to.

Both are resolved when a step runs, never when Dagster loads the code, so the code location
loads without a database or broker and picks up configuration changes on the next run.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pantao.settings import Settings, load_settings
from pantao.stack import Endpoints, resolve_endpoints


class PantaoResource(dg.ConfigurableResource):
    """Settings from the environment (and `.env`), and the endpoints they point to.

    Without DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS the endpoints are the embedded stack's, started
    on demand; `pantao ui` and `pantao run` resolve them once and export them, so runs find them set.
    """

    dotenv_path: str = ".env"

    def settings(self) -> Settings:
        return load_settings(dotenv_path=Path(self.dotenv_path))

    def endpoints(self, *, need_kafka: bool = True) -> Endpoints:
        return resolve_endpoints(self.settings(), need_kafka=need_kafka)

    def database_url(self) -> str:
        return self.endpoints(need_kafka=False).database_url
