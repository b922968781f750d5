"""SoundCharts client: typed access to the routes the pipeline uses (requests + urllib3 Retry,
thread-safe, rate-limited; the HTTP side is session.py).

No Dagster imports: assets, the CLI and tests all use it the same way.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from musiccharts_pipeline.soundcharts import errors
from musiccharts_pipeline.soundcharts import models as m
from musiccharts_pipeline.soundcharts.parsing import Model, parse_date, parse_list, parse_payload
from musiccharts_pipeline.soundcharts.session import (
    DEFAULT_MAX_RPS,
    LOW_QUOTA,
    MAX_PAGE,
    MAX_WINDOW_DAYS,
    SoundChartsSession,
    seg,
    split_windows,
)

__all__ = [
    "DEFAULT_MAX_RPS",
    "LOW_QUOTA",
    "MAX_PAGE",
    "MAX_WINDOW_DAYS",
    "SoundChartsClient",
    "parse_payload",
    "split_windows",
]


class SoundChartsClient(SoundChartsSession):
    """Typed access to the SoundCharts routes the pipeline uses, over HTTP.

    ``transport`` builds the requests adapter mounted on ``base_url`` from the client's retry
    and pool settings (``HTTPAdapter``: the network); the simulator's in-process adapter is one.
    ``max_rps=None`` is the default ceiling against a real API, ``DEFAULT_MAX_RPS``; 0 is none.
    """

    def platforms(self, kind: str | None = None) -> list[m.Platform]:
        path = "/api/v2/referential/platforms" + (f"/{kind}" if kind else "")
        _, items = self._collect(path, None, f"platforms{'_' + kind if kind else ''}")
        return parse_list(m.Platform, items, "platform")

    def chart_platforms(self) -> list[m.Platform]:
        """The platforms that have song charts (``/api/v2/chart/song/platforms``)."""
        _, items = self._collect("/api/v2/chart/song/platforms", None, "chart_platforms")
        return parse_list(m.Platform, items, "chart platform")

    def charts(self, platform: str, country_code: str | None = None) -> list[m.Chart]:
        params = {"countryCode": country_code} if country_code else None
        _, items = self._collect(
            f"/api/v2/chart/song/by-platform/{seg(platform)}", params, "charts_by_platform"
        )
        return parse_list(m.Chart, items, "chart")

    def available_rankings(
        self, slug: str, since: dt.date | None = None, newest_only: bool = False
    ) -> m.AvailableRankings:
        """Published ranking datetimes, newest first. ``since`` stops paging once older dates
        are reached; ``newest_only`` reads just the first page (the newest 100)."""
        related, items = None, []
        path = f"/api/v2/chart/song/{seg(slug)}/available-rankings"
        for page in self.paginate(path, None, "available_rankings"):
            related = page.get("related", related)
            batch = page.get("items") or []
            items.extend(batch)
            if newest_only or (since and batch and parse_date(batch[-1]) < since):
                break
        if since:
            items = [d for d in items if parse_date(d) >= since]
        return parse_payload(
            m.AvailableRankings,
            {"chart": related or {"slug": slug}, "datetimes": items},
            "available rankings",
        )

    def ranking(self, slug: str, when: str | dt.date = "latest") -> m.Ranking:
        """One ranking, all pages. ``when``: "latest", an ATOM datetime string, or a date."""
        if isinstance(when, dt.date):
            when = f"{when.isoformat()}T12:00:00+00:00"
        path = f"/api/v2.14/chart/song/{seg(slug)}/ranking/{quote(when, safe=':+')}"
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
        return self._object(f"/api/v2.25/song/{seg(uuid)}", m.Song, "song", missing_ok)

    def song_by_isrc(self, isrc: str) -> m.Song | None:
        """The song of an ISRC; None when SoundCharts does not know it (404); ``errors.Gone``
        when it has blacklisted it (410: several tracks at the DSPs)."""
        return self._object(f"/api/v2.25/song/by-isrc/{seg(isrc)}", m.Song, "song_by_isrc", True)

    def song_albums(self, uuid: str) -> list[m.Album] | None:
        """The releases a song is on (light album objects); None for an unknown song."""
        try:
            _, items = self._collect(f"/api/v2/song/{seg(uuid)}/albums", None, "song_albums")
        except errors.NotFound:
            return None
        return parse_list(m.Album, items, "song album")

    def album(self, uuid: str, missing_ok: bool = True) -> m.Album | None:
        return self._object(f"/api/v2.36/album/by-uuid/{seg(uuid)}", m.Album, "album", missing_ok)

    def artist_songs(self, uuid: str) -> list[m.Song]:
        """Every song of an artist's catalogue (all pages; light song objects)."""
        _, items = self._collect(f"/api/v2.21/artist/{seg(uuid)}/songs", None, "artist_songs")
        return parse_list(m.Song, items, "artist song")

    def song_identifiers(self, uuid: str, platform: str | None = None) -> list[dict]:
        params = {"platform": platform} if platform else None
        _, items = self._collect(
            f"/api/v2/song/{seg(uuid)}/identifiers", params, "song_identifiers"
        )
        return items

    def artist(self, uuid: str, missing_ok: bool = True) -> m.Artist | None:
        return self._object(f"/api/v2.9/artist/{seg(uuid)}", m.Artist, "artist", missing_ok)

    def song_audience(
        self, uuid: str, platform: str, start: dt.date, end: dt.date, identifier: str | None = None
    ) -> list[m.AudiencePoint]:
        """Cumulative values per identifier and day, oldest first, over ≤90-day calls."""
        points = []
        for item in self._series(
            f"/api/v2/song/{seg(uuid)}/audience/{seg(platform)}",
            start,
            end,
            "song_audience",
            {"identifier": identifier},
        ):
            day = parse_date(item.get("date"))
            for plot in item.get("plots") or []:
                points.append(
                    {"date": day, "identifier": plot.get("identifier"), "value": plot.get("value")}
                )
        parsed = parse_list(m.AudiencePoint, points, "song audience point")
        return sorted(parsed, key=lambda p: (p.date, p.identifier))

    def artist_audience(
        self, uuid: str, platform: str, start: dt.date, end: dt.date
    ) -> list[m.FollowerPoint]:
        """Follower counts, oldest first; [] when the artist has no account there."""
        try:
            items = self._series(
                f"/api/v2/artist/{seg(uuid)}/audience/{seg(platform)}",
                start,
                end,
                "artist_audience",
            )
        except errors.NotFound:
            return []
        return sorted(
            parse_list(m.FollowerPoint, items, "artist audience point"), key=lambda p: p.date
        )

    def artist_streaming(
        self, uuid: str, platform: str, start: dt.date, end: dt.date
    ) -> list[m.ListenerPoint]:
        try:
            items = self._series(
                f"/api/v2/artist/{seg(uuid)}/streaming/{seg(platform)}/listening",
                start,
                end,
                "artist_streaming",
            )
        except errors.NotFound:
            return []
        return sorted(
            parse_list(m.ListenerPoint, items, "artist streaming point"), key=lambda p: p.date
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
