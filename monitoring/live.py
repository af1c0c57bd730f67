"""The live queue board's gauges, served over HTTP by the process that follows the PBX.

`pantao ingest pbx --follow` keeps the board (ingestion/pbx/live.py) in memory and serves it here,
on its own port, instead of through `pantao metrics`: the state exists only in that process (it
is built from the events in their order, not stored), a scrape only reads memory, so Prometheus
can scrape it every few seconds as a wallboard needs, and the numbers move as soon as a line is
read. Wait ages and the 15-minute window are computed at scrape time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from ingestion.pbx.live import LiveBoard
from monitoring.catalog import LIVE_METRICS
from monitoring.families import Families

log = logging.getLogger(__name__)


class LiveBoardCollector(Collector):
    def __init__(self, board: LiveBoard, clock: Callable[[], float] = time.time) -> None:
        self.board = board
        self.clock = clock

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        snap = self.board.snapshot(now)
        out = Families(LIVE_METRICS)
        for queue, count in snap.waiting.items():
            out.add("pantao_live_calls_waiting", count, queue)
            out.add("pantao_live_longest_wait_seconds", max(snap.longest_wait_seconds[queue], 0.0), queue)
        for state, count in snap.operators.items():
            out.add("pantao_live_operators", count, state)
        for (queue, outcome), count in snap.recent.items():
            out.add("pantao_live_calls_last_15m", count, queue, outcome)
        if snap.last_event_at is not None:
            out.add("pantao_live_last_event_age_seconds", max(now - snap.last_event_at, 0.0))
        if snap.last_poll_at is not None:
            out.add("pantao_live_last_poll_timestamp_seconds", snap.last_poll_at)
        for kind, count in snap.expired.items():
            out.add("pantao_live_expired", count, kind)
        yield from out


def serve_board(board: LiveBoard, host: str, port: int) -> Callable[[], None]:
    """Serve the board's gauges on http://host:port/metrics; returns the function that stops it.

    Raises OSError when the address cannot be bound.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LiveBoardCollector(board))
    server, thread = start_http_server(port, addr=host, registry=registry)
    log.info("live queue board metrics on http://%s:%d/metrics", host, port)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
