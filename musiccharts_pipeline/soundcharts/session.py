"""The SoundCharts HTTP session (requests + urllib3 Retry), thread-safe, rate-limited: what the
typed client (client.py) sends its calls through.

No Dagster imports: assets, the CLI and tests all use it the same way.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from musiccharts_pipeline.soundcharts import auth, errors
from musiccharts_pipeline.soundcharts.transport import (
    BodyTruncated,
    OriginSession,
    SoundChartsRetry,
    origin,
    shared_limiter,
    shown_origin,
)

log = logging.getLogger(__name__)

MAX_PAGE = 100
MAX_WINDOW_DAYS = 90
LOW_QUOTA = 1_000
#: Requests per second a process sends to a real API unless told otherwise.
DEFAULT_MAX_RPS = 10.0


def split_windows(
    start: dt.date, end: dt.date, days: int = MAX_WINDOW_DAYS
) -> list[tuple[dt.date, dt.date]]:
    """Cut [start, end] (inclusive) into consecutive windows of at most ``days`` days."""
    if start > end:
        return []
    windows = []
    while start <= end:
        stop = min(end, start + dt.timedelta(days=days - 1))
        windows.append((start, stop))
        start = stop + dt.timedelta(days=1)
    return windows


class SoundChartsSession:
    """The HTTP side of the SoundCharts client: authenticated GETs, retries, rate ceiling, quota
    tracking, typed errors, pagination.

    ``transport`` builds the requests adapter mounted on ``base_url`` from the client's retry
    and pool settings (``HTTPAdapter``: the network); the simulator's in-process adapter is one.
    ``max_rps=None`` is the default ceiling against a real API, ``DEFAULT_MAX_RPS``; 0 is none.
    """

    def __init__(
        self,
        base_url: str,
        app_id: str | None = None,
        api_key: str | None = None,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        team_id: str | None = None,
        auth_url: str | None = None,
        token_registry: dict | None = None,
        max_rps: float | None = None,
        timeout: float = 30.0,
        retries: int = 6,
        backoff: float = 0.2,
        pool_size: int = 16,
        transport: Callable[..., HTTPAdapter] = HTTPAdapter,
    ):
        credentials = auth.Credentials(
            app_id, api_key, client_id, client_secret, team_id, auth_url
        ).check()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = OriginSession(self.base_url)
        self._session.mount(
            self.base_url, transport(**self._adapter_settings(retries, backoff, pool_size))
        )
        self._session.headers["Accept"] = "application/json"
        self.tokens: auth.AccessTokens | None = None
        if credentials.uses_tokens:

            def token_session(url: str) -> OriginSession:
                session = OriginSession(url)
                session.mount(url, transport(max_retries=auth.token_retry(), pool_connections=1))
                return session

            self.tokens = auth.shared_tokens(
                credentials,
                credentials.auth_url or auth.DEFAULT_AUTH_URL,
                token_session,
                timeout,
                token_registry,
            )
        else:
            self._session.headers.update({"x-app-id": app_id, "x-api-key": api_key})
        rate = DEFAULT_MAX_RPS if max_rps is None else max_rps
        self._limiter = shared_limiter(self.base_url, rate)
        self._stats_lock = threading.Lock()
        self.calls: collections.Counter[str] = collections.Counter()
        self.retries = 0
        self.quota_remaining: int | None = None

    def _adapter_settings(self, retries: int, backoff: float, pool_size: int) -> dict[str, Any]:
        return {
            "max_retries": SoundChartsRetry(
                total=retries,
                connect=retries,
                read=retries,
                status=retries,
                backoff_factor=backoff,
                backoff_max=10,
                status_forcelist=(429, 502, 503, 504),
                allowed_methods=("GET", "HEAD"),
                raise_on_status=False,
                respect_retry_after_header=True,
                on_retry=self._count_retry,
            ),
            "pool_connections": pool_size,
            "pool_maxsize": pool_size,
        }

    def __repr__(self) -> str:
        return f"SoundChartsClient(base_url={self.base_url!r})"

    def close(self) -> None:
        self._session.close()

    # -- observation ----------------------------------------------------------------------------

    def _count_retry(self) -> None:
        with self._stats_lock:
            self.retries += 1

    def stats(self) -> dict[str, Any]:
        with self._stats_lock:
            return {
                "calls": dict(self.calls),
                "total_calls": sum(self.calls.values()),
                "retries": self.retries,
                "quota_remaining": self.quota_remaining,
            }

    # -- transport ------------------------------------------------------------------------------

    def get(self, path: str, params: dict | None = None, route: str = "other") -> dict:
        """GET one page and return its decoded JSON, raising typed errors. With access tokens,
        a 401 fetches a new token and asks once more; a second 401 is an AuthError."""
        for attempt in (1, 2):
            token = self.tokens.current() if self.tokens is not None else None
            try:
                response, data = self._get_with_body_retries(path, params, route, token)
            except (requests.RequestException, BodyTruncated) as exc:
                # any requests failure: its own text may quote a header (the key) or the URL
                raise errors.TransportError(
                    f"request failed after retries: {type(exc).__name__}",
                    url=self._display(path),
                ) from None
            if response.status_code == 401 and token is not None:
                assert self.tokens is not None
                self.tokens.refused(token)
                if attempt == 1:
                    continue
                data = {
                    "errors": [
                        {
                            "message": "the API refused a fresh access token too: check that "
                            "SOUNDCHARTS_CLIENT_ID belongs to SOUNDCHARTS_TEAM_ID and has API "
                            f"access ({api_said(data) or response.reason})"
                        }
                    ]
                }
            if response.status_code >= 400:
                self._raise(response, data, path)
            return data
        raise AssertionError("unreachable")

    # The one retry layer for what urllib3's Retry cannot see: a body cut short after the status
    # line came back. Connection failures and retryable statuses are urllib3's alone (a dead host
    # costs ``retries + 1`` attempts, not that many times this decorator's).
    @retry(
        retry=retry_if_exception_type((requests.exceptions.ChunkedEncodingError, BodyTruncated)),
        wait=wait_random_exponential(multiplier=0.1, max=5),
        stop=stop_after_attempt(4),
        reraise=True,
    )
    def _get_with_body_retries(
        self, path: str, params: dict | None, route: str, token: str | None
    ) -> tuple[requests.Response, dict]:
        url = self._resolve(path)
        headers = {"Authorization": f"Bearer {token}"} if token else None
        self._limiter.acquire()
        try:
            response = self._session.get(url, params=params, timeout=self.timeout, headers=headers)
            body = response.content
        except requests.exceptions.ChunkedEncodingError:
            self._count_retry()
            raise
        self._track_quota(response)
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            ctype = response.headers.get("Content-Type", "")
            if response.ok and "json" not in ctype:
                snippet = body[:60].decode("utf-8", "replace")
                raise errors.ContractError(
                    f"expected JSON, got {ctype or 'no content type'}: {snippet!r}",
                    response.status_code,
                    url=self._display(path),
                ) from None
            if response.ok:  # a JSON body cut short: fetch it again
                self._count_retry()
                raise BodyTruncated() from None
            data = {}
        if not isinstance(data, dict):
            raise errors.ContractError(
                "response is not a JSON object", response.status_code, url=self._display(path)
            )
        with self._stats_lock:
            self.calls[route] += 1  # every answered request, errors included
        return response, data

    def _display(self, path: str) -> str:
        return path.split("?")[0]

    def _resolve(self, path: str) -> str:
        """The URL of ``path``: a path is taken under the configured API URL; an absolute URL
        (an answer's ``page.next``) only when it has the API URL's origin, else a
        ContractError naming its host: the credentials never go to another host."""
        parts = urlsplit(path)
        if not (parts.scheme or parts.netloc):
            return self.base_url + ("" if path.startswith("/") else "/") + path
        if parts.scheme in ("http", "https") and origin(path) == self._session.origin:
            return path
        raise errors.ContractError(
            f"the API pointed to another host ({shown_origin(path)}): not followed, the "
            "credentials go only to the configured API URL",
            url=self._display(path),
        )

    def _track_quota(self, response: requests.Response) -> None:
        value = response.headers.get("x-quota-remaining")
        if value is None:
            return
        try:
            remaining = int(value)
        except ValueError:
            return
        with self._stats_lock:
            self.quota_remaining = remaining
        if remaining <= LOW_QUOTA and remaining % 100 == 0:
            log.warning("SoundCharts quota is low: %s calls remaining", remaining)

    def _raise(self, response: requests.Response, data: dict, path: str) -> None:
        errs = data.get("errors") or []
        message = (
            (errs[0].get("message") if errs and isinstance(errs[0], dict) else None)
            or data.get("message")
            or (response.text[:200] if response.text and not data else "")
            or response.reason
        )
        status = response.status_code
        if status == 429:
            cls = (
                errors.RateLimited if "maximum request count" in message else errors.QuotaExhausted
            )
        else:
            cls = {
                400: errors.BadRequest,
                401: errors.AuthError,
                403: errors.PlanError,
                404: errors.NotFound,
                410: errors.Gone,
            }.get(status, errors.ServerError if status >= 500 else errors.SoundChartsError)
        raise cls(message, status, errs, url=self._display(path))

    def paginate(
        self,
        path: str,
        params: dict | None = None,
        route: str = "other",
    ) -> Iterator[dict]:
        """Yield every page of a collection, following ``page.next`` until it is null. Offsets
        are computed from ``total`` only for an envelope that has no ``next`` key at all."""
        params = {**(params or {}), "offset": 0, "limit": MAX_PAGE}
        next_path: str | None = path
        while next_path is not None:
            page = self.get(next_path, params, route)
            yield page
            info = page.get("page") or {}
            items = page.get("items") or []
            if "next" in info:
                next_path, params = info["next"] or None, None
            elif items and info.get("total") is not None and params is not None:
                params = {**params, "offset": params["offset"] + len(items)}
                next_path = path if params["offset"] < info["total"] else None
            else:
                next_path = None

    def _collect(self, path: str, params: dict | None, route: str) -> tuple[dict | None, list]:
        related, items = None, []
        for page in self.paginate(path, params, route):
            related = page.get("related", related)
            items.extend(page.get("items") or [])
        return related, items

    # -- typed routes ---------------------------------------------------------------------------


def api_said(data: dict) -> str | None:
    errs = data.get("errors") or []
    return (errs[0].get("message") if errs and isinstance(errs[0], dict) else None) or data.get(
        "message"
    )


def seg(value: str) -> str:
    return quote(str(value), safe="")
