"""SoundCharts HTTP client (requests + urllib3 Retry), thread-safe, rate-limited, typed.

No Dagster imports: assets, the CLI and tests all use it the same way.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
from pydantic import BaseModel, ValidationError
from requests.adapters import HTTPAdapter
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)
from urllib3.exceptions import MaxRetryError
from urllib3.util import parse_url
from urllib3.util.retry import Retry

from musiccharts_pipeline.soundcharts import auth, errors
from musiccharts_pipeline.soundcharts import models as m

log = logging.getLogger(__name__)

MAX_PAGE = 100
MAX_WINDOW_DAYS = 90
LOW_QUOTA = 1_000
#: Requests per second a process sends to a real API unless told otherwise.
DEFAULT_MAX_RPS = 10.0
Model = TypeVar("Model", bound=BaseModel)


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


class _BodyTruncated(Exception):
    pass


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of a URL, the port made explicit, host lowercased."""
    parts = parse_url(url)
    scheme = (parts.scheme or "").lower()
    return scheme, (parts.host or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


def _shown_origin(url: str) -> str:
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
                f"the API redirected to another host ({_shown_origin(prepared_request.url)}): "
                "not followed, the credentials go only to the configured API URL",
                response.status_code,
            )
        super().rebuild_auth(prepared_request, response)


