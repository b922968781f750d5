"""The SoundCharts simulator: a WSGI app serving the reference's routes, envelopes, pagination,
quota headers and errors over the deterministic :class:`World`, with fault injection."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import math
import os
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs, urlencode

from musiccharts_pipeline.soundcharts.simulator.world import (
    CHART_PLATFORMS,
    PLATFORMS,
    SOCIAL_PLATFORMS,
    SONG_AUDIENCE_PLATFORMS,
    STREAMING_PLATFORMS,
    World,
)

SANDBOX_CREDENTIALS = ("soundcharts", "soundcharts")
DEFAULT_CREDENTIALS = ("musiccharts-simulator", "simulator-key")
FAULT_KINDS = ("rate_limit", "quota", "server_error", "reset", "truncate", "slow")
MAX_WINDOW_DAYS = 90


class ApiError(Exception):
    def __init__(self, status: int, message: str, key: str = "access", headers=None):
        super().__init__(message)
        self.status, self.message, self.key = status, message, key
        self.headers = headers or {}


@dataclasses.dataclass
class SimulatorConfig:
    seed: int = 7
    today: dt.date | None = None
    app_id: str = DEFAULT_CREDENTIALS[0]
    api_key: str = DEFAULT_CREDENTIALS[1]
    latency: float = 0.0  # seconds added to every request
    rate_limit_per_minute: int | None = None
    quota: int | None = None  # None: unlimited
    faults: dict[str, float] = dataclasses.field(default_factory=dict)
    fault_seed: int = 0
    fault_reset_seconds: int = 0  # x-ratelimit-reset sent with injected rate-limit 429s
    slow_seconds: float = 0.3

    @classmethod
    def from_env(cls, **overrides) -> SimulatorConfig:
        env = os.environ
        cfg = cls(
            seed=int(env.get("SOUNDCHARTS_SIMULATOR_SEED", 7)),
            app_id=env.get("SOUNDCHARTS_APP_ID") or DEFAULT_CREDENTIALS[0],
            api_key=env.get("SOUNDCHARTS_API_KEY") or DEFAULT_CREDENTIALS[1],
            latency=float(env.get("SOUNDCHARTS_SIMULATOR_LATENCY_MS", 0)) / 1000,
            rate_limit_per_minute=_int_or_none(env.get("SOUNDCHARTS_SIMULATOR_RATE_LIMIT")),
            quota=_int_or_none(env.get("SOUNDCHARTS_SIMULATOR_QUOTA")),
            faults=parse_faults(env.get("SOUNDCHARTS_SIMULATOR_FAULTS", "")),
            fault_seed=int(env.get("SOUNDCHARTS_SIMULATOR_FAULT_SEED", 0)),
        )
        return dataclasses.replace(cfg, **overrides)


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def parse_faults(text: str) -> dict[str, float]:
    """``"rate_limit=0.02,server_error=0.03"`` -> probabilities per fault kind."""
    faults = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, _, prob = part.partition("=")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {', '.join(FAULT_KINDS)}")
        faults[kind] = float(prob)
    return faults


Route = tuple[str, re.Pattern, Callable]


class Simulator:
    """WSGI callable. Thread-safe: counters and the fault RNG are guarded by one lock."""

    def __init__(self, config: SimulatorConfig | None = None, **overrides):
        self.config = config or SimulatorConfig(**overrides)
        if config is not None and overrides:
            self.config = dataclasses.replace(config, **overrides)
        self.world = World(seed=self.config.seed, today=self.config.today)
        self.quota_remaining = self.config.quota
        self._lock = threading.Lock()
        self._fault_rng = random.Random(self.config.fault_seed)
        self._window: collections.deque[float] = collections.deque()
        self.request_log: list[tuple[str, str, int]] = []
        self.request_times: list[float] = []  # time.monotonic() of each answered request
        self.faults_injected: collections.Counter[str] = collections.Counter()
        #: route name -> fn(body, path) returning the body to serve (a dict, or bytes served as
        #: HTML): lets tests serve payloads that break the contract
        self.tampering: dict[str, Callable] = {}
        self._routes: list[Route] = [
            (name, re.compile("^" + pattern + "$"), handler)
            for name, pattern, handler in self._route_table()
        ]

    # -- knobs and observation ----------------------------------------------------------------

    def counts(self) -> collections.Counter[str]:
        """Requests per route name (successful or not)."""
        with self._lock:
            return collections.Counter(route for route, _, _ in self.request_log)

    def successful_counts(self) -> collections.Counter[str]:
        with self._lock:
            return collections.Counter(r for r, _, status in self.request_log if status < 400)

    def reset_log(self) -> None:
        with self._lock:
            self.request_log.clear()
            self.request_times.clear()
            self.faults_injected.clear()

    def set_faults(self, faults: dict[str, float], seed: int | None = None) -> None:
        with self._lock:
            self.config.faults = dict(faults)
            if seed is not None:
                self._fault_rng = random.Random(seed)

    def set_quota(self, quota: int | None) -> None:
        with self._lock:
            self.quota_remaining = quota

    # -- WSGI ---------------------------------------------------------------------------------

    def __call__(self, environ, start_response) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        route_name, handler, params = self._match(path)
        headers: dict[str, str] = {}
        truncate = False
        try:
            if self.config.latency:
                time.sleep(self.config.latency)
            self._authenticate(environ)
            fault = self._draw_fault()
            if fault == "reset":
                self._log(route_name, path, 0)
                sock = environ.get("simulator.socket")
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
                return []
            if fault == "slow":
                time.sleep(self.config.slow_seconds)
            truncate = fault == "truncate"
            self._admit(fault)
            if handler is None:
                raise ApiError(404, "Not found.")
            body = handler(query=query, path=path, **params)
            if route_name in self.tampering:
                body = self.tampering[route_name](body, path)
            status = 200
        except ApiError as err:
            status, headers = err.status, dict(err.headers)
            body = {"errors": [{"key": err.key, "code": err.status, "message": err.message}]}
        with self._lock:
            if status < 400 and self.quota_remaining is not None:
                self.quota_remaining -= 1
            remaining = self.quota_remaining if self.quota_remaining is not None else 1_000_000
        self._log(route_name, path, status)
        if isinstance(body, bytes):  # tampered: served as a non-JSON page
            payload, ctype = body, "text/html; charset=utf-8"
        else:
            if status < 400:
                body.setdefault("errors", [])
            payload, ctype = json.dumps(body).encode(), "application/json"
        headers.update(
            {
                "Content-Type": ctype,
                "Content-Length": str(len(payload)),
                "x-quota-remaining": str(max(remaining, 0)),
            }
        )
        start_response(f"{status} {_REASONS.get(status, 'Error')}", list(headers.items()))
        return [payload[: len(payload) // 2] if truncate else payload]

    def _log(self, route: str, path: str, status: int) -> None:
        with self._lock:
            self.request_log.append((route, path, status))
            self.request_times.append(time.monotonic())

    def _match(self, path: str):
        for name, pattern, handler in self._routes:
            m = pattern.match(path)
            if m:
                return name, handler, m.groupdict()
        return "unknown", None, {}

    def _authenticate(self, environ) -> None:
        creds = (environ.get("HTTP_X_APP_ID"), environ.get("HTTP_X_API_KEY"))
        if creds not in (SANDBOX_CREDENTIALS, (self.config.app_id, self.config.api_key)):
            raise ApiError(401, "You are not logged in.")

    def _draw_fault(self) -> str | None:
        with self._lock:
            if not self.config.faults:
                return None
            roll = self._fault_rng.random()
            for kind in FAULT_KINDS:
                roll -= self.config.faults.get(kind, 0.0)
                if roll < 0:
                    self.faults_injected[kind] += 1
                    return kind
        return None

    def _admit(self, fault: str | None) -> None:
        """Quota, per-minute limit and the injected HTTP faults."""
        with self._lock:
            if fault == "quota" or (self.quota_remaining is not None and self.quota_remaining <= 0):
                raise ApiError(429, "Quota exceeded: your plan's API quota is spent.", "quota")
            if fault == "rate_limit":
                raise ApiError(
                    429,
                    "You have reached the maximum request count per minute.",
                    "rate_limit",
                    {"x-ratelimit-reset": str(self.config.fault_reset_seconds)},
                )
            limit = self.config.rate_limit_per_minute
            if limit:
                now = time.monotonic()
                while self._window and now - self._window[0] >= 60:
                    self._window.popleft()
                if len(self._window) >= limit:
                    reset = max(0, math.ceil(60 - (now - self._window[0])))
                    raise ApiError(
                        429,
                        "You have reached the maximum request count per minute.",
                        "rate_limit",
                        {"x-ratelimit-reset": str(reset)},
                    )
                self._window.append(now)
        if fault == "server_error":
            raise ApiError(503, "Service temporarily unavailable.", "server")

    # -- routes -------------------------------------------------------------------------------

    def _route_table(self):
        uuid = r"(?P<uuid>[0-9a-fA-F-]{36})"
        slug = r"(?P<slug>[^/]+)"
        plat = r"(?P<platform>[^/]+)"
        return [
            ("platforms", r"/api/v2/referential/platforms", self._platforms(list(PLATFORMS))),
            (
                "platforms_social",
                r"/api/v2/referential/platforms/social",
                self._platforms(SOCIAL_PLATFORMS),
            ),
            (
                "platforms_streaming",
                r"/api/v2/referential/platforms/streaming",
                self._platforms(STREAMING_PLATFORMS),
            ),
            (
                "charts_by_platform",
                rf"/api/v2/chart/song/by-platform/{plat}",
                self._charts_by_platform,
            ),
            (
                "available_rankings",
                rf"/api/v2/chart/song/{slug}/available-rankings",
                self._available,
            ),
            ("ranking", rf"/api/v2\.14/chart/song/{slug}/ranking/(?P<when>[^/]+)", self._ranking),
            ("song", rf"/api/v2\.25/song/{uuid}", self._song),
            ("song_identifiers", rf"/api/v2/song/{uuid}/identifiers", self._song_identifiers),
            ("song_audience", rf"/api/v2/song/{uuid}/audience/{plat}", self._song_audience),
            ("artist", rf"/api/v2\.9/artist/{uuid}", self._artist),
            ("artist_audience", rf"/api/v2/artist/{uuid}/audience/{plat}", self._artist_audience),
            (
                "artist_streaming",
                rf"/api/v2/artist/{uuid}/streaming/{plat}/listening",
                self._artist_streaming,
            ),
            ("team_usage", r"/api/v2/team/usage", self._usage),
        ]

    def _platforms(self, codes: list[str]):
        def handler(query, path):
            return _page([{"code": c, "name": PLATFORMS[c]} for c in codes], query, path)

        return handler

    def _chart(self, slug: str):
        chart = self.world.charts.get(slug)
        if chart is None:
            raise ApiError(404, "Chart not found")
        return chart

    def _charts_by_platform(self, query, path, platform):
        if platform not in CHART_PLATFORMS:
            raise ApiError(404, "Platform not found")
        charts = [c.light() for c in self.world.charts.values() if c.platform == platform]
        if query.get("countryCode"):
            charts = [c for c in charts if c["countryCode"] == query["countryCode"].upper()]
        for c in charts:
            c.pop("metric", None)
        return _page(charts, query, path)

    def _available(self, query, path, slug):
        chart = self._chart(slug)
        light = chart.light()
        light.pop("metric", None)
        dates = [_atom(d) for d in reversed(self.world.chart_dates(chart))]
        return _page(dates, query, path, related=light)

    def _ranking(self, query, path, slug, when):
        chart = self._chart(slug)
        if when == "latest":
            date = self.world.chart_dates(chart)[-1]
        else:
            try:
                date = dt.date.fromisoformat(when[:10])
            except ValueError:
                raise ApiError(400, "Invalid date.", "argument") from None
        ranking = self.world.ranking(chart, date)
        if ranking is None:
            raise ApiError(404, "Not found.")
        items = []
        for k, i in enumerate(ranking.songs):
            song = self.world.song_object(i)
            pos, old = k + 1, ranking.old_positions[k]
            items.append(
                {
                    "song": {key: song[key] for key in ("uuid", "name", "creditName", "imageUrl")},
                    "position": pos,
                    "positionEvolution": (old - pos) if old else 0,
                    "metric": ranking.metrics[k],
                    "entryState": ranking.entry_states[k],
                    "entryDate": _atom(ranking.entry_dates[k]),
                    "rankDate": _atom(date),
                    "oldPosition": old,
                    "timeOnChart": ranking.times_on_chart[k],
                    "timeOnChartUnit": "DOC" if chart.frequency == "daily" else "WOC",
                }
            )
        return _page(items, query, path, related={"chart": chart.light(), "date": _atom(date)})

    def _song_index(self, uuid: str) -> int:
        i = self.world.song_index.get(uuid.lower())
        if i is None:
            raise ApiError(404, "Not found.")
        return i

    def _song(self, query, path, uuid):
        return {"type": "song", "object": self.world.song_object(self._song_index(uuid))}

    def _song_identifiers(self, query, path, uuid):
        i = self._song_index(uuid)
        items = [
            {
                "platformName": PLATFORMS[p],
                "platformCode": p,
                "identifier": ident,
                "url": f"https://{p}.example/track/{ident}",
                "default": n == 0,
            }
            for p, idents in self.world.song_identifiers(i).items()
            for n, ident in enumerate(idents)
            if not query.get("platform") or query["platform"] == p
        ]
        song = self.world.song_object(i)
        return _page(
            items, query, path, related={k: song[k] for k in ("uuid", "name", "creditName")}
        )

    def _song_audience(self, query, path, uuid, platform):
        i = self._song_index(uuid)
        if platform not in SONG_AUDIENCE_PLATFORMS:
            raise ApiError(
                400,
                f'Only "{", ".join(SONG_AUDIENCE_PLATFORMS)}" are supported platforms.',
                "argument",
            )
        start, end = self._window_dates(query)
        points = self.world.song_audience(i, platform, start, end)
        if query.get("identifier"):
            points = [
                {**p, "plots": [x for x in p["plots"] if x["identifier"] == query["identifier"]]}
                for p in points
            ]
        song = self.world.song_object(i)
        related = {k: song[k] for k in ("uuid", "name", "creditName", "imageUrl")}
        return _page(points, query, path, related=related)

    def _artist_index(self, uuid: str) -> int:
        a = self.world.artist_index.get(uuid.lower())
        if a is None:
            raise ApiError(404, "Not found.")
        return a

    def _artist(self, query, path, uuid):
        return {"type": "artist", "object": self.world.artist_object(self._artist_index(uuid))}

    def _artist_related(self, a: int, platform: str) -> dict:
        return {
            "artist": self.world.artist_light(a),
            "platform": platform,
            "lastCrawlDate": _atom(self.world.today),
        }

    def _artist_audience(self, query, path, uuid, platform):
        a = self._artist_index(uuid)
        if platform not in SOCIAL_PLATFORMS:
            raise ApiError(400, "Invalid platform code.", "argument")
        start, end = self._window_dates(query)
        points = self.world.artist_followers(a, platform, start, end)
        if not points and not self.world.artist_followers(
            a, platform, self.world.start, self.world.today
        ):
            raise ApiError(404, "No social account found for artist")
        return _page(points, query, path, related=self._artist_related(a, platform))

    def _artist_streaming(self, query, path, uuid, platform):
        a = self._artist_index(uuid)
        if platform not in STREAMING_PLATFORMS:
            raise ApiError(400, "Invalid platform code.", "argument")
        start, end = self._window_dates(query)
        points = self.world.artist_listeners(a, platform, start, end)
        return _page(points, query, path, related=self._artist_related(a, platform))

    def _usage(self, query, path):
        return {"quota": self.quota_remaining}

    def _window_dates(self, query) -> tuple[dt.date, dt.date]:
        try:
            end = (
                dt.date.fromisoformat(query["endDate"])
                if query.get("endDate")
                else self.world.today
            )
            start = (
                dt.date.fromisoformat(query["startDate"])
                if query.get("startDate")
                else end - dt.timedelta(days=30)
            )
        except ValueError:
            raise ApiError(400, "Invalid date.", "argument") from None
        if start > end:
            raise ApiError(400, "startDate must be before endDate.", "argument")
        if (end - start).days > MAX_WINDOW_DAYS:
            raise ApiError(400, f"The period cannot exceed {MAX_WINDOW_DAYS} days.", "argument")
        return start, end


def _atom(date: dt.date) -> str:
    return f"{date.isoformat()}T12:00:00+00:00"


def _page(items: list, query: dict, path: str, related: dict | None = None) -> dict:
    try:
        offset = max(0, int(query.get("offset", 0)))
        limit = min(100, max(1, int(query.get("limit", 100))))
    except ValueError:
        raise ApiError(400, "Invalid offset or limit.", "argument") from None
    total = len(items)

    def link(new_offset: int) -> str:
        return path + "?" + urlencode({**query, "offset": new_offset, "limit": limit})

    body = {
        "items": items[offset : offset + limit],
        "page": {
            "offset": offset,
            "limit": limit,
            "next": link(offset + limit) if offset + limit < total else None,
            "previous": link(max(0, offset - limit)) if offset > 0 else None,
            "total": total,
        },
    }
    if related is not None:
        body = {"related": related, **body}
    return body


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
