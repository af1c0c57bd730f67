"""The HTTP server under every stand-in for an outside service (tests/freepbx_standin.py,
tests/telegram_standin.py): a real server on a free loopback port, served from a thread.

`with Standin(...) as api:` or `api = Standin(...).start()` ... `api.stop()`.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class BackgroundServer:
    """A server served from a daemon thread (`_thread`): start() returns it, stop() ends it (`_shutdown`)."""

    _thread: threading.Thread

    def _shutdown(self) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._shutdown()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class HttpStandin(BackgroundServer):
    def __init__(self, handler: type[BaseHTTPRequestHandler], name: str) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name=name)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
