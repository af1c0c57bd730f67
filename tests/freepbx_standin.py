"""A stand-in FreePBX API server for tests: real HTTP on 127.0.0.1, speaking the API module's protocol.

It implements what our client uses, the way FreePBX 15+ does:
- `POST /admin/api/api/token`: OAuth2 client credentials (form fields or HTTP Basic) →
  `{"access_token", "token_type": "Bearer", "expires_in"}`; 401 `invalid_client` on bad ones;
- `POST /admin/api/api/gql` with `Authorization: Bearer …`: `fetchAllCdrs(first, after,
  orderby, startDate, endDate)` (after = offset, dates inclusive on the local calldate) and
  `fetchAllExtensions`, returning only the selected fields; 401 on a missing/expired token.
Test controls: `token_lifetime` (seconds), `script` (a list of "500" / "slow" / "ok" applied
to the next GraphQL requests in order), `slow_seconds`, `blank_disposition` (FreePBX's
resolver bug), and counters of what was asked.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs

from tests.http_standin import HttpStandin

_ARG = re.compile(r"(\w+)\s*:\s*(\$\w+|\"[^\"]*\"|[\w.-]+)")


def _selection(query: str, field: str) -> list[str]:
    """Leaf field names selected inside `field { … }` (one level, enough for cdrs)."""
    match = re.search(field + r"\s*\{([^{}]*)\}", query)
    return match.group(1).split() if match else []


def _arguments(query: str, name: str, variables: dict) -> dict:
    match = re.search(name + r"\s*\(([^)]*)\)", query)
    args: dict = {}
    if not match:
        return args
    for key, raw in _ARG.findall(match.group(1)):
        if raw.startswith("$"):
            args[key] = variables.get(raw[1:])
        elif raw.startswith('"'):
            args[key] = raw[1:-1]
        elif raw.isdigit():
            args[key] = int(raw)
        else:
            args[key] = raw
    return args


class FreePbxStandin(HttpStandin):
    """Start with `with FreePbxStandin(cdrs, extensions) as api:`; `api.url` is the base URL."""

    def __init__(self, cdrs: Iterable[dict], extensions: Iterable[dict] = (), *, client_id: str = "pantao",
                 client_secret: str = "s3cret", token_lifetime: float = 3600.0) -> None:
        self.cdrs = sorted(cdrs, key=lambda c: (c["calldate"], c["uniqueid"], int(c["sequence"])))
        self.extensions = list(extensions)
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.script: list[str] = []
        self.slow_seconds = 2.0
        self.blank_disposition = False
        self.tokens_issued = 0
        self.gql_requests = 0
        self.pages_served: list[tuple[int, int]] = []  # (after, rows) per fetchAllCdrs answer
        self.windows_asked: list[tuple[str | None, str | None]] = []
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        super().__init__(self._handler(), "freepbx-standin")

    @classmethod
    def from_jsonl(cls, cdr_jsonl: Path, extensions_json: Path | None = None, **kw) -> FreePbxStandin:
        """Serve a simulated day: cdr.jsonl (one cdr table row per line) and extensions.json."""
        cdrs = [json.loads(line) for line in cdr_jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
        exts = json.loads(extensions_json.read_text(encoding="utf-8")) if extensions_json else []
        return cls(cdrs, exts, **kw)

    # -- behaviour -------------------------------------------------------------------------
    def _issue_token(self, form: dict, auth_header: str | None) -> tuple[int, dict]:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if auth_header and auth_header.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth_header[6:]).decode().partition(":")
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if client_id != self.client_id or secret != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        token = secrets.token_hex(16)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_lifetime
            self.tokens_issued += 1
        return 200, {"token_type": "Bearer", "expires_in": self.token_lifetime, "access_token": token}

    def _token_valid(self, auth_header: str | None) -> bool:
        if not auth_header or not auth_header.startswith("Bearer "):
            return False
        expires = self._tokens.get(auth_header[7:])
        return expires is not None and time.monotonic() < expires

    def _fetch_all_cdrs(self, query: str, variables: dict) -> dict:
        args = _arguments(query, "fetchAllCdrs", variables)
        first, after = int(args.get("first") or 100), int(args.get("after") or 0)
        start, end = args.get("startDate"), args.get("endDate")
        self.windows_asked.append((start, end))
        rows = [c for c in self.cdrs
                if (not start or c["calldate"][:10] >= start) and (not end or c["calldate"][:10] <= end)]
        if args.get("orderby") == "duration":
            rows.sort(key=lambda c: int(c["duration"]))
        page = rows[after:after + first]
        self.pages_served.append((after, len(page)))
        fields = _selection(query, "cdrs")
        out = []
        for i, row in enumerate(page):
            item = {}
            for f in fields:
                if f == "id":
                    item[f] = after + i + 1
                elif f == "timestamp":
                    item[f] = None
                elif f == "disposition" and self.blank_disposition:
                    item[f] = ""
                else:
                    item[f] = row.get(f)
            out.append(item)
        return {"fetchAllCdrs": {"status": True, "message": "Cdr Data found successfully",
                                 "totalCount": len(rows), "cdrs": out}}

    def _fetch_all_extensions(self) -> dict:
        items = [{"extensionId": e["extension"], "user": {"name": e.get("name")}} for e in self.extensions]
        return {"fetchAllExtensions": {"status": True, "message": "Extension's are found",
                                       "totalCount": len(items), "extension": items}}

    def _graphql(self, body: dict) -> tuple[int, dict]:
        query, variables = body.get("query") or "", body.get("variables") or {}
        if "fetchAllCdrs" in query:
            return 200, {"data": self._fetch_all_cdrs(query, variables)}
        if "fetchAllExtensions" in query:
            return 200, {"data": self._fetch_all_extensions()}
        return 200, {"errors": [{"message": "Cannot query field on type \"Query\"."}]}

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/admin/api/api/token":
                    form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                    self._reply(*standin._issue_token(form, self.headers.get("Authorization")))
                    return
                if self.path != "/admin/api/api/gql":
                    self._reply(404, {"error": "not found"})
                    return
                with standin._lock:
                    standin.gql_requests += 1
                    action = standin.script.pop(0) if standin.script else "ok"
                if action == "500":
                    self._reply(500, {"error": "Internal Server Error"})
                    return
                if action == "slow":
                    time.sleep(standin.slow_seconds)
                if not standin._token_valid(self.headers.get("Authorization")):
                    self._reply(401, {"error": "access_denied", "message": "The resource owner or authorization "
                                                                            "server denied the request."})
                    return
                self._reply(*standin._graphql(json.loads(raw or b"{}")))

        return Handler
