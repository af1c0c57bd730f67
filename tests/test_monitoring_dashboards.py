"""The Grafana files: valid, generated from monitoring/dashboards.py, and every query answerable.

PromQL must name only metrics the exporter serves. SQL panels run against the reporting views
of a small warehouse with Grafana's macros and template variables expanded the way Grafana's
PostgreSQL data source expands them, and must return rows — with "All" and with a subset.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest
import yaml

from monitoring import dashboards as dash
from monitoring.catalog import LIVE_METRICS, metrics
from tests import monitoring_support as support

GRAFANA_DIR = Path(dash.__file__).resolve().parent / "grafana"
# `pantao metrics` serves metrics(), `pantao ingest pbx --follow` the live board's LIVE_METRICS
SERVED_SERIES = {spec.series_name for spec in (*metrics(), *LIVE_METRICS)} | {"up"}
TIME_FROM = datetime(2026, 11, 1, tzinfo=support.TZ)
TIME_TO = datetime(2026, 11, 4, tzinfo=support.TZ)


def shipped() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted((GRAFANA_DIR / "dashboards").glob("*.json"))}


def targets(model: dict, datasource_type: str) -> list[tuple[str, dict]]:
    return [(panel["title"], target) for panel in model["panels"] for target in panel["targets"]
            if target["datasource"]["type"] == datasource_type]


# --- a small Grafana macro expander (PostgreSQL data source semantics) ----------------------

def _macro_args(sql: str, start: int) -> tuple[list[str], int]:
    """Arguments of a macro call whose '(' is at `start`, split on top-level commas."""
    depth, args, current, i = 0, [], "", start
    while True:
        ch = sql[i]
        if ch == "(":
            depth += 1
            if depth > 1:
                current += ch
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append(current.strip())
                return [a for a in args if a], i + 1
            current += ch
        elif ch == "," and depth == 1:
            args.append(current.strip())
            current = ""
        else:
            current += ch
        i += 1


def _interval_seconds(text: str) -> int:
    value, unit = int(text.strip("'\" ")[:-1]), text.strip("'\" ")[-1]
    return value * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def expand(sql: str, variables: dict[str, list[str] | str], time_from: datetime, time_to: datetime) -> str:
    """Grafana's expansion: multi-value variables (a list) become a quoted, comma-separated list;
    single-value ones (a str, e.g. constants) are inserted as they are."""
    start, end = (f"'{t.astimezone().isoformat()}'" for t in (time_from, time_to))
    out, i = "", 0
    for match in re.finditer(r"\$__(\w+)\(", sql):
        if match.start() < i:
            continue
        name = match.group(1)
        args, after = _macro_args(sql, match.end() - 1)
        if name == "timeFilter":
            replacement = f"{args[0]} BETWEEN {start} AND {end}"
        elif name == "timeFrom":
            replacement = start
        elif name == "timeTo":
            replacement = end
        elif name in ("timeGroup", "timeGroupAlias"):
            seconds = _interval_seconds(args[1])
            replacement = f"floor(extract(epoch from {args[0]})/{seconds})*{seconds}"
            if name == "timeGroupAlias":
                replacement += ' AS "time"'
        else:
            raise AssertionError(f"the expander does not know ${name}; add it if Grafana does")
        out += sql[i:match.start()] + replacement
        i = after
    out += sql[i:]
    for name, values in sorted(variables.items(), key=lambda kv: -len(kv[0])):
        if isinstance(values, str):
            text = values
        else:
            text = ",".join("'" + v.replace("'", "''") + "'" for v in values)
        out = out.replace(f"${{{name}}}", text).replace(f"${name}", text)
    assert "$" not in out, f"unexpanded variable left in: {out}"
    return out


@pytest.fixture(scope="module")
def small_reporting_db(new_database, tmp_path_factory):
    """The small warehouse in a database of its own, and the DSN of a crm_analyst login —
    the role Grafana's data source uses — so the panels run through the views' row filters."""
    from access.users import add_user, remove_user
    from pantao.settings import Settings

    login, password = f"grafana_{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    with new_database("t_dash") as url:
        support.build_small_warehouse(Settings(data_dir=tmp_path_factory.mktemp("dash")), url, None)
        add_user(url, login, "crm_analyst", password=password)
        analyst = urlunparse(urlparse(url)._replace(netloc=f"{login}:{password}@{urlparse(url).hostname}:"
                                                            f"{urlparse(url).port}"))
        yield analyst
        remove_user(url, login)


def variable_values(conn: psycopg.Connection, model: dict) -> dict[str, list[str] | str]:
    """What Grafana offers for each variable: query results ("All"), or the constant's value."""
    values: dict[str, list[str] | str] = {}
    for variable in model["templating"]["list"]:
        if variable["type"] == "constant":
            values[variable["name"]] = variable["query"]
        else:
            rows = conn.execute(variable["query"]).fetchall()
            values[variable["name"]] = [str(row[0]) for row in rows]
    return values


# --- tests --------------------------------------------------------------------------------------

def test_dashboard_files_are_generated_from_the_definitions():
    expected = dash.dashboards()
    assert set(shipped()) == set(expected)
    for name, model in expected.items():
        on_disk = (GRAFANA_DIR / "dashboards" / name).read_text(encoding="utf-8")
        assert on_disk == dash.render(name, model), f"{name} is stale: run `python -m monitoring.dashboards`"


def _tz_constant(model: dict) -> str:
    return next(v["query"] for v in model["templating"]["list"] if v["name"] == "tz")


def test_committed_dashboards_use_the_default_business_timezone():
    assert {_tz_constant(model) for name, model in shipped().items() if model["templating"]["list"]} == {
        dash.DEFAULT_TIMEZONE}


