"""Where Superset keeps its state and how its processes are configured, from the pantao settings.

Superset reads `bi/superset_config.py`, which takes everything from the `PANTAO_BI_*` variables
set here: one place decides ports, paths and secrets, and the config file holds no values.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from bi.environment import BI_DIR, REPO_ROOT
from pantao.db import libpq_params
from pantao.settings import Settings

SECRET_FILE = "secret_key"


@dataclass(frozen=True)
class BiConfig:
    home: Path  # <data_dir>/superset: metadata (SQLite), secret key, provisioning spec
    run_dir: Path  # <data_dir>/run: the process record other commands read
    log_dir: Path
    port: int
    metadata_url: str = field(repr=False)
    secret_key: str = field(repr=False)
    warehouse_url: str = field(repr=False)  # the pipeline's login, for provisioning and user administration
    business_timezone: str = "Europe/Moscow"
    lang: str = "ru"

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "bi.log"

    @property
    def install_log(self) -> Path:
        return self.log_dir / "bi-install.log"

    def warehouse_location(self) -> dict[str, str]:
        """Host, port and database of the warehouse, without credentials (Superset adds each person's)."""
        params = libpq_params(self.warehouse_url)
        return {"host": params["host"], "port": params["port"], "dbname": params["dbname"]}

    def process_env(self) -> dict[str, str]:
        """The environment of every Superset process we start (server, provisioning)."""
        where = self.warehouse_location()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "SUPERSET_"))}
        env.update(
            PYTHONPATH=str(REPO_ROOT),
            SUPERSET_CONFIG_PATH=str(BI_DIR / "superset_config.py"),
            SUPERSET_HOME=str(self.home),
            FLASK_APP="superset.app:create_app()",
            PANTAO_BI_METADATA_URL=self.metadata_url,
            PANTAO_BI_SECRET_KEY=self.secret_key,
            PANTAO_BI_WAREHOUSE_HOST=where["host"],
            PANTAO_BI_WAREHOUSE_PORT=where["port"],
            PANTAO_BI_WAREHOUSE_DB=where["dbname"],
            PANTAO_BI_LANG=self.lang,
        )
        return env


def _secret_key(settings: Settings, home: Path) -> str:
    """SUPERSET_SECRET_KEY, or one generated once into <home>/secret_key (readable by its owner only)."""
    if settings.superset_secret_key:
        return settings.superset_secret_key
    path = home / SECRET_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text().strip()


def bi_config(settings: Settings, warehouse_url: str) -> BiConfig:
    home = (settings.superset_home).resolve()
    metadata_url = settings.superset_database_url or f"sqlite:///{home / 'superset.db'}"
    return BiConfig(
        home=home,
        run_dir=(settings.data_dir / "run").resolve(),
        log_dir=(settings.data_dir / "logs").resolve(),
        port=settings.bi_port,
        metadata_url=metadata_url,
        secret_key=_secret_key(settings, home),
        warehouse_url=warehouse_url,
        business_timezone=settings.business_timezone,
        lang=settings.report_lang,
    )


def configured_secret_key(settings: Settings) -> str | None:
    """The BI secret key if BI has been set up here (configured or generated), else None; never creates one."""
    if settings.superset_secret_key:
        return settings.superset_secret_key
    path = settings.superset_home / SECRET_FILE
    return path.read_text().strip() if path.exists() else None
