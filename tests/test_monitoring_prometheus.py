"""A real Prometheus (Debian package `prometheus`) scrapes the exporter and loads our rules.

These tests need /usr/bin/prometheus and /usr/bin/promtool. `make test` installs the package when
it is missing (.ci/system-packages); when pytest runs on its own without it, the tests FAIL with
that reason rather than skip, so CI cannot pass without having checked the shipped configuration.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from prometheus_client import start_http_server

from monitoring import dashboards as dash
from monitoring.exporter import collect
from pantao.stack import free_port

PROMETHEUS_DIR = Path(dash.__file__).resolve().parent / "prometheus"
RULES = PROMETHEUS_DIR / "rules" / "pantao.yml"


def binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        pytest.fail(f"{name} is not installed: run `bash .ci/system-packages test` as root (`make test` does),"
                    " which installs the Debian package `prometheus` — these checks must not be skipped")
    return path


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([binary("promtool"), *args], capture_output=True, text=True, timeout=60,
                          cwd=PROMETHEUS_DIR)


def test_promtool_accepts_the_shipped_config():
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_shipped_rules():
    result = promtool("check", "rules", "rules/pantao.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_fire_as_documented():
    result = promtool("test", "rules", "rules/pantao_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_documented_in_operations():
    operations = (PROMETHEUS_DIR.parent.parent / "docs" / "operations.md").read_text(encoding="utf-8")
    alerts = [rule["alert"] for group in yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
              for rule in group["rules"]]
    assert alerts
    missing = [alert for alert in alerts if f"`{alert}`" not in operations]
    assert not missing, f"docs/operations.md does not explain {missing}"


def _query(port: int, expr: str) -> dict:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _wait_for(port: int, expr: str, seconds: float = 60) -> list[dict]:
    deadline = time.monotonic() + seconds
    last: object = None
    while time.monotonic() < deadline:
        try:
            answer = _query(port, expr)
            if answer["status"] == "success" and answer["data"]["result"]:
                return answer["data"]["result"]
            last = answer
        except OSError as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"Prometheus never returned {expr!r}; last answer: {last}")


@pytest.fixture
def prometheus_scraping_exporter(small_warehouse, kafka_bootstrap, tmp_path):
    settings, url, truth = small_warehouse(with_kafka=True)
    registry = collect(settings, url, kafka_bootstrap, dbt_target_dir=tmp_path / "target")
    exporter_port = free_port()
    server, thread = start_http_server(exporter_port, addr="127.0.0.1", registry=registry)

    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(RULES)]
    job = config["scrape_configs"][0]
    job["scrape_timeout"] = "1s"
    job["static_configs"][0]["targets"] = [f"127.0.0.1:{exporter_port}"]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    prom_port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [binary("prometheus"), f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        yield prom_port, settings, truth
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        server.shutdown()
        thread.join(timeout=5)


def test_prometheus_scrapes_lag_and_landed_series(prometheus_scraping_exporter):
    port, settings, truth = prometheus_scraping_exporter
    lag = _wait_for(port, f'pantao_landing_lag_messages{{topic="{settings.topic_orders}"}}')
    by_partition = {int(r["metric"]["partition"]): float(r["value"][1]) for r in lag}
    assert by_partition == {p: truth.lag[(settings.topic_orders, p)] for p in (0, 1)}
    assert {r["metric"]["job"] for r in lag} == {"pantao"}

    landed = _wait_for(port, "pantao_records_landed_total")
    assert {r["metric"]["source"]: float(r["value"][1]) for r in landed} == truth.landed
    assert float(_wait_for(port, 'up{job="pantao"}')[0]["value"][1]) == 1


def test_prometheus_loads_the_rules_and_answers_every_dashboard_expression(prometheus_scraping_exporter):
    port, _, _ = prometheus_scraping_exporter
    _wait_for(port, "pantao_up")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/rules", timeout=5) as response:
        groups = json.loads(response.read())["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) == sum(len(g["rules"]) for g in yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"])
    for model in dash.dashboards().values():
        for panel in model["panels"]:
            for target in panel["targets"]:
                if target["datasource"]["type"] == "prometheus":
                    answer = _query(port, target["expr"])
                    assert answer["status"] == "success", (panel["title"], target["expr"], answer)
