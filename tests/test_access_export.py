"""`pantao export` and the daily extracts: row filters of the login, argument filters, safety, memory."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlparse, urlunparse

import psycopg
import pytest
import yaml
from click.testing import CliRunner

from access.catalog import view_by_name, view_names
from access.cli import export_command
from access.export import describe_login, export_daily_extracts, export_view, validate_request
from access.users import AccessError
from pantao.domain import SEGMENTS
from pantao.settings import Settings
from tests.conftest import PANTAO_CLI
from tests.private_files import exposed
from tests.test_access_helpers import (
    CUSTOMER_NAMES,
    RAW_PHONES,
    build_mini_warehouse,
    fetch,
    login_dsn,
    mini_warehouse,
    unique_name,
)

REPO = Path(__file__).resolve().parent.parent
VIEW_NAMES = view_names()


LOGINS = {
    "operator_101": ("crm_operator", {"operator_extension": "101"}),
    "manager_r2": ("crm_manager", {"restaurant_ids": [2]}),
    "analyst": ("crm_analyst", {}),
}


@pytest.fixture(scope="module")
def warehouse(new_database, tmp_path_factory) -> Iterator[tuple[str, dict]]:
    with mini_warehouse(new_database, tmp_path_factory.mktemp("export"), LOGINS) as built:
        yield built


def _run_export(url: str, args: list[str], password: str | None = None):
    env = {"DATABASE_URL": url}
    return CliRunner(env=env).invoke(export_command, args, input=(password + "\n") if password else None)


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_as_an_operator_contains_only_their_calls(warehouse):
    url, logins = warehouse
    op = logins["operator_101"]
    result = _run_export(url, ["calls", "--from", "2026-11-01", "--to", "2026-11-30",
                               "--as-user", op.username, "--password-stdin"], op.password)
    assert result.exit_code == 0, result.output
    assert [r["linkedid"] for r in _csv(result.stdout)] == ["L1", "L4"]


def _export_to_file_as_scoped_manager(warehouse, view: str, out: Path):
    """`pantao export <view>` of 1-2 November into `out`, as the manager of restaurant 2."""
    url, logins = warehouse
    mgr = logins["manager_r2"]
    result = _run_export(url, [view, "--from", "2026-11-01", "--to", "2026-11-02", "--as-user", mgr.username,
                               "--password-stdin", "-o", str(out)], mgr.password)
    assert result.exit_code == 0, result.output
    return result


def test_export_as_a_scoped_manager_contains_only_their_restaurants(warehouse, tmp_path):
    result = _export_to_file_as_scoped_manager(warehouse, "orders", tmp_path / "orders.csv")
    assert [r["order_id"] for r in _csv((tmp_path / "orders.csv").read_text(encoding="utf-8"))] == ["ORD-2", "ORD-5"]
    assert "2 rows" in result.stderr


def test_export_has_a_header_row_and_is_utf8(warehouse, tmp_path):
    out = tmp_path / "customers.csv"
    _export_to_file_as_scoped_manager(warehouse, "customers", out)
    text = out.read_bytes().decode("utf-8")
    assert text.splitlines()[0].startswith("customer_key,customer_phone_masked,customer_name,segment,")
    assert {r["customer_name"] for r in _csv(text)} == {"Мария Сидорова", "Нина Орлова"}


def test_an_analysts_export_has_no_phone_numbers_or_names(warehouse):
    url, logins = warehouse
    ana = logins["analyst"]
    for view in ("customers", "orders", "calls", "operator_daily"):
        result = _run_export(url, [view, "--from", "2026-11-01", "--to", "2026-11-02", "--as-user", ana.username,
                                   "--password-stdin"], ana.password)
        assert result.exit_code == 0, result.output
        assert len(_csv(result.stdout)) > 0
        for secret in (*RAW_PHONES, *CUSTOMER_NAMES, "Анна Петрова"):
            assert secret not in result.stdout


@pytest.mark.parametrize(
    ("view", "filters", "expected"),
    [
        ("orders", {"channel": "phone"}, ["ORD-1", "ORD-3"]),
        ("orders", {"restaurant": "2"}, ["ORD-2", "ORD-5"]),
        ("orders", {"segment": "loyal"}, ["ORD-1", "ORD-3"]),
        ("orders", {"date_from": "2026-11-02"}, ["ORD-3", "ORD-4", "ORD-5", "ORD-6"]),
        ("orders", {"date_to": "2026-11-01", "channel": "app"}, ["ORD-2"]),
        ("calls", {"segment": "lapsed"}, ["L4"]),
        ("customers", {"segment": "new"}, ["*** ***-**-02", "*** ***-**-04"]),
        ("customers", {"date_from": "2026-11-02", "restaurant": "1"}, ["*** ***-**-01"]),
        ("daily_kpis", {"restaurant": "3"}, ["2026-11-01", "2026-11-02"]),
    ],
)
def test_export_filters_by_period_segment_restaurant_and_channel(warehouse, view, filters, expected):
    url, _ = warehouse
    key = {"orders": "order_id", "calls": "linkedid", "customers": "customer_phone_masked",
           "daily_kpis": "business_date"}[view]
    args = {"date_from": "2026-11-01", "date_to": "2026-11-02", **filters}
    request = validate_request(view, args.pop("date_from"), args.pop("date_to"), **args)
    out = io.BytesIO()
    result = export_view(url, request, out)
    rows = _csv(out.getvalue().decode("utf-8"))
    assert sorted(r[key] for r in rows) == expected
    assert result.rows == len(expected)


INJECTIONS = [
    ({"view": "orders; drop table marts.orders"}, "unknown view"),
    ({"view": "orders where 1=1 --"}, "unknown view"),
    ({"date_from": "2026-11-01' or '1'='1"}, "--from .* is not a date"),
    ({"date_to": "2026-11-02); drop table marts.orders; --"}, "--to .* is not a date"),
    ({"date_from": "2026-02-30"}, "not a valid calendar date"),
    ({"segment": "loyal' or 1=1 --"}, "--segment .* is not a segment: use one of"),
    ({"segment": "LOYAL"}, "--segment .* is not a segment: use one of"),
    ({"restaurant": "1 or 1=1"}, "--restaurant .* is not a restaurant id"),
    ({"restaurant": "-1"}, "--restaurant .* is not a restaurant id"),
    ({"channel": "phone' union select * from access.install_secret --"}, "--channel .* is not a channel"),
]


@pytest.mark.parametrize(("override", "message"), INJECTIONS)
def test_injection_attempts_in_every_argument_are_refused_with_the_reason(override, message):
    args = {"view": "orders", "date_from": "2026-11-01", "date_to": "2026-11-02", **override}
    with pytest.raises(AccessError, match=message):
        validate_request(args.pop("view"), args.pop("date_from"), args.pop("date_to"), **args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["orders; drop table x", "--from", "2026-11-01", "--to", "2026-11-02"], "is not one of 'customers', 'orders'"),
        (["orders", "--from", "2026-11-01'--", "--to", "2026-11-02"], "is not a date"),
        (["orders", "--from", "2026-11-01", "--to", "2026-11-02", "--channel", "x' or '1"], "is not a channel"),
        (["orders", "--from", "2026-11-01", "--to", "2026-11-02", "--as-user", "x\"; drop role postgres; --",
          "--password-stdin"], "invalid user name"),
        (["calls", "--from", "2026-11-01", "--to", "2026-11-02", "--channel", "phone"], "does not apply to calls"),
        (["orders", "--from", "2026-11-03", "--to", "2026-11-02"], "is after --to"),
        (["orders", "--from", "2026-11-01", "--to", "2026-11-02", "--as-user", "someone"], "needs --password-stdin"),
    ],
)
def test_the_cli_refuses_bad_arguments_before_touching_the_database(warehouse, args, message):
    url, _ = warehouse
    result = _run_export(url, args, "irrelevant-password")
    assert result.exit_code == (2 if "is not one of" in message or "needs" in message else 1)
    assert message in result.output
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from marts.orders").fetchone() == (6,)


def test_export_with_a_wrong_password_says_it_cannot_log_in(warehouse):
    url, logins = warehouse
    result = _run_export(url, ["orders", "--from", "2026-11-01", "--to", "2026-11-02", "--as-user",
                               logins["analyst"].username, "--password-stdin"], "not-the-password")
    assert result.exit_code == 1
    assert "cannot log in to export" in result.output and "password authentication failed" in result.output


def _url_as(url: str, login) -> str:
    """DATABASE_URL for the same server and database, logged in as `login` (URL form, as settings expect)."""
    parsed = urlparse(url)
    netloc = f"{login.username}:{quote(login.password, safe='')}@{parsed.hostname}:{parsed.port}"
    return urlunparse(parsed._replace(netloc=netloc))


def test_export_without_as_user_says_it_runs_as_the_superuser_login_with_every_row(warehouse):
    url, _ = warehouse
    result = _run_export(url, ["orders", "--from", "2026-11-01", "--to", "2026-11-02"])
    assert result.exit_code == 0, result.output
    assert "note: no --as-user, so this export runs as login 'postgres' (a superuser" in result.stderr
    assert "--as-user NAME --password-stdin" in result.stderr
    assert len(_csv(result.stdout)) == 6
    assert "note:" not in result.stdout


def test_export_without_as_user_names_the_role_of_database_urls_login_and_applies_its_filters(warehouse):
    url, logins = warehouse
    mgr = logins["manager_r2"]
    result = _run_export(_url_as(url, mgr), ["orders", "--from", "2026-11-01", "--to", "2026-11-02"])
    assert result.exit_code == 0, result.output
    assert f"runs as login '{mgr.username}' (role crm_manager: that role's row filters apply)" in result.stderr
    assert [r["order_id"] for r in _csv(result.stdout)] == ["ORD-2", "ORD-5"]


def test_export_as_user_prints_no_note(warehouse):
    url, logins = warehouse
    ana = logins["analyst"]
    result = _run_export(url, ["orders", "--from", "2026-11-01", "--to", "2026-11-02", "--as-user", ana.username,
                               "--password-stdin"], ana.password)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_describe_login_of_a_login_in_no_group_says_the_views_refuse_it(warehouse):
    url, _ = warehouse
    name = unique_name("nogroup")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"create role {name} login password 'no-group-password-1'")
    try:
        info = describe_login(login_dsn(url, name, "no-group-password-1"))
        assert (info.username, info.is_superuser, info.groups) == (name, False, ())
        assert "in none of crm_admin, crm_manager, crm_analyst, crm_operator" in info.describe()
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"drop role {name}")


def _sortable(value: str) -> tuple:
    """A CSV cell as PostgreSQL orders it here: numbers as numbers, text and ISO dates as text, nulls last."""
    return (value == "", int(value) if value.isdigit() else 0, value)


@pytest.mark.parametrize("view", VIEW_NAMES)
def test_an_export_is_sorted_by_the_views_natural_key(warehouse, view):
    url, _ = warehouse
    spec = view_by_name(view)
    [(rows_count, keys_count)] = fetch(
        url, f"select count(*), count(distinct ({', '.join(spec.order_by)}, true)) from reporting.{view}")
    assert rows_count == keys_count > 1, f"{view}: {spec.order_by} does not identify a row"
    out = io.BytesIO()
    export_view(url, validate_request(view, "2026-11-01", "2026-11-02"), out)
    keys = [tuple(_sortable(r[c]) for c in spec.order_by) for r in _csv(out.getvalue().decode("utf-8"))]
    assert len(keys) == rows_count and keys == sorted(keys)


def test_daily_extracts_write_one_file_per_dated_view_with_that_days_rows(warehouse, tmp_path):
    url, _ = warehouse
    paths = export_daily_extracts(Settings(data_dir=tmp_path), url, "2026-11-02", tmp_path / "extracts")
    assert [p.name for p in paths] == ["orders.csv", "calls.csv", "operator_daily.csv", "daily_kpis.csv",
                                       "hourly_kpis.csv", "my_interactions.csv", "missed_call_recovery.csv",
                                       "staffing_advice.csv"]
    assert all(p.parent == tmp_path / "extracts" / "2026-11-02" for p in paths)
    by_name = {p.stem: _csv(p.read_text(encoding="utf-8")) for p in paths}
    assert [r["order_id"] for r in by_name["orders"]] == ["ORD-3", "ORD-4", "ORD-5", "ORD-6"]
    assert [r["linkedid"] for r in by_name["calls"]] == ["L3", "L4"]
    assert len(by_name["daily_kpis"]) == 4 and len(by_name["hourly_kpis"]) == 1
    assert [r["caller_phone_masked"] for r in by_name["missed_call_recovery"]] == ["*** ***-**-02"]
    assert [(r["advised_date"], r["hour"]) for r in by_name["staffing_advice"]] == [("2026-11-03", "12")]
    assert {r["business_date"] for rows in by_name.values() for r in rows} == {"2026-11-02"}
    assert not list((tmp_path / "extracts").rglob("*.partial"))
    assert exposed(tmp_path / "extracts") == []  # 0600 files, 0700 folders, whatever this process's umask


def test_an_extract_that_existed_readable_by_others_is_narrowed_when_rewritten(warehouse, tmp_path):
    url, _ = warehouse
    old = tmp_path / "extracts" / "2026-11-01" / "orders.csv"
    old.parent.mkdir(parents=True, mode=0o755)
    old.write_text("stale")
    old.chmod(0o644)
    export_daily_extracts(Settings(data_dir=tmp_path), url, "2026-11-01", tmp_path / "extracts", views=["orders"])
    assert old.stat().st_mode & 0o077 == 0 and old.read_text(encoding="utf-8").startswith("order_id")


# --- the Excel variant -----------------------------------------------------------------------

def _excel(raw: bytes, separator: str = ";") -> list[dict[str, str]]:
    assert raw.startswith(b"\xef\xbb\xbf"), "no UTF-8 byte-order mark: Excel would read the file as ANSI"
    return list(csv.DictReader(io.StringIO(raw[3:].decode("utf-8")), delimiter=separator))


def test_excel_export_is_what_russian_excel_opens_as_is(warehouse, tmp_path):
    url, _ = warehouse
    out = tmp_path / "calls.csv"
    result = _run_export(url, ["calls", "--from", "2026-11-01", "--to", "2026-11-02", "--excel", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = _excel(out.read_bytes())
    first = rows[0]  # L1, counted by hand from tests/test_access_helpers.py's rows
    assert first["linkedid"] == "L1" and first["business_date"] == "01.11.2026"
    assert first["entered_at (Europe/Moscow)"] == "01.11.2026 09:55:00"  # local time, the zone in the header
    assert (first["is_short_abandon"], first["led_to_order"], first["is_called_back"]) == ("нет", "да", "")
    assert first["wait_seconds"] == "12" and first["talk_seconds"] == "180"
    assert [r["caller_phone_masked"] for r in rows][:2] == ["*** ***-**-01", "*** ***-**-99"]


def test_excel_numbers_have_a_decimal_comma_money_two_places_seconds_none(warehouse, tmp_path):
    url, _ = warehouse
    daily = tmp_path / "daily.csv"
    assert _run_export(url, ["daily_kpis", "--from", "2026-11-01", "--to", "2026-11-01", "--excel",
                             "-o", str(daily)]).exit_code == 0
    chain = [r for r in _excel(daily.read_bytes()) if r["scope"] == "chain"][0]
    assert chain["revenue_amount"] == "1300,00" and chain["orders_count"] == "2"
    ops = tmp_path / "ops.csv"
    assert _run_export(url, ["operator_daily", "--from", "2026-11-01", "--to", "2026-11-01", "--excel",
                             "-o", str(ops)]).exit_code == 0
    anna = [r for r in _excel(ops.read_bytes()) if r["operator_extension"] == "101"][0]
    assert (anna["occupancy"], anna["rating_mean"], anna["avg_talk_seconds"], anna["avg_pickup_seconds"]) == (
        "0,0500", "5,0000", "180", "4")
    assert anna["missed_ring_rate"] == "0,0000"


def test_excel_export_in_english_keeps_commas_and_dots(warehouse, tmp_path):
    url, _ = warehouse
    out = tmp_path / "calls.csv"
    env = {"DATABASE_URL": url, "REPORT_LANG": "en", "BUSINESS_TIMEZONE": "Asia/Vladivostok"}
    result = CliRunner(env=env).invoke(export_command, ["calls", "--from", "2026-11-01", "--to", "2026-11-01",
                                                        "--excel", "-o", str(out)])
    assert result.exit_code == 0, result.output
    first = _excel(out.read_bytes(), ",")[0]
    assert first["entered_at (Asia/Vladivostok)"] == "2026-11-01 16:55:00"  # 09:55 Moscow is 16:55 there
    assert (first["is_short_abandon"], first["business_date"]) == ("no", "2026-11-01")


def test_the_daily_extracts_excel_variant_sits_beside_the_plain_files(warehouse, tmp_path):
    url, _ = warehouse
    paths = export_daily_extracts(Settings(data_dir=tmp_path), url, "2026-11-02", tmp_path / "extracts", excel=True)
    assert {p.parent for p in paths} == {tmp_path / "extracts" / "2026-11-02" / "excel"}
    interactions = _excel((tmp_path / "extracts" / "2026-11-02" / "excel" / "my_interactions.csv").read_bytes())
    assert [(r["linkedid"], r["rating_score"], r["call_result"]) for r in interactions] == [
        ("L3", "", "order_placed"), ("L4", "4", "answered")]


# --- memory ---------------------------------------------------------------------------------

# Generated inside the server (generate_series): nothing crosses the wire but the statement.
# Unlogged (and, like the mini marts, without indexes): the test measures the export, not the load;
# this fills 1M rows about three times faster and drops them without a checkpoint's worth of writes.
# The orders' keys are given, 24 hex digits of md5 as wide as the real ones: the mini marts' key
# trigger does not survive the reporting layer's write-audit-publish build, which copies the tables.
MILLION_ORDERS = """
alter table marts.orders set unlogged;
alter table marts.customers set unlogged;
insert into marts.customers (customer_phone, customer_name, segment)
select '+7926' || lpad(g::text, 7, '0'), 'Клиент ' || g, (array['new', 'loyal', 'lapsed'])[1 + g % 3]
from generate_series(1, 20000) g;
insert into marts.orders (order_id, created_at, business_date, status, restaurant_id, channel, customer_phone,
    subtotal_amount, discount_amount, total_amount, is_first_order, call_linkedid, operator_extension, customer_key)