class SoundChartsClient:
    """Typed access to the SoundCharts routes the pipeline uses, over HTTP.

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
            except (requests.RequestException, _BodyTruncated) as exc:
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
                            f"access ({_api_said(data) or response.reason})"
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
        retry=retry_if_exception_type((requests.exceptions.ChunkedEncodingError, _BodyTruncated)),
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
                raise _BodyTruncated() from None
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
            f"the API pointed to another host ({_shown_origin(path)}): not followed, the "
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

    def platforms(self, kind: str | None = None) -> list[m.Platform]:
        path = "/api/v2/referential/platforms" + (f"/{kind}" if kind else "")
        _, items = self._collect(path, None, f"platforms{'_' + kind if kind else ''}")
        return _parse_list(m.Platform, items, "platform")

    def chart_platforms(self) -> list[m.Platform]:
        """The platforms that have song charts (``/api/v2/chart/song/platforms``)."""
        _, items = self._collect("/api/v2/chart/song/platforms", None, "chart_platforms")
        return _parse_list(m.Platform, items, "chart platform")

    def charts(self, platform: str, country_code: str | None = None) -> list[m.Chart]:
        params = {"countryCode": country_code} if country_code else None
        _, items = self._collect(
            f"/api/v2/chart/song/by-platform/{_seg(platform)}", params, "charts_by_platform"
        )
        return _parse_list(m.Chart, items, "chart")

    def available_rankings(
        self, slug: str, since: dt.date | None = None, newest_only: bool = False
    ) -> m.AvailableRankings:
        """Published ranking datetimes, newest first. ``since`` stops paging once older dates
        are reached; ``newest_only`` reads just the first page (the newest 100)."""
        related, items = None, []
        path = f"/api/v2/chart/song/{_seg(slug)}/available-rankings"
        for page in self.paginate(path, None, "available_rankings"):
            related = page.get("related", related)
            batch = page.get("items") or []
            items.extend(batch)
            if newest_only or (since and batch and _parse_date(batch[-1]) < since):
                break
        if since:
            items = [d for d in items if _parse_date(d) >= since]
        return parse_payload(
            m.AvailableRankings,
            {"chart": related or {"slug": slug}, "datetimes": items},
            "available rankings",
        )

    def ranking(self, slug: str, when: str | dt.date = "latest") -> m.Ranking:
        """One ranking, all pages. ``when``: "latest", an ATOM datetime string, or a date."""
        if isinstance(when, dt.date):
            when = f"{when.isoformat()}T12:00:00+00:00"
        path = f"/api/v2.14/chart/song/{_seg(slug)}/ranking/{quote(when, safe=':+')}"
        related, items = self._collect(path, None, "ranking")
        related = related or {}
        return parse_payload(
            m.Ranking,
            {
                "chart": related.get("chart") or {"slug": slug},
                "date": related.get("date") or when,
                "entries": items,
            },
            f"ranking of {slug}",
        )

    def song(self, uuid: str, missing_ok: bool = True) -> m.Song | None:
        return self._object(f"/api/v2.25/song/{_seg(uuid)}", m.Song, "song", missing_ok)

    def song_by_isrc(self, isrc: str) -> m.Song | None:
        """The song of an ISRC; None when SoundCharts does not know it (404); ``errors.Gone``
        when it has blacklisted it (410: several tracks at the DSPs)."""
        return self._object(f"/api/v2.25/song/by-isrc/{_seg(isrc)}", m.Song, "song_by_isrc", True)

    def song_albums(self, uuid: str) -> list[m.Album] | None:
        """The releases a song is on (light album objects); None for an unknown song."""
        try:
            _, items = self._collect(f"/api/v2/song/{_seg(uuid)}/albums", None, "song_albums")
        except errors.NotFound:
            return None
        return _parse_list(m.Album, items, "song album")

    def album(self, uuid: str, missing_ok: bool = True) -> m.Album | None:
        return self._object(f"/api/v2.36/album/by-uuid/{_seg(uuid)}", m.Album, "album", missing_ok)

    def artist_songs(self, uuid: str) -> list[m.Song]:
        """Every song of an artist's catalogue (all pages; light song objects)."""
        _, items = self._collect(f"/api/v2.21/artist/{_seg(uuid)}/songs", None, "artist_songs")
        return _parse_list(m.Song, items, "artist song")

    def song_identifiers(self, uuid: str, platform: str | None = None) -> list[dict]:
        params = {"platform": platform} if platform else None
        _, items = self._collect(
            f"/api/v2/song/{_seg(uuid)}/identifiers", params, "song_identifiers"
        )
        return items

    def artist(self, uuid: str, missing_ok: bool = True) -> m.Artist | None:
        return self._object(f"/api/v2.9/artist/{_seg(uuid)}", m.Artist, "artist", missing_ok)

    def song_audience(
        self, uuid: str, platform: str, start: dt.date, end: dt.date, identifier: str | None = None
    ) -> list[m.AudiencePoint]:
        """Cumulative values per identifier and day, oldest first, over ≤90-day calls."""
        points = []
        for item in self._series(
            f"/api/v2/song/{_seg(uuid)}/audience/{_seg(platform)}",
            start,
            end,
            "song_audience",
            {"identifier": identifier},
        ):
            day = _parse_date(item.get("date"))
            for plot in item.get("plots") or []:
                points.append(
                    {"date": day, "identifier": plot.get("identifier"), "value": plot.get("value")}
                )
        parsed = _parse_list(m.AudiencePoint, points, "song audience point")
        return sorted(parsed, key=lambda p: (p.date, p.identifier))

    def artist_audience(
        self, uuid: str, platform: str, start: dt.date, end: dt.date
    ) -> list[m.FollowerPoint]:
        """Follower counts, oldest first; [] when the artist has no account there."""
        try:
            items = self._series(
                f"/api/v2/artist/{_seg(uuid)}/audience/{_seg(platform)}",
                start,
                end,
                "artist_audience",
            )
        except errors.NotFound:
            return []
        return sorted(
            _parse_list(m.FollowerPoint, items, "artist audience point"), key=lambda p: p.date
        )

    def artist_streaming(
        self, uuid: str, platform: str, start: dt.date, end: dt.date
    ) -> list[m.ListenerPoint]:
        try:
            items = self._series(
                f"/api/v2/artist/{_seg(uuid)}/streaming/{_seg(platform)}/listening",
                start,
                end,
                "artist_streaming",
            )
        except errors.NotFound:
            return []
        return sorted(
            _parse_list(m.ListenerPoint, items, "artist streaming point"), key=lambda p: p.date
        )

    def _series(
        self, path: str, start: dt.date, end: dt.date, route: str, extra: dict | None = None
    ) -> list[dict]:
        items: list[dict] = []
        extra = {k: v for k, v in (extra or {}).items() if v is not None}
        for lo, hi in split_windows(start, end):
            params = {"startDate": lo.isoformat(), "endDate": hi.isoformat(), **extra}
            items.extend(self._collect(path, params, route)[1])
        return items

    def _object(self, path: str, model: type[Model], route: str, missing_ok: bool) -> Model | None:
        try:
            data = self.get(path, None, route)
        except errors.NotFound:
            if missing_ok:
                return None
            raise
        return parse_payload(model, data.get("object"), route.replace("_", " "))


def _api_said(data: dict) -> str | None:
    errs = data.get("errors") or []
    return (errs[0].get("message") if errs and isinstance(errs[0], dict) else None) or data.get(
        "message"
    )


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def _parse_date(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.datetime.fromisoformat(value).date()
        except ValueError:
            return value
    return value


def parse_payload(model: type[Model], data: Any, what: str) -> Model:
    """``data`` validated as ``model``; a ContractError naming the offending fields if not."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise errors.ContractError(
            f"{what} payload breaks the contract: {_describe(exc)}"
        ) from None


def _parse_list(model: type[Model], items: list, what: str) -> list[Model]:
    out = []
    for index, item in enumerate(items):
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            raise errors.ContractError(
                f"{what} #{index} breaks the contract: {_describe(exc)}"
            ) from None
    return out


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(x) for x in err["loc"]) or "(object)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
