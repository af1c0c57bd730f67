"""Real FreePBX data as it comes, end to end: landing → dbt → marts → report, in one warehouse.

Landed into one database, each on its own days, then built once:
- the simulator under every non-default PBX profile (simulator/pbx_profiles.py), compared with
  its truth.json — the default profile is the oracle of tests/test_marts_oracle.py;
- three hand-made days in real formats (tests/pbx_variants.py), compared with figures counted
  by hand and written here as literals.
One operator who answers calls (an even extension, so every profile logs them by extension) is
left out of every directory, and extension 117 answers a hand-made call without being listed:
every mart must still build, name them as unknown, and the daily report must say so. The
simulated operators are listed by the profiles' directory and then no longer (the last directory
landed is the hand-made one): they keep their names.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from app.prepare import prepare_database
from ingestion.pbx import land_pbx
from monitoring import readers
from pantao.dbt_runner import run_dbt
from pantao.settings import Settings
from simulator import SimConfig, generate, write_outputs
from simulator.pbx_profiles import PROFILES
from tests import pbx_variants
from tests.test_marts_oracle import fetch, same

TZ = "Europe/Moscow"
# Non-default profiles and their first day: two simulated days each, a free day between them.
# freepbx-17's PBX clock (Europe/Berlin) moves to summer time on 2026-03-29, inside its days.
PROFILE_STARTS = {"asterisk-default": dt.date(2026, 3, 22), "freepbx-16": dt.date(2026, 3, 25),
                  "freepbx-17": dt.date(2026, 3, 28)}
SIM_DAYS = 2
CALL_DAILY_KPIS = ("calls_offered_count", "calls_answered_count", "calls_unanswered_count", "missed_call_rate",
                   "short_abandon_count", "asa_seconds", "service_level", "avg_talk_seconds", "occupancy",
                   "calls_per_operator_hour")
# operator_daily figures that come from the PBX alone (ratings and phone orders come from Kafka)
CALL_OPERATOR_KPIS = ("calls_handled_count", "talk_seconds_total", "avg_talk_seconds", "missed_rings_count",
                      "missed_ring_rate", "avg_pickup_seconds", "logged_in_seconds", "paused_seconds", "occupancy")


class Warehouse:
    def __init__(self, url: str, settings: Settings) -> None:
        self.url = url
        self.settings = settings
        self.sims: dict[str, Any] = {}
        self.truths: dict[str, dict] = {}
        self.landed: dict[str, Any] = {}
        self.unlisted = ""
        self.dbt_results: dict[str, str] = {}


def _settings(url: str, data_dir: Path, paths: dict[str, Path], **clock: Any) -> Settings:
    return Settings(database_url=url, data_dir=data_dir, business_timezone=TZ, pbx_source="files",
                    pbx_cdr_csv=paths["Master.csv"], pbx_queue_log=paths["queue_log"],
                    pbx_extensions_file=paths["extensions.json"], **clock)


def _unlisted_operator(sims: dict[str, Any]) -> str:
    """An even extension that answered calls under every profile (so it is logged by extension)."""
    answered = [Counter(c.extension for c in sim.calls if c.extension) for sim in sims.values()]
    common = [ext for ext in answered[0] if int(ext) % 2 == 0 and all(a[ext] for a in answered)]
    assert common, "no even extension answered calls under every profile; change the seed"
    return max(common, key=lambda ext: answered[0][ext])


@pytest.fixture(scope="module")
def warehouse(new_database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    with new_database("pbx_real") as url:
        root = tmp_path_factory.mktemp("pbx_real")
        base = Settings(database_url=url, data_dir=root / "data", business_timezone=TZ)
        prepare_database(base, url)
        wh = Warehouse(url, base)
        for profile, start in PROFILE_STARTS.items():
            config = SimConfig(days=SIM_DAYS, restaurants=2, seed=11, scale=0.25, start=start, timezone=TZ,
                               pbx_profile=profile)
            wh.sims[profile] = generate(config)
        wh.unlisted = _unlisted_operator(wh.sims)
        for profile, sim in wh.sims.items():
            out = write_outputs(sim, root / profile)
            wh.truths[profile] = json.loads(out.truth.read_text(encoding="utf-8"))
            directory = [{"extension": op.extension, "name": op.name} for op in sim.operators
                         if op.extension != wh.unlisted]
            out.extensions.write_text(json.dumps(directory, ensure_ascii=False), encoding="utf-8")
            spec = PROFILES[profile]
            settings = _settings(url, root / "data", {"Master.csv": out.master_csv, "queue_log": out.queue_log,
                                                      "extensions.json": out.extensions},
                                 pbx_timezone=spec.pbx_timezone, pbx_cdr_times=spec.cdr_times)
            wh.landed[profile] = land_pbx(settings, url)
        for inst in pbx_variants.INSTALLATIONS:  # the hand-made directory lands last: the simulated operators leave it
            paths = inst.write(root / inst.name, pbx_variants.EXTENSIONS)
            settings = _settings(url, root / "data", paths, pbx_timezone=inst.pbx_timezone, pbx_cdr_times=inst.cdr_times)
            wh.landed[inst.name] = land_pbx(settings, url)
        target = root / "dbt_target"
        run_dbt(["build", "--select", "+daily_kpis +restaurant_daily_kpis +hourly_kpis +operator_daily +missed_call_recovery"], base, url,
                target_dir=target)
        results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
        wh.dbt_results = {r["unique_id"]: r["status"] for r in results}
        yield wh


def _days(profile: str) -> list[str]:
    start = PROFILE_STARTS[profile]
    return [(start + dt.timedelta(days=i)).isoformat() for i in range(SIM_DAYS)]


def _chain(wh: Warehouse, day: str) -> dict[str, Any]:
    [row] = fetch(wh.url, "select * from marts.daily_kpis where business_date = %s", (day,))
    return row


def _operators(wh: Warehouse, day: str) -> dict[str, dict[str, Any]]:
    rows = fetch(wh.url, "select * from marts.operator_daily where business_date = %s", (day,))
    return {r["operator_extension"]: r for r in rows}


# -- every mart builds; unknown operators are warnings ------------------------------------------

def test_every_model_builds_and_the_unknown_operators_only_warn(warehouse: Warehouse) -> None:
    statuses = warehouse.dbt_results
    models = {k: v for k, v in statuses.items() if k.startswith("model.")}
    assert models and set(models.values()) == {"success"}, models
    warned = sorted(k.split(".")[2] for k, v in statuses.items() if v == "warn")
    assert len(warned) == 2 and all(w.startswith("relationships_") for w in warned), warned
    assert any("calls_answered_by_extension" in w for w in warned)
    assert any("operator_daily_operator_extension" in w for w in warned)
    assert not [k for k, v in statuses.items() if v in ("fail", "error", "skipped")]


# -- the simulator's PBX profiles against their truth -------------------------------------------

@pytest.mark.parametrize("profile", list(PROFILE_STARTS))
def test_profile_lands_every_line(warehouse: Warehouse, profile: str) -> None:
    counts, truth = warehouse.landed[profile], warehouse.truths[profile]["counts"]
    cdr, ql = counts.counts("cdr"), counts.counts("queue_log")
    assert (cdr.landed, cdr.duplicates, cdr.rejected) == (truth["cdr_rows"], 0, truth["malformed"]["pbx_cdr:file"])
    assert (ql.landed, ql.duplicates, ql.rejected) == (truth["queue_log_lines"], 0,
                                                       truth["malformed"]["pbx_queue_log:file"])


@pytest.mark.parametrize("profile", list(PROFILE_STARTS))
def test_profile_call_kpis_equal_the_truth(warehouse: Warehouse, profile: str) -> None:
    problems = []
    for day in _days(profile):
        truth, row = warehouse.truths[profile]["daily"][day]["chain"], _chain(warehouse, day)
        problems += [f"{day} {k}: truth {truth[k]!r}, mart {row[k]!r}" for k in CALL_DAILY_KPIS if not same(truth[k], row[k])]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("profile", list(PROFILE_STARTS))
def test_profile_operator_figures_equal_the_truth(warehouse: Warehouse, profile: str) -> None:
    problems = []
    for day in _days(profile):
        truth, rows = warehouse.truths[profile]["operator_daily"][day], _operators(warehouse, day)
        assert set(rows) == set(truth), f"{day}: operators {sorted(rows)} vs truth {sorted(truth)}"
        for ext, kpis in truth.items():
            problems += [f"{day} {ext} {k}: truth {kpis[k]!r}, mart {rows[ext][k]!r}"
                         for k in CALL_OPERATOR_KPIS if not same(kpis[k], rows[ext][k])]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("profile", list(PROFILE_STARTS))
def test_profile_cdr_times_are_the_simulated_instants(warehouse: Warehouse, profile: str) -> None:
    """Local, UTC and Berlin (across its switch to summer time) CDR clocks all give the real instant."""
    start = PROFILE_STARTS[profile]
    rows = fetch(warehouse.url, """
        select channel, destination_channel, extract(epoch from started_at)::bigint as at
        from staging.stg_freepbx__cdr
        where started_at >= %s::date::timestamp at time zone %s
          and started_at < (%s::date + 3)::timestamp at time zone %s""", (start, TZ, start, TZ))
    landed = {(r["channel"], r["destination_channel"], r["at"]) for r in rows}
    simulated = {(c.channel, c.dstchannel, c.start) for c in warehouse.sims[profile].cdrs}
    assert len(rows) == len(simulated) > 0
    assert landed == simulated


@pytest.mark.parametrize("profile", list(PROFILE_STARTS))
def test_profile_calls_link_their_cdrs_or_say_they_cannot(warehouse: Warehouse, profile: str) -> None:
    rows = fetch(warehouse.url, "select linkedid, cdr_count from marts.calls where business_date = any(%s::date[])",
                 (_days(profile),))
    sim = warehouse.sims[profile]
    assert len(rows) == len(sim.calls)
    got = {r["linkedid"]: r["cdr_count"] for r in rows}
    if PROFILES[profile].cdr_layouts == ("16", "17f"):  # neither linkedid nor uniqueid: no link, not a wrong one
        assert set(got.values()) == {None}
    else:
        per_call = Counter(c.uniqueid for c in sim.cdrs)
        assert got == {c.linkedid: per_call[c.linkedid] for c in sim.calls}


def test_the_unlisted_operator_is_named_unknown_and_keeps_every_figure(warehouse: Warehouse) -> None:
    ext = warehouse.unlisted
    rows = fetch(warehouse.url, "select distinct operator_name, is_known_operator from marts.operator_daily"
                                " where operator_extension = %s", (ext,))
    assert rows == [{"operator_name": f"неизвестный (доб. {ext})", "is_known_operator": False}]
    names = fetch(warehouse.url, "select distinct answered_by_name from marts.calls where answered_by_extension = %s",
                  (ext,))
    assert names == [{"answered_by_name": f"неизвестный (доб. {ext})"}]


def test_operators_no_longer_listed_keep_their_names(warehouse: Warehouse) -> None:
    sim = warehouse.sims["freepbx-17"]  # its odd extensions are logged by display name only
    listed = fetch(warehouse.url, "select operator_extension, is_listed from staging.stg_freepbx__extensions")
    assert {r["operator_extension"] for r in listed if not r["is_listed"]} == {
        op.extension for op in sim.operators if op.extension != warehouse.unlisted}
    rows = fetch(warehouse.url, "select distinct operator_extension, operator_name, is_known_operator"
                                " from marts.operator_daily where business_date = any(%s::date[])",
                 (_days("freepbx-17"),))
    expected = {op.extension: op.name for op in sim.operators}
    for row in rows:
        if row["operator_extension"] != warehouse.unlisted:
            assert (row["operator_name"], row["is_known_operator"]) == (expected[row["operator_extension"]], True)


# -- hand-made real-format days: figures counted by hand ----------------------------------------

def test_hand_made_days_land_every_line(warehouse: Warehouse) -> None:
    landed = {name: (r.counts("queue_log").landed, r.counts("cdr").landed, r.rejected)
              for name, r in warehouse.landed.items() if name in {i.name for i in pbx_variants.INSTALLATIONS}}
    # queue_log lines and Master.csv lines as listed in tests/pbx_variants.py, none rejected
    assert landed == {"asterisk11": (20, 5, 0), "freepbx16": (25, 6, 0), "freepbx17": (11, 4, 0)}


def test_asterisk11_day_gives_the_hand_counted_figures(warehouse: Warehouse) -> None:
    chain = _chain(warehouse, "2026-11-02")
    # c1..c4 offered; c1 (hold 25) and c3 (hold 8) answered; c4 abandoned after 3 s < 5 s
    assert (chain["calls_offered_count"], chain["calls_answered_count"], chain["short_abandon_count"]) == (4, 2, 1)
    assert same(0.5, chain["missed_call_rate"])                  # 2 of 4
    assert same(16.5, chain["asa_seconds"])                      # (25 + 8) / 2
    assert same(1 / 3, chain["service_level"])                   # c3 within 20 s / (4 − 1 short abandon)
    assert same(107.5, chain["avg_talk_seconds"])                # (120 TRANSFER calltime + 95) / 2
    assert same(215 / 42300, chain["occupancy"])                 # 215 s talk / (28800 + 14400 − 900 paused)
    assert same(2 / 12, chain["calls_per_operator_hour"])        # 2 answered / 12 logged-in hours
    ops = _operators(warehouse, "2026-11-02")
    figures = {ext: tuple(float(ops[ext][k]) if ops[ext][k] is not None else None for k in CALL_OPERATOR_KPIS[:8])
               for ext in ops}
    # handled, talk, avg talk, missed rings, missed-ring rate, avg pickup, logged in (AGENTLOGIN 9-17), paused
    assert figures == {"201": (1, 120, 120, 0, 0, 4, 28800, 0),
                       "202": (1, 95, 95, 1, 0.5, 3, 14400, 900)}  # one pause counted once, not twice (PAUSEALL)
    assert (ops["201"]["operator_name"], ops["202"]["operator_name"]) == ("Глеб Агентов", "Дарья Сиповая")
    calls = {r["caller_phone"]: r for r in fetch(warehouse.url, "select * from marts.calls where business_date = %s",
                                                 ("2026-11-02",))}
    c2 = calls["+79161110002"]
    # pressed a key, waited 33 s by the event times (the old EXITWITHKEY has no waittime), then 202 called back
    assert (c2["outcome"], c2["wait_seconds"], c2["is_called_back"]) == ("exit_key", 33, True)
    assert {r["cdr_count"] for r in calls.values()} == {None}  # 16 columns: no uniqueid, no linkedid


def test_freepbx16_day_gives_the_hand_counted_figures(warehouse: Warehouse) -> None:
    chain = _chain(warehouse, "2026-11-03")
    # d1..d5 offered; d1 (hold 20) and d3 (hold 5) answered; d2 abandoned after 4 s
    assert (chain["calls_offered_count"], chain["calls_answered_count"], chain["short_abandon_count"]) == (5, 2, 1)
    assert same(0.6, chain["missed_call_rate"])                  # 3 of 5
    assert same(12.5, chain["asa_seconds"])                      # (20 + 5) / 2
    assert same(0.5, chain["service_level"])                     # 2 within 20 s / (5 − 1)
    assert same(130, chain["avg_talk_seconds"])                  # (60 ATTENDEDTRANSFER BRIDGE + 200) / 2
    assert same(260 / 63000, chain["occupancy"])                 # 260 / (2 × 32400 − 1800)
    assert same(2 / 18, chain["calls_per_operator_hour"])
    ops = _operators(warehouse, "2026-11-03")
    figures = {ext: tuple(float(ops[ext][k]) for k in CALL_OPERATOR_KPIS[:8]) for ext in ops}
    assert figures == {"301": (1, 60, 60, 0, 0, 2, 32400, 0),        # RINGCANCELED is not a missed ring
                       "302": (1, 200, 200, 1, 0.5, 3, 32400, 1800)}  # logged by display name only
    assert ops["302"]["operator_name"] == "Ариадна Ручкина"
    rows = fetch(warehouse.url, "select caller_phone, outcome, cdr_count from marts.calls where business_date = %s",
                 ("2026-11-03",))
    assert {r["caller_phone"][-2:]: (r["outcome"], r["cdr_count"]) for r in rows} == {
        "11": ("answered", 2), "12": ("abandoned", 1), "13": ("answered", 1), "14": ("timeout", 1),
        "15": ("exit_empty", 1)}  # linked by uniqueid: 18 columns have no linkedid
    [cdr] = fetch(warehouse.url, "select started_at from staging.stg_freepbx__cdr"
                                 " where uniqueid = '1793689200.10' and billed_seconds = 60")
    assert cdr["started_at"] == dt.datetime(2026, 11, 3, 7, 0, tzinfo=dt.UTC)  # usegmtime: 07:00 UTC = 10:00 Moscow


def test_freepbx17_day_gives_the_hand_counted_figures_and_names_extension_117_unknown(warehouse: Warehouse) -> None:
    chain = _chain(warehouse, "2026-11-04")
    assert (chain["calls_offered_count"], chain["calls_answered_count"], chain["short_abandon_count"]) == (3, 3, 0)
    assert same(52 / 3, chain["asa_seconds"])                    # (12 + 30 + 10) / 3
    assert same(2 / 3, chain["service_level"])                   # e1, e3 within 20 s
    assert same(170 / 3, chain["avg_talk_seconds"])              # (75 LINK + 45 APP + 50) / 3
    assert same(170 / 28800, chain["occupancy"])
    assert same(3 / 8, chain["calls_per_operator_hour"])
    ops = _operators(warehouse, "2026-11-04")
    assert {ext: (ops[ext]["calls_handled_count"], ops[ext]["talk_seconds_total"], ops[ext]["logged_in_seconds"],
                  ops[ext]["operator_name"], ops[ext]["is_known_operator"]) for ext in ops} == {
        "401": (2, 120, 28800, "Лев Внутренний", True),
        "117": (1, 50, 0, "неизвестный (доб. 117)", False)}
    rows = fetch(warehouse.url, "select caller_phone, answered_by_name, cdr_count from marts.calls"
                                " where business_date = %s", ("2026-11-04",))
    assert {r["caller_phone"][-2:]: (r["answered_by_name"], r["cdr_count"]) for r in rows} == {
        "21": ("Лев Внутренний", 1),          # 17 columns: linked by uniqueid
        "22": ("Лев Внутренний", 2),          # 21 columns: the transfer leg too, by linkedid
        "23": ("неизвестный (доб. 117)", 1)}
    [cdr] = fetch(warehouse.url, "select started_at from staging.stg_freepbx__cdr where uniqueid = '1793775600.10'")
    assert cdr["started_at"] == dt.datetime(2026, 11, 4, 7, 0, tzinfo=dt.UTC)  # 08:00 in Berlin (CET)


def test_unknown_operators_are_a_metric_and_a_line_in_the_daily_report(warehouse: Warehouse) -> None:
    from reports.snapshot import build_daily_report

    with psycopg.connect(warehouse.url) as conn:
        assert readers.unknown_operators(conn, dt.date(2026, 11, 4)) == 1   # extension 117
        assert readers.unknown_operators(conn, dt.date(2026, 11, 3)) == 0
    report = build_daily_report(warehouse.settings, warehouse.url, dt.date(2026, 11, 4))
    html = report.html_path.read_text(encoding="utf-8")
    assert "Нет в справочнике FreePBX: неизвестный (доб. 117)." in html
    assert html.count("неизвестный (доб. 117)") == 2  # its row in the operator table, and the line


def test_unknown_operator_checks_are_dagster_warnings_that_never_block_the_report() -> None:
    """dagster-dbt turns a dbt test into an asset check, blocking only when its severity is error."""
    from orchestration.defs.marts.assets import dbt_models
    from orchestration.defs.reports.assets import GUARDED_CHECKS

    specs = [s for s in dbt_models.check_specs
             if s.name.startswith("relationships_") and s.name.endswith("ref_stg_freepbx__extensions_")]
    assert sorted(s.asset_key.to_user_string() for s in specs) == ["marts/calls", "marts/operator_daily"]
    assert not any(s.blocking for s in specs)
    assert not {s.key for s in specs} & set(GUARDED_CHECKS)