select 'BIG-' || g, timestamptz '2026-12-01 10:00+03' + (g % 10) * interval '1 day' + (g % 36000) * interval '1 second',
       date '2026-12-01' + (g % 10), 'completed', 1 + g % 5,
       (array['phone', 'app', 'web', 'kiosk', 'delivery_partner'])[1 + g % 5],
       '+7926' || lpad((1 + g % 20000)::text, 7, '0'), 500, 0, 500, false, null, null,
       left(md5(lpad((1 + g % 20000)::text, 7, '0')), 24)
from generate_series(1, 1000000) g;
analyze marts.orders, marts.customers;
"""


def test_the_segments_export_accepts_are_the_ones_the_customers_mart_assigns():
    """--segment is checked against pantao.domain.SEGMENTS: it must be exactly dbt's accepted_values."""
    models = yaml.safe_load((REPO / "dbt_project/models/marts/core/customers.yml").read_text(encoding="utf-8"))
    [customers] = [m for m in models["models"] if m["name"] == "customers"]
    [segment] = [c for c in customers["columns"] if c["name"] == "segment"]
    [accepted] = [t["accepted_values"] for t in segment["data_tests"] if isinstance(t, dict) and "accepted_values" in t]
    assert set(accepted.get("arguments", accepted)["values"]) == set(SEGMENTS)


