"""The live queue board's gauges (monitoring/live.py): what a scrape says about a board, that the
catalog lists and docs/operations.md explains each of them, and that `pantao` wires the server in."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ingestion.pbx.live import LiveBoard
from monitoring.catalog import LIVE_METRICS, by_name
from monitoring.live import LiveBoardCollector
from tests.test_pbx_live_board import DIRECTORY, MORNING, T0, rows_of


def scrape(board: LiveBoard, now: float) -> dict[str, dict[tuple, float]]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LiveBoardCollector(board, clock=lambda: now))
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode("utf-8")):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_a_scrape_of_the_morning_as_counted_by_hand():
    board = LiveBoard(DIRECTORY)
    board.apply(rows_of(MORNING))
    board.mark_polled(T0 + 58)
    samples = scrape(board, T0 + 60)
    assert samples["pantao_live_calls_waiting"] == {(("queue", "700"),): 1, (("queue", "701"),): 0}
    assert samples["pantao_live_longest_wait_seconds"] == {(("queue", "700"),): 29, (("queue", "701"),): 0}
    assert samples["pantao_live_operators"] == {(("state", "logged_in"),): 4, (("state", "on_call"),): 1,
                                                (("state", "paused"),): 1, (("state", "available"),): 2}
    recent = {labels: v for labels, v in samples["pantao_live_calls_last_15m"].items() if v}
    assert recent == {(("outcome", "answered"), ("queue", "700")): 1, (("outcome", "abandoned"), ("queue", "701")): 1}
    assert len(samples["pantao_live_calls_last_15m"]) == 2 * 5  # every queue with every outcome, zeros included
    assert samples["pantao_live_last_event_age_seconds"] == {(): 5}
    assert samples["pantao_live_last_poll_timestamp_seconds"] == {(): T0 + 58}
    assert samples["pantao_live_expired_total"] == {(("kind", "waiting"),): 0, (("kind", "on_call"),): 0}


def test_an_empty_board_says_nothing_it_does_not_know():
    samples = scrape(LiveBoard(), T0)
    assert set(samples) == {"pantao_live_operators", "pantao_live_expired_total"}  # no queue, no event, no poll
    assert set(samples["pantao_live_operators"].values()) == {0}


def test_live_metrics_are_catalogued_apart_and_documented():
    assert not {spec.name for spec in LIVE_METRICS} & set(by_name())  # `pantao metrics` serves none of them
    operations = (Path(__file__).resolve().parent.parent / "docs" / "operations.md").read_text(encoding="utf-8")
    missing = [spec.name for spec in LIVE_METRICS if f"`{spec.name}`" not in operations]
    assert not missing, f"docs/operations.md does not explain {missing}"


def test_pantao_wires_the_live_board_server_into_ingest():
    """ingestion/ cannot import monitoring/ (it sits above it): the composition registers the server."""
    from app.cli import cli  # noqa: F401  (assembling the command line registers it)
    from ingestion.cli import LIVE_BOARD_SERVERS
    from monitoring.cli import serve_live_board

    assert LIVE_BOARD_SERVERS == [serve_live_board]
