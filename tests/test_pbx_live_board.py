"""The live queue board's state (ingestion/pbx/live.py): a hand-counted sample in the real queue_log
format, and the simulator's contact centre replayed event by event against what it knows happened.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import psycopg
import pytest

from ingestion.pbx.follow import rebuild_board
from ingestion.pbx.live import (
    CALL_EXPIRES_SECONDS,
    EXIT_OUTCOMES,
    WAIT_EXPIRES_SECONDS,
    Directory,
    LiveBoard,
)
from ingestion.pbx.parsers import parse_queue_log
from ingestion.pbx.schema import ensure_pbx_tables
from ingestion.pbx.store import PbxStore
from simulator.config import SimConfig
from simulator.generate import generate
from simulator.pbx import queue_log_line
from simulator.pbx_profiles import PROFILES, get_profile
from simulator.writer import all_queue_log_rows

REPO = Path(__file__).resolve().parent.parent
T0 = 1_793_600_000
DIRECTORY = Directory.from_entries([("101", "Иван Сидоров"), ("102", "Анна Петрова"), ("105", "Дубль"),
                                    ("106", "дубль ")])


def rows_of(text: str) -> list[list]:
    parsed = parse_queue_log(text.encode("utf-8"))
    assert parsed.rejects == []
    return parsed.rows


# The first minute and a half of a morning, as Asterisk writes it (only the data fields each event
# has). 101 is in queues 700 and 701; 102 is a FreePBX dynamic agent (ADDMEMBER by interface, call
# events by display name); 103 a chan_agent agent; 104 a static member seen only through a ring.
MORNING = f"""\
{T0}|NONE|700|PJSIP/101|ADDMEMBER|
{T0}|NONE|700|Local/102@from-queue/n|ADDMEMBER|
{T0 + 5}|{T0 + 5}.1|NONE|Agent/103|AGENTLOGIN|SIP/103-00000001
{T0 + 10}|NONE|701|PJSIP/101|ADDMEMBER|
{T0 + 20}|NONE|NONE|PJSIP/101|PAUSEALL|Обед
{T0 + 20}|NONE|700|PJSIP/101|PAUSE|Обед
{T0 + 30}|{T0 + 30}.10|700|NONE|ENTERQUEUE||+79161234567|1
{T0 + 31}|{T0 + 31}.11|700|NONE|ENTERQUEUE||+79031112233|2
{T0 + 32}|{T0 + 32}.12|701|NONE|ENTERQUEUE||+79265554433|1
{T0 + 40}|{T0 + 30}.10|700|PJSIP/104|RINGNOANSWER|15000
{T0 + 45}|{T0 + 30}.10|700|Анна Петрова|CONNECT|15|{T0 + 42}.20|3
{T0 + 50}|NONE|701|PJSIP/101|PAUSE|Обед
{T0 + 55}|{T0 + 32}.12|701|NONE|ABANDON|1|1|23
"""
LATER = f"""\
{T0 + 70}|{T0 + 30}.10|700|Анна Петрова|COMPLETECALLER|15|25|1
{T0 + 71}|{T0 + 31}.11|700|NONE|EXITWITHTIMEOUT|1|2|40
{T0 + 80}|NONE|NONE|PJSIP/101|UNPAUSEALL|
{T0 + 80}|NONE|700|PJSIP/101|UNPAUSE|Обед
{T0 + 80}|NONE|701|PJSIP/101|UNPAUSE|Обед
{T0 + 90}|NONE|700|Local/102@from-queue/n|REMOVEMEMBER|
{T0 + 95}|{T0 + 5}.1|NONE|Agent/103|AGENTLOGOFF|SIP/103-00000001|90
"""


def zero_recent(*queues: str) -> dict[tuple[str, str], int]:
    return {(q, outcome): 0 for q in queues for outcome in ("answered", *EXIT_OUTCOMES.values())}


def test_the_morning_as_counted_by_hand():
    board = LiveBoard(DIRECTORY)
    assert board.apply(rows_of(MORNING)) == 13
    snap = board.snapshot(T0 + 60)
    assert snap.waiting == {"700": 1, "701": 0}  # the second caller; the first was answered, the third left
    assert snap.longest_wait_seconds == {"700": 29.0, "701": 0.0}
    # 101 paused in both queues, 102 on the call, 103 (agent login) and 104 (rung, so a member) available
    assert snap.operators == {"logged_in": 4, "on_call": 1, "paused": 1, "available": 2}
    assert snap.recent == {**zero_recent("700", "701"), ("700", "answered"): 1, ("701", "abandoned"): 1}
    assert snap.last_event_at == T0 + 55

    board.apply(rows_of(LATER))
    snap = board.snapshot(T0 + 100)
    assert snap.waiting == {"700": 0, "701": 0}
    assert snap.longest_wait_seconds == {"700": 0.0, "701": 0.0}
    assert snap.operators == {"logged_in": 2, "on_call": 0, "paused": 0, "available": 2}  # 101 and 104
    assert snap.recent == {**zero_recent("700", "701"), ("700", "answered"): 1, ("700", "timeout"): 1,
                           ("701", "abandoned"): 1}


def test_a_member_paused_in_one_of_two_queues_can_still_take_calls():
    board = LiveBoard(DIRECTORY)
    board.apply(rows_of(MORNING.split(f"{T0 + 30}|")[0]))  # up to 101's first PAUSE, in 700 only
    assert board.snapshot(T0 + 25).operators == {"logged_in": 3, "on_call": 0, "paused": 0, "available": 3}


def test_a_member_added_paused_is_paused():
    board = LiveBoard()
    board.apply(rows_of(f"{T0}|NONE|700|PJSIP/107|ADDMEMBER|PAUSED\n"))
    assert board.snapshot(T0 + 1).operators == {"logged_in": 1, "on_call": 0, "paused": 1, "available": 0}


def test_an_event_read_twice_counts_once():
    board = LiveBoard(DIRECTORY)
    rows = rows_of(MORNING)
    board.apply(rows)
    assert board.apply(rows) == 0
    assert board.snapshot(T0 + 60).waiting == {"700": 1, "701": 0}
    assert board.snapshot(T0 + 60).recent[("700", "answered")] == 1


def test_the_recent_window_is_the_last_fifteen_minutes():
    board = LiveBoard(DIRECTORY)
    board.apply(rows_of(MORNING))
    assert board.snapshot(T0 + 45 + 899).recent[("700", "answered")] == 1
    board.tick(T0 + 45 + 900)
    assert board.snapshot(T0 + 45 + 900).recent[("700", "answered")] == 0


def test_calls_whose_end_never_came_expire_and_are_counted():
    board = LiveBoard(DIRECTORY)
    board.apply(rows_of(MORNING))  # the second caller waits, 102 is on a call: no end line follows
    board.tick(T0 + 31 + WAIT_EXPIRES_SECONDS)
    snap = board.snapshot(T0 + 31 + WAIT_EXPIRES_SECONDS)
    assert snap.waiting["700"] == 1 and snap.expired == {"waiting": 0, "on_call": 0}
    board.tick(T0 + 32 + WAIT_EXPIRES_SECONDS)
    assert board.snapshot(T0 + 32 + WAIT_EXPIRES_SECONDS).waiting["700"] == 0
    board.tick(T0 + 46 + CALL_EXPIRES_SECONDS)
    snap = board.snapshot(T0 + 46 + CALL_EXPIRES_SECONDS)
    assert snap.expired == {"waiting": 1, "on_call": 1}
    assert snap.operators["on_call"] == 0 and snap.operators["logged_in"] == 4  # still members


def test_agents_map_to_operators_as_the_marts_map_them():
    assert DIRECTORY.operator("PJSIP/101") == "101"
    assert DIRECTORY.operator("Local/102@from-internal/n") == "102"
    assert DIRECTORY.operator("Agent/103") == "103"
    assert DIRECTORY.operator("  анна петрова ") == "102"
    assert DIRECTORY.operator("Дубль") == "Дубль"  # two extensions share the name: it names neither
    assert DIRECTORY.operator("Пётр Новый") == "Пётр Новый"
    assert DIRECTORY.operator("NONE") is None and DIRECTORY.operator("") is None


def test_the_interface_pattern_is_the_staging_models():
    sql = (REPO / "dbt_project/models/staging/freepbx/stg_freepbx__queue_log.sql").read_text(encoding="utf-8")
    pattern = re.search(r"substring\(agent from '([^']+)'\) as agent_extension", sql).group(1)
    from ingestion.pbx.live import INTERFACE_RE

    assert INTERFACE_RE.pattern == pattern


# --- the simulator's contact centre, replayed --------------------------------------------------

def simulated(profile: str):
    sim = generate(SimConfig(days=1, restaurants=4, seed=5, start=dt.date(2026, 11, 3), pbx_profile=profile,
                             malformed_share=0))
    padded = get_profile(profile).padded_lines
    text = "".join(queue_log_line(row, padded) + "\n" for row in all_queue_log_rows(sim))
    directory = Directory.from_entries((op.extension, op.name) for op in sim.operators)
    return sim, rows_of(text), directory


def truth_at(sim, at: float) -> dict:
    """What the simulator knows was going on at `at`, from its own calls, sessions and pauses."""
    waiting: dict[str, list[int]] = {}
    for call in sim.calls:
        left = call.connect_at if call.answered else call.end
        if call.enter <= at < left:
            waiting.setdefault(call.queue, []).append(call.enter)
    on_call = {c.extension for c in sim.calls if c.answered and c.connect_at <= at < c.end}
    logged_in = {s.extension for s in sim.sessions if s.start <= at < s.end}
    paused = {p.extension for p in sim.pauses if p.start <= at < p.end} - on_call
    recent: dict[tuple[str, str], int] = {}
    for call in sim.calls:
        outcome, when = ("answered", call.connect_at) if call.answered else (EXIT_OUTCOMES[call.outcome], call.end)
        if at - 900 < when <= at:
            recent[(call.queue, outcome)] = recent.get((call.queue, outcome), 0) + 1
    return {
        "waiting": {q: len(v) for q, v in waiting.items()},
        "longest": {q: at - min(v) for q, v in waiting.items()},
        "operators": {"logged_in": len(logged_in), "on_call": len(on_call), "paused": len(paused),
                      "available": len(logged_in - on_call - paused)},
        "recent": recent,
    }


def seen(snap) -> dict:
    return {"waiting": {q: n for q, n in snap.waiting.items() if n},
            "longest": {q: s for q, s in snap.longest_wait_seconds.items() if s},
            "operators": snap.operators,
            "recent": {k: n for k, n in snap.recent.items() if n}}


def instants(rows: list[list]) -> list[float]:
    """Half a second after every second in which something happened (events are whole seconds):
    every state the day went through."""
    return sorted({int(row[0]) + 0.5 for row in rows})


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_replayed_day_matches_the_simulators_contact_centre_at_every_instant(profile):
    sim, rows, directory = simulated(profile)
    board = LiveBoard(directory)
    position, checked, busy = 0, 0, 0
    for at in instants(rows):
        start = position
        while position < len(rows) and int(rows[position][0]) <= at:
            position += 1
        board.apply(rows[start:position])
        board.tick(at)
        expected = truth_at(sim, at)
        assert seen(board.snapshot(at)) == expected, f"{profile} at {dt.datetime.fromtimestamp(at, sim.clock.tz)}"
        checked += 1
        busy += bool(expected["waiting"]) and expected["operators"]["on_call"] > 0
    assert checked > 500 and busy > 100  # the day was busy enough to mean something


def test_rebuilt_from_the_landed_events_the_board_is_the_same(new_database):
    """raw.pbx_queue_log keeps whole seconds and no line order: the rebuild's ordering must still come
    out right, here on the profile with the most events per second (PAUSEALL beside each PAUSE), just
    after every second holding two events that matter (ENTERQUEUE and EXITEMPTY, a ring and ABANDON,
    PAUSE and PAUSEALL, a call's end and the next call's arrival) and through the day."""
    sim, rows, directory = simulated("freepbx-16")
    per_second: dict[int, int] = {}
    for row in rows:
        if row[4] != "DID":
            per_second[int(row[0])] = per_second.get(int(row[0]), 0) + 1
    crowded = [second + 0.5 for second, count in per_second.items() if count > 1]
    assert len(crowded) >= 20
    with new_database("t_live") as url, psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            ensure_pbx_tables(conn)
        for at in sorted({*crowded, *instants(rows)[::100]}):
            conn.execute("truncate raw.pbx_queue_log")
            with conn.transaction():
                PbxStore(conn, "file").write_queue_log([r for r in rows if int(r[0]) <= at])
            board = LiveBoard(directory)
            assert rebuild_board(conn, board, 0) == sum(1 for r in rows if int(r[0]) <= at)
            assert seen(board.snapshot(at)) == truth_at(sim, at)