def _peak_rss_kib_of_export(url: str, date_from: str, date_to: str, out: Path, cwd: Path) -> tuple[int, int]:
    """Run the real `pantao export` in a child process; its own peak RSS (ru_maxrss, KiB) and the row count."""
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [*PANTAO_CLI, "export", "orders", "--from", date_from, "--to", date_to,
         "-o", str(out)], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, proc.stderr.read().decode()
    proc.stderr.close()
    with out.open("rb") as f:
        rows = sum(1 for _ in f) - 1
    return usage.ru_maxrss, rows


@pytest.mark.slow
def test_exporting_a_million_rows_takes_no_more_memory_than_a_hundred_thousand(fresh_database_url, tmp_path):
    build_mini_warehouse(fresh_database_url, Settings(data_dir=tmp_path))
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        conn.execute(MILLION_ORDERS)
    small_rss, small_rows = _peak_rss_kib_of_export(
        fresh_database_url, "2026-12-01", "2026-12-01", tmp_path / "small.csv", tmp_path)
    big_rss, big_rows = _peak_rss_kib_of_export(
        fresh_database_url, "2026-12-01", "2026-12-10", tmp_path / "big.csv", tmp_path)
    assert (small_rows, big_rows) == (100_000, 1_000_000)
    print(f"peak RSS: 100k rows {small_rss / 1024:.1f} MiB, 1M rows {big_rss / 1024:.1f} MiB")
    # Flat: ten times the rows may not cost more than a few MiB of noise (a buffered export would add ~100 MiB).
    assert big_rss - small_rss < 8 * 1024
    assert (tmp_path / "big.csv").stat().st_size > 60_000_000
