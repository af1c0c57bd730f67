"""API mode against the stand-in FreePBX API server (real HTTP): paging, windows, tokens, failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import psycopg
import pytest

from ingestion.pbx import land_pbx
from ingestion.pbx.api import FreePbxApi, FreePbxApiError
from tests import pbx_samples
from tests.freepbx_standin import FreePbxStandin


def _day_cdrs(day: str, n: int) -> list[dict]:
    base = pbx_samples.cdrs()[0]
    return [dict(base, calldate=f"{day} 10:{i // 60:02d}:{i % 60:02d}", uniqueid=f"{day}.{i}", linkedid=f"{day}.{i}")
            for i in range(n)]


@pytest.fixture
def standin() -> Iterator[FreePbxStandin]:
    cdrs = pbx_samples.cdrs() + _day_cdrs("2026-10-31", 7) + _day_cdrs("2026-11-02", 5)
    with FreePbxStandin(cdrs, pbx_samples.EXTENSIONS) as api:
        yield api


def _client(api: FreePbxStandin, **kw) -> FreePbxApi:
    kw.setdefault("timeout", 2.0)
    kw.setdefault("backoff_seconds", 0.05)
    return FreePbxApi(api.url, api.client_id, api.client_secret, **kw)


def test_cdr_pages_follow_the_offset_until_total_count(standin: FreePbxStandin) -> None:
    pages = list(_client(standin).cdr_pages(date(2026, 10, 1), date(2026, 11, 30), page_size=5))
    assert [len(p) for p in pages] == [5, 5, 5, 1]
    assert [after for after, _ in standin.pages_served] == [0, 5, 10, 15]
    assert len({c["uniqueid"] for p in pages for c in p}) == 16


def test_date_window_fetches_only_those_days(standin: FreePbxStandin) -> None:
    pages = list(_client(standin).cdr_pages(date(2026, 11, 1), date(2026, 11, 1)))
    assert {c["calldate"][:10] for p in pages for c in p} == {"2026-11-01"}
    assert standin.windows_asked == [("2026-11-01", "2026-11-01")]


def test_expired_token_is_refreshed_before_use(standin: FreePbxStandin) -> None:
    standin.token_lifetime = 0.5  # shorter than the client's refresh margin: every call refreshes
    client = _client(standin, timeout=1.0)
    for _ in range(3):
        client.extensions()
    assert standin.tokens_issued == 3


def test_token_rejected_by_the_server_is_replaced_once(standin: FreePbxStandin) -> None:
    client = _client(standin)
    client.extensions()
    standin._tokens.clear()  # the PBX forgot its tokens (restart): next call gets a 401
    assert [e for e, _ in client.extensions()] == ["101", "102", "103"]
    assert standin.tokens_issued == 2


def test_bad_credentials_fail_clearly_naming_the_client_id_not_the_secret(standin: FreePbxStandin) -> None:
    client = FreePbxApi(standin.url, "pantao", "wrong-secret-value", timeout=2.0)
    with pytest.raises(FreePbxApiError, match=r"refused client id 'pantao' \(HTTP 401\)") as err:
        client.extensions()
    assert "wrong-secret-value" not in str(err.value)


def test_server_errors_are_retried_then_succeed(standin: FreePbxStandin) -> None:
    standin.script = ["500", "500"]
    pages = list(_client(standin).cdr_pages(date(2026, 11, 1), date(2026, 11, 1)))
    assert sum(len(p) for p in pages) == 4
    assert standin.gql_requests == 3


def test_slow_answer_times_out_and_is_retried(standin: FreePbxStandin) -> None:
    standin.script = ["slow"]
    standin.slow_seconds = 1.5
    client = _client(standin, timeout=0.5)
    assert len(client.extensions()) == 3
    assert standin.gql_requests == 2


def test_persistent_failure_gives_up_after_bounded_retries(standin: FreePbxStandin) -> None:
    standin.script = ["500"] * 10
    with pytest.raises(FreePbxApiError, match=r"failed 3 times, last: HTTP 500"):
        _client(standin, retries=3).extensions()
    assert standin.gql_requests == 3


def test_api_mode_lands_cdrs_extensions_and_queue_log_from_the_file(
        standin, make_settings, fresh_database_url, tmp_path) -> None:
    files = pbx_samples.write_files(tmp_path / "pbx")
    standin.blank_disposition = True  # FreePBX's resolver bug: kept as given, nothing relies on it
    settings = make_settings(pbx_source="api", freepbx_api_url=standin.url, freepbx_client_id=standin.client_id,
                             freepbx_client_secret=standin.client_secret, pbx_queue_log=files["queue_log"])
    result = land_pbx(settings, fresh_database_url, since=date(2026, 11, 1), until=date(2026, 11, 2))
    assert (result.counts("cdr").landed, result.counts("extensions").landed,
            result.counts("queue_log").landed) == (4, 3, 15)
    with psycopg.connect(fresh_database_url) as conn:
        sources = conn.execute("select (select array_agg(distinct source) from raw.pbx_cdr),"
                               " (select array_agg(distinct source) from raw.pbx_queue_log),"
                               " (select array_agg(distinct disposition) from raw.pbx_cdr)").fetchone()
    assert sources == (["api"], ["file"], [""])


def test_api_incremental_run_continues_from_the_watermark(standin, make_settings, fresh_database_url) -> None:
    settings = make_settings(freepbx_api_url=standin.url, freepbx_client_id=standin.client_id,
                             freepbx_client_secret=standin.client_secret)
    first = land_pbx(settings, fresh_database_url, source="api")
    assert first.counts("cdr").landed == 16
    standin.windows_asked.clear()
    second = land_pbx(settings, fresh_database_url, source="api")
    assert second.counts("cdr").landed == 0
    assert standin.windows_asked[0][0] == "2026-11-02"  # from the last calldate minus the overlap
