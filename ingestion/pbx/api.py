"""FreePBX API mode: OAuth2 client credentials + GraphQL (`fetchAllCdrs`, `fetchAllExtensions`).

The API is a web service on the phone system, so every call has a timeout, timeouts and 5xx
are retried with bounded backoff, an expired token is refreshed (before expiry, and once on a
401), and a refused credential fails with a message naming the client id (never the secret).
The API has no queue_log: in API mode queue events still come from the file or the database.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import requests

from ingestion.pbx.batches import Batch
from ingestion.pbx.formats import CDR_COLUMNS, CDR_INT_COLUMNS
from ingestion.pbx.parsers import Reject, valid_datetime
from ingestion.pbx.window import OVERLAP, Window

log = logging.getLogger(__name__)

TOKEN_PATH = "/admin/api/api/token"
GQL_PATH = "/admin/api/api/gql"
PAGE_SIZE = 500
# Fields fetchAllCdrs returns (FreePBX's cdr GraphQL type): the CDR columns minus `cnam`.
CDR_FIELDS = tuple(c for c in CDR_COLUMNS if c != "cnam")

CDRS_QUERY = (
    "query ($first: Int, $after: Int, $startDate: String, $endDate: String) {"
    " fetchAllCdrs(first: $first, after: $after, orderby: date, startDate: $startDate, endDate: $endDate)"
    " { status message totalCount cdrs { " + " ".join(CDR_FIELDS) + " } } }"
)
# The one place that knows the extension directory's GraphQL shape.
EXTENSIONS_QUERY = "{ fetchAllExtensions { status message totalCount extension { extensionId user { name } } } }"


class FreePbxApiError(RuntimeError):
    """The FreePBX API refused or failed a request; the message says which and what to check."""


@dataclass
class _Token:
    value: str
    expires_at: float


class FreePbxApi:
    """A small client for the FreePBX API module (15+)."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, *, timeout: float,
                 retries: int = 4, backoff_seconds: float = 0.5, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.timeout = timeout
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.session = session or requests.Session()
        self._token: _Token | None = None

    # -- HTTP with retries ---------------------------------------------------------------
    def _post(self, path: str, what: str, **kwargs) -> requests.Response:
        """POST with a timeout; retries timeouts, connection errors and 5xx, then fails clearly."""
        url = self.base_url + path
        last = ""
        for attempt in range(1, self.retries + 1):
            try:
                resp = self.session.post(url, timeout=self.timeout, **kwargs)
            except requests.Timeout:
                last = f"no answer within {self.timeout:g}s"
            except requests.ConnectionError as exc:
                last = f"connection failed ({exc.__class__.__name__})"
            else:
                if resp.status_code < 500:
                    return resp
                last = f"HTTP {resp.status_code}"
            if attempt < self.retries:
                delay = self.backoff_seconds * 2 ** (attempt - 1)
                log.warning("FreePBX API %s at %s: %s; retry %d/%d in %.1fs", what, url, last, attempt,
                            self.retries - 1, delay)
                time.sleep(delay)
        raise FreePbxApiError(f"FreePBX API {what} at {url} failed {self.retries} times, last: {last}; "
                              "is the PBX up and FREEPBX_API_URL right?")

    def _fetch_token(self) -> _Token:
        resp = self._post(TOKEN_PATH, "token request",
                          data={"grant_type": "client_credentials", "client_id": self.client_id,
                                "client_secret": self._secret})
        if resp.status_code in (400, 401, 403):
            raise FreePbxApiError(
                f"FreePBX API refused client id {self.client_id!r} (HTTP {resp.status_code}) at "
                f"{self.base_url}{TOKEN_PATH}; check FREEPBX_CLIENT_ID / FREEPBX_CLIENT_SECRET and that the "
                "API application is enabled with read access to cdr and extensions"
            )
        if resp.status_code != 200:
            raise FreePbxApiError(f"FreePBX API token request answered HTTP {resp.status_code}: {resp.text[:200]}")
        body = resp.json()
        lifetime = float(body.get("expires_in") or 3600)
        return _Token(body["access_token"], time.monotonic() + lifetime)

    def _bearer(self) -> str:
        # Refresh a little early so a token never expires between check and use.
        if self._token is None or time.monotonic() > self._token.expires_at - min(30.0, self.timeout):
            self._token = self._fetch_token()
        return self._token.value

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        """Run one GraphQL query and return its `data`; refreshes the token once on a 401."""
        for attempt in (1, 2):
            resp = self._post(GQL_PATH, "GraphQL query", json={"query": query, "variables": variables or {}},
                              headers={"Authorization": f"Bearer {self._bearer()}"})
            if resp.status_code == 401 and attempt == 1:
                log.info("FreePBX API token rejected (expired?); fetching a new one")
                self._token = None
                continue
            if resp.status_code in (401, 403):
                raise FreePbxApiError(
                    f"FreePBX API denied client id {self.client_id!r} (HTTP {resp.status_code}) on {GQL_PATH}; "
                    "give the API application read scope for cdr and extensions"
                )
            if resp.status_code != 200:
                raise FreePbxApiError(f"FreePBX API GraphQL answered HTTP {resp.status_code}: {resp.text[:200]}")
            body = resp.json()
            if body.get("errors"):
                raise FreePbxApiError(f"FreePBX API GraphQL errors: {body['errors']}")
            return body["data"]
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    # -- queries ---------------------------------------------------------------------------
    def cdr_pages(self, start_date: date, end_date: date, page_size: int = PAGE_SIZE) -> Iterator[list[dict]]:
        """Pages of CDR dicts for calls on start_date..end_date (inclusive local dates)."""
        offset = 0
        while True:
            data = self.graphql(CDRS_QUERY, {"first": page_size, "after": offset,
                                             "startDate": start_date.isoformat(), "endDate": end_date.isoformat()})
            result = data["fetchAllCdrs"]
            if result.get("status") is False:
                raise FreePbxApiError(f"FreePBX API fetchAllCdrs failed: {result.get('message')}")
            cdrs = result.get("cdrs") or []
            if not cdrs:
                return
            yield cdrs
            offset += len(cdrs)
            if offset >= int(result.get("totalCount") or 0):
                return

    def extensions(self) -> list[tuple[str, str | None]]:
        data = self.graphql(EXTENSIONS_QUERY)["fetchAllExtensions"]
        if data.get("status") is False:
            raise FreePbxApiError(f"FreePBX API fetchAllExtensions failed: {data.get('message')}")
        return [(str(e["extensionId"]), (e.get("user") or {}).get("name") or None)
                for e in data.get("extension") or []]


