"""The simulator's routes: the reference's paths, envelopes and pagination over the :class:`World`.

Each handler takes the query (a dict) and the request path, plus the path's named groups, and
returns the body to serve or raises :class:`ApiError`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from urllib.parse import urlencode

from musiccharts_pipeline.soundcharts.simulator.catalogue import (
    CHART_PLATFORMS,
    PLATFORMS,
    SOCIAL_PLATFORMS,
    SONG_AUDIENCE_PLATFORMS,
    STREAMING_PLATFORMS,
)
from musiccharts_pipeline.soundcharts.simulator.errors import ApiError
from musiccharts_pipeline.soundcharts.simulator.world import World

MAX_WINDOW_DAYS = 90

Route = tuple[str, re.Pattern, Callable]


class Routes:
    """The route table over one world; ``quota`` answers the usage route."""

    def __init__(self, world: World, quota: Callable[[], int | None]):
        self.world = world
        self._quota = quota
        self._routes: list[Route] = [
            (name, re.compile("^" + pattern + "$"), handler)
            for name, pattern, handler in self._route_table()
        ]

    def match(self, path: str) -> tuple[str, Callable | None, dict]:
        """The route's name, its handler and the path's named groups ("unknown", None, {})."""
        for name, pattern, handler in self._routes:
            m = pattern.match(path)
            if m:
                return name, handler, m.groupdict()
        return "unknown", None, {}

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
                "chart_platforms",
                r"/api/v2/chart/song/platforms",
                self._platforms(list(CHART_PLATFORMS)),
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
            ("song_by_isrc", r"/api/v2\.25/song/by-isrc/(?P<isrc>[^/]+)", self._song_by_isrc),
            ("song", rf"/api/v2\.25/song/{uuid}", self._song),
            ("song_identifiers", rf"/api/v2/song/{uuid}/identifiers", self._song_identifiers),
            ("song_albums", rf"/api/v2/song/{uuid}/albums", self._song_albums),
            ("album", rf"/api/v2\.36/album/by-uuid/{uuid}", self._album),
            ("song_audience", rf"/api/v2/song/{uuid}/audience/{plat}", self._song_audience),
            ("artist", rf"/api/v2\.9/artist/{uuid}", self._artist),
            ("artist_songs", rf"/api/v2\.21/artist/{uuid}/songs", self._artist_songs),
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
            return page([{"code": c, "name": PLATFORMS[c]} for c in codes], query, path)

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
        return page(charts, query, path)

    def _available(self, query, path, slug):
        chart = self._chart(slug)
        light = chart.light()
        light.pop("metric", None)
        stamps = [stamp for _, stamp in self.world.listed(chart)]
        return page(stamps, query, path, related=light)

    def _ranking(self, query, path, slug, when):
        chart = self._chart(slug)
        if when == "latest":
            listed = self.world.listed(chart)
            if not listed:
                raise ApiError(404, "Not found.")
            date = listed[0][0]
        else:
            try:
                date = dt.date.fromisoformat(when[:10])
            except ValueError:
                raise ApiError(400, "Invalid date.", "argument") from None
        served = self.world.published_ranking(chart, date)
        if served is None:
            raise ApiError(404, "Not found.")
        ranking, stamp = served
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
                    "entryDate": atom(ranking.entry_dates[k]),
                    "rankDate": atom(date),
                    "oldPosition": old,
                    "timeOnChart": ranking.times_on_chart[k],
                    "timeOnChartUnit": "DOC" if chart.frequency == "daily" else "WOC",
                }
            )
        return page(items, query, path, related={"chart": chart.light(), "date": stamp})

    def _song_index(self, uuid: str) -> int:
        i = self.world.song_index.get(uuid.lower())
        if i is None:
            raise ApiError(404, "Not found.")
        return i

    def _song(self, query, path, uuid):
        return {"type": "song", "object": self.world.song_object(self._song_index(uuid))}

    def _song_by_isrc(self, query, path, isrc):
        i = self.world.isrc_index.get(isrc.upper())
        if i is None:
            raise ApiError(404, "Not found.")
        if self.world.isrc_blacklisted(isrc.upper()):
            raise ApiError(410, "ISRC blacklisted due to multiple tracks identified from DSP")
        return {"type": "song", "object": self.world.song_object(i)}

    def _song_albums(self, query, path, uuid):
        i = self._song_index(uuid)
        items = []
        for album_uuid, _, _ in self.world.song_albums(i):
            album = self.world.album_object(album_uuid)
            items.append({k: album[k] for k in ("uuid", "name", "type", "releaseDate", "upc")})
        song = self.world.song_object(i)
        return page(items, query, path, related={k: song[k] for k in ("uuid", "name")})

    def _album(self, query, path, uuid):
        if uuid.lower() not in self.world.album_index:
            raise ApiError(404, "Not found.")
        return {"type": "album", "object": self.world.album_object(uuid.lower())}

    def _artist_songs(self, query, path, uuid):
        a = self._artist_index(uuid)
        items = []
        for i in self.world.artist_songs(a):
            song = self.world.song_object(i)
            items.append(
                {k: song[k] for k in ("uuid", "name", "creditName", "releaseDate", "appUrl")}
                | {"imageUrl": song["imageUrl"]}
            )
        return page(items, query, path, related=self.world.artist_light(a))

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
        return page(
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
        return page(points, query, path, related=related)

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
            "lastCrawlDate": atom(self.world.horizon()),
        }

    def _artist_audience(self, query, path, uuid, platform):
        a = self._artist_index(uuid)
        if platform not in SOCIAL_PLATFORMS:
            raise ApiError(400, "Invalid platform code.", "argument")
        start, end = self._window_dates(query)
        points = self.world.artist_followers(a, platform, start, end)
        if not points and not self.world.artist_followers(
            a, platform, self.world.start, self.world.horizon()
        ):
            raise ApiError(404, "No social account found for artist")
        return page(points, query, path, related=self._artist_related(a, platform))

    def _artist_streaming(self, query, path, uuid, platform):
        a = self._artist_index(uuid)
        if platform not in STREAMING_PLATFORMS:
            raise ApiError(400, "Invalid platform code.", "argument")
        start, end = self._window_dates(query)
        points = self.world.artist_listeners(a, platform, start, end)
        return page(points, query, path, related=self._artist_related(a, platform))

    def _usage(self, query, path):
        return {"quota": self._quota()}

    def _window_dates(self, query) -> tuple[dt.date, dt.date]:
        try:
            end = (
                dt.date.fromisoformat(query["endDate"])
                if query.get("endDate")
                else self.world.horizon()
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


def atom(date: dt.date) -> str:
    return f"{date.isoformat()}T12:00:00+00:00"


def page(items: list, query: dict, path: str, related: dict | None = None) -> dict:
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