def test_generation_takes_the_timezone_from_business_timezone(tmp_path):
    env = {**os.environ, "BUSINESS_TIMEZONE": "Asia/Novosibirsk", "PANTAO_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run([sys.executable, "-m", "monitoring.dashboards", "--output-dir", str(tmp_path / "out")],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    written = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in (tmp_path / "out").glob("*.json")}
    assert set(written) == set(shipped())
    for name in ("orders.json", "contact-centre.json"):
        assert _tz_constant(written[name]) == "Asia/Novosibirsk"
        assert written[name]["templating"]["list"][-1]["current"]["value"] == "Asia/Novosibirsk"


def test_the_wallboard_speaks_report_lang(tmp_path):
    assert shipped()["wallboard.json"]["title"] == "pantao · табло контакт-центра"
    env = {**os.environ, "REPORT_LANG": "en", "PANTAO_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run([sys.executable, "-m", "monitoring.dashboards", "--output-dir", str(tmp_path / "out")],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    english = json.loads((tmp_path / "out" / "wallboard.json").read_text(encoding="utf-8"))
    assert english["title"] == "pantao · contact-centre wallboard"
    assert [p["title"] for p in english["panels"]][:3] == ["Callers waiting", "Longest wait now", "Operators"]
    legends = {t["legendFormat"] for p in english["panels"] for t in p["targets"]}
    assert {"logged in", "on a call", "paused", "available"} <= legends
    assert english["refresh"] == "5s" and english["panels"] and all(
        t["datasource"]["type"] == "prometheus" for p in english["panels"] for t in p["targets"])


def test_dashboards_are_valid_and_unique():
    models = shipped()
    assert len({m["uid"] for m in models.values()}) == len(models)
    for name, model in models.items():
        ids = [panel["id"] for panel in model["panels"]]
        assert len(ids) == len(set(ids)), name
        for panel in model["panels"]:
            assert panel["targets"], f"{name}: panel {panel['title']!r} has no query"
            assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


def test_every_promql_expression_names_a_served_metric():
    checked = 0
    for name, model in shipped().items():
        for title, target in targets(model, "prometheus"):
            expr = target["expr"]
            names = set(re.findall(r"\bpantao_[a-z0-9_]+\b", expr)) | ({"up"} if re.search(r"\bup\{", expr) else set())
            assert names, f"{name} / {title}: {expr!r} names no pantao metric"
            unknown = names - SERVED_SERIES
            assert not unknown, f"{name} / {title}: {sorted(unknown)} are not served by the exporter"
            checked += 1
    assert checked >= 10


def test_sql_panels_read_only_reporting_views():
    for name, model in shipped().items():
        queries = [target["rawSql"] for _, target in targets(model, "postgres")]
        queries += [v["query"] for v in model["templating"]["list"] if v["type"] == "query"]
        for query in queries:
            # `extract(hour from o.created_at)` is not a relation: table aliases here are 1-2 letters
            relations = {r for r in re.findall(r"\b(?:from|join)\s+([a-z_]+\.[a-z_]+)", query)
                         if len(r.split(".")[0]) > 2}
            assert relations, f"{name}: no relation in {query!r}"
            assert {r.split(".")[0] for r in relations} == {"reporting"}, f"{name}: {sorted(relations)}"


@pytest.mark.parametrize("dashboard_file", ["orders.json", "contact-centre.json"])
@pytest.mark.parametrize("selection", ["all", "subset"])
def test_every_sql_panel_returns_rows(small_reporting_db, dashboard_file, selection):
    model = shipped()[dashboard_file]
    with psycopg.connect(small_reporting_db, autocommit=True) as conn:
        options = variable_values(conn, model)
        for name, values in options.items():
            assert values, f"variable {name} offers nothing"
        if selection == "subset":  # one restaurant, two segments, two channels
            options = {"restaurant": options["restaurant"][:1], "segment": ["regular", "loyal"],
                       "channel": ["phone", "app"], "tz": options["tz"]}
        sql_targets = targets(model, "postgres")
        assert sql_targets
        for title, target in sql_targets:
            query = expand(target["rawSql"], options, TIME_FROM, TIME_TO)
            rows = conn.execute(query).fetchall()
            assert rows, f"{dashboard_file} / {title} returned no rows:\n{query}"
            if target["format"] == "time_series":
                assert conn.execute(query).description[0].name == "time", title


def test_expander_quotes_multi_values_and_expands_time_macros():
    sql = "select $__timeGroupAlias(t.at, '1h'), x from t where $__timeFilter(t.at) and r in ($restaurant)"
    out = expand(sql, {"restaurant": ["1", "O'Hara"]}, TIME_FROM, TIME_TO)
    assert "floor(extract(epoch from t.at)/3600)*3600 AS \"time\"" in out
    assert "t.at BETWEEN '2026-" in out
    assert "r in ('1','O''Hara')" in out


def test_provisioning_files_point_at_the_dashboards_datasources():
    datasources = yaml.safe_load((GRAFANA_DIR / "provisioning/datasources/pantao.yml").read_text(encoding="utf-8"))
    provided = {(d["type"], d["uid"]) for d in datasources["datasources"]}
    used = {(t["datasource"]["type"], t["datasource"]["uid"]) for model in shipped().values()
            for panel in model["panels"] for t in panel["targets"]}
    assert used <= provided
    for source in datasources["datasources"]:  # no credentials in the repository
        text = json.dumps(source)
        assert "password" not in text.lower() or "${PANTAO_GRAFANA_PG_PASSWORD}" in text
    providers = yaml.safe_load((GRAFANA_DIR / "provisioning/dashboards/pantao.yml").read_text(encoding="utf-8"))
    assert providers["providers"][0]["type"] == "file"