def _cdr_tuple(item: dict) -> tuple[tuple | None, str | None]:
    """A raw.pbx_cdr tuple from an API CDR, or (None, reason). Disposition is kept as given:
    FreePBX's resolver is known to return it wrong or empty, so nothing downstream relies on it."""
    calldate = str(item.get("calldate") or "")
    if not valid_datetime(calldate):
        return None, f"calldate {calldate[:40]!r} is not a 'YYYY-MM-DD HH:MM:SS' time"
    if not item.get("uniqueid"):
        return None, "empty uniqueid"
    values: list = []
    for col in CDR_COLUMNS:
        value = item.get(col)
        if col in CDR_INT_COLUMNS:
            try:
                value = int(value or 0)
            except (TypeError, ValueError):
                return None, f"{col} {value!r} is not a whole number"
            if not 0 <= value < 2**31:
                return None, f"{col} {value} is out of range"
        elif value is not None:
            value = str(value).replace("\x00", "")  # PostgreSQL text cannot hold NUL
        values.append(value)
    return tuple(values), None


def cdr_batches(api: FreePbxApi, window: Window, stored: dict | None, today: date, zone: ZoneInfo) -> Iterator[Batch]:
    """CDR batches for the window, or from the watermark (minus the overlap) to today; `zone` is
    the clock of `calldate` (the API filters by its dates)."""
    window_start, window_end = window.bounds_in(zone)
    if window_start is not None:
        start = window_start
    elif stored is not None:
        start = datetime.fromisoformat(stored["max_time"]) - OVERLAP
    else:
        start = None
    start_date = start.date() if start else date(2000, 1, 1)
    end_date = (window_end.date() if window_end else today)
    bounds = window.calldate_range(zone)
    max_seen = stored["max_time"] if stored else None
    log.info("PBX api: fetching CDRs %s..%s", start_date, end_date)
    for page in api.cdr_pages(start_date, end_date):
        rows, rejects = [], []
        for item in page:
            row, reason = _cdr_tuple(item)
            if row is None:
                key = f"{item.get('uniqueid') or '?'}/{item.get('sequence')}"
                rejects.append(Reject(f"fetchAllCdrs:{key}", reason or "invalid",
                                      json.dumps(item, ensure_ascii=False).encode("utf-8")))
                continue
            if bounds is not None and not bounds[0] <= row[0] < bounds[1]:
                continue
            rows.append(row)
            iso = row[0].replace(" ", "T")
            if max_seen is None or iso > max_seen:
                max_seen = iso
        yield Batch(rows, rejects, {"max_time": max_seen} if max_seen else None)
