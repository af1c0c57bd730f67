"""One Superset server for all BI tests: on the session's built warehouse, with a person per role.

Loaded as a pytest plugin (tests/conftest.py). `.venv-bi/` is installed on first use (a few
minutes, once per machine), then provisioning and the server take about half a minute. The
server and the test people are removed at the end of the session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from access.users import remove_user
from bi import environment, server
from bi.config import BiConfig, bi_config
from bi.provision import provision
from pantao.stack import free_port
from tests.pipeline import WarehouseInfo
from tests.test_access_helpers import Login, Users, busiest_operator

HTTP_TIMEOUT = 120


@dataclass
class BiStack:
    config: BiConfig
    warehouse: WarehouseInfo
    people: dict[str, Login]  # admin, manager (all restaurants), scoped_manager (restaurant 1), analyst, operator

    @property
    def address(self) -> str:
        return self.config.address

    def api(self, who: str) -> requests.Session:
        """A REST API session signed in as one of the people (JWT, as Superset's own clients use)."""
        login = self.people[who]
        session = requests.Session()
        response = session.post(f"{self.address}/api/v1/security/login", timeout=HTTP_TIMEOUT,
                                json={"username": login.username, "password": login.password, "provider": "db"})
        response.raise_for_status()
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return session

    def dataset_ids(self, session: requests.Session) -> dict[str, int]:
        query = json.dumps({"columns": ["id", "table_name"], "page_size": 100})
        response = session.get(f"{self.address}/api/v1/dataset/?q={query}", timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return {d["table_name"]: d["id"] for d in response.json()["result"]}

    def chart_data(self, session: requests.Session, view: str, *, metrics: list[str] | None = None,
                   columns: list[str] | None = None, filters: list[dict] | None = None,
                   row_limit: int = 100_000) -> list[dict]:
        """POST /api/v1/chart/data: the endpoint every chart and CSV export of a dashboard uses."""
        query = {"metrics": metrics or [], "columns": columns or [], "filters": filters or [],
                 "row_limit": row_limit, "orderby": [[c, True] for c in (columns or [])]}
        body = {"datasource": {"id": self.dataset_ids(session)[view], "type": "table"}, "queries": [query],
                "result_format": "json", "result_type": "full"}
        response = session.post(f"{self.address}/api/v1/chart/data", json=body, timeout=HTTP_TIMEOUT)
        assert response.status_code == 200, response.text[:500]
        return response.json()["result"][0]["data"]


@pytest.fixture(scope="session")
def bi_stack(built_warehouse: WarehouseInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BiStack]:
    url = built_warehouse.database_url
    extension = busiest_operator(url)
    users = Users(url)
    people = {
        "admin": users.add("bi_admin", "crm_admin"),
        "manager": users.add("bi_mgr", "crm_manager"),
        "scoped_manager": users.add("bi_mgr1", "crm_manager", restaurant_ids=[1]),
        "analyst": users.add("bi_ana", "crm_analyst"),
        "operator": users.add("bi_op", "crm_operator", operator_extension=extension),
    }
    settings = built_warehouse.settings.with_overrides(data_dir=tmp_path_factory.mktemp("bi") / "data",
                                                       bi_port=free_port(), report_lang="ru")
    config = bi_config(settings, url)
    environment.ensure_installed(config.install_log)
    provision(config)
    server.start(config)
    try:
        yield BiStack(config, built_warehouse, people)
    finally:
        server.stop(config)
        for login in people.values():
            remove_user(url, login.username)
