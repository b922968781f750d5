"""What the client's HTTP sessions are made of: urllib3's Retry taught SoundCharts' 429s, a rate
ceiling shared by a process's clients, and a session whose credentials go to one origin only."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import MaxRetryError
from urllib3.util import parse_url
from urllib3.util.retry import Retry

from musiccharts_pipeline.soundcharts import errors


class SoundChartsRetry(Retry):
    """urllib3 Retry that understands SoundCharts' 429s.

    A rate-limit 429 carries ``x-ratelimit-reset``: wait that long, then retry. A 429 without it
    is an exhausted quota: stop at once and hand the response back to be raised as such.
    """

    def __init__(self, *args, on_retry=None, **kwargs):
        self.on_retry = on_retry
        super().__init__(*args, **kwargs)

    def new(self, **kw):
        retry_ = super().new(**kw)
        retry_.on_retry = self.on_retry
        return retry_

    def get_retry_after(self, response):
        reset = response.headers.get("x-ratelimit-reset")
        if reset is not None:
            try:
                return max(0.0, float(reset))
            except ValueError:
                return None
        return super().get_retry_after(response)

    def increment(
        self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None
    ):
        if (
            response is not None
            and response.status == 429
            and ("x-ratelimit-reset" not in response.headers)
        ):
            raise MaxRetryError(_pool, url, "quota exhausted")  # returned as-is to the caller
        if self.on_retry is not None:
            self.on_retry()
        return super().increment(method, url, response, error, _pool, _stacktrace)


class RateLimiter:
    """Spaces requests so a process never exceeds ``rate`` per second across its threads."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


_limiters: dict[tuple[str, float], RateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(base_url: str, rate: float) -> RateLimiter:
    with _limiters_lock:
        return _limiters.setdefault((base_url, rate), RateLimiter(rate))


class BodyTruncated(Exception):
    pass


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of a URL, the port made explicit, host lowercased."""
    parts = parse_url(url)
    scheme = (parts.scheme or "").lower()
    return scheme, (parts.host or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


def shown_origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")


class OriginSession(requests.Session):
    """A session whose headers (the credentials) go to one origin only: a redirect to another
    scheme, host or port is refused before it is sent (requests would follow it keeping every
    header but ``Authorization``); a redirect within the origin is followed."""

    def __init__(self, base_url: str):
        super().__init__()
        self.origin = origin(base_url)
        self.max_redirects = 5

    def rebuild_auth(self, prepared_request, response):
        if origin(prepared_request.url) != self.origin:
            raise errors.ContractError(
                f"the API redirected to another host ({shown_origin(prepared_request.url)}): "
                "not followed, the credentials go only to the configured API URL",
                response.status_code,
            )
        super().rebuild_auth(prepared_request, response)
