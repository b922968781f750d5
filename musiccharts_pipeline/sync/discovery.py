"""Chart discovery: the song charts the API offers, filtered, with whether each is subscribed.

One listing costs one call for the chart platforms plus one per platform asked (a page of up to
100 charts each); :class:`Catalogue` keeps a listing for an hour so a page served many times
costs the API once.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time

from musiccharts_pipeline.soundcharts import SoundChartsClient, errors
from musiccharts_pipeline.sync import subscriptions as subs
from musiccharts_pipeline.warehouse import Warehouse

_PLATFORM = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
MAX_SEARCH = 100
#: How long a listing is reused (the catalogue changes rarely; each listing costs calls).
CATALOGUE_TTL = 3600.0


class DiscoveryError(ValueError):
    """A filter a person can fix (a malformed platform or country, an unknown platform)."""


@dataclasses.dataclass(frozen=True)
class AvailableChart:
    slug: str
    name: str | None
    platform: str | None
    country_code: str | None
    country_name: str | None
    frequency: str | None
    size: int | None
    subscribed: bool = False

    def row(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Filters:
    platform: str | None = None
    country: str | None = None
    search: str | None = None

    def checked(self) -> Filters:
        platform = self.platform.strip().lower() if self.platform else None
        country = self.country.strip().upper() if self.country else None
        search = self.search.strip() if self.search and self.search.strip() else None
        if platform and not _PLATFORM.match(platform):
            raise DiscoveryError(
                f"platform must be a platform code such as spotify, got {platform!r}"
            )
        if country and not _COUNTRY.match(country):
            raise DiscoveryError(f"country must be a 2-letter ISO code such as FR, got {country!r}")
        if search and (len(search) > MAX_SEARCH or any(ord(c) < 32 for c in search)):
            raise DiscoveryError(f"search must be plain text of at most {MAX_SEARCH} characters")
        return Filters(platform, country, search)


def list_charts(client: SoundChartsClient, filters: Filters) -> list[AvailableChart]:
    """The API's song charts for the filters (no subscription flag), by platform then slug."""
    filters = filters.checked()
    if filters.platform:
        platforms = [filters.platform]
    else:
        platforms = [p.code for p in client.chart_platforms()]
    found: dict[str, AvailableChart] = {}
    for platform in platforms:
        try:
            charts = client.charts(platform, country_code=filters.country)
        except errors.NotFound:
            if filters.platform:
                raise DiscoveryError(f"SoundCharts has no chart platform {platform!r}") from None
            continue
        for c in charts:
            found.setdefault(
                c.slug,
                AvailableChart(
                    c.slug,
                    c.name,
                    c.platform or platform,
                    c.country_code,
                    c.country_name,
                    (c.frequency or "").lower() or None,
                    c.max_results_count,
                ),
            )
    return matching(
        sorted(found.values(), key=lambda c: (c.platform or "", c.slug)), filters.search
    )


def matching(charts: list[AvailableChart], search: str | None) -> list[AvailableChart]:
    """The charts whose slug, name or country contains ``search`` (any case)."""
    if not search:
        return charts
    needle = search.casefold()
    return [
        c
        for c in charts
        if any(needle in (v or "").casefold() for v in (c.slug, c.name, c.country_name))
    ]


def mark_subscribed(wh: Warehouse, charts: list[AvailableChart]) -> list[AvailableChart]:
    mine = {s.chart_slug for s in subs.list_subscriptions(wh)}
    return [dataclasses.replace(c, subscribed=c.slug in mine) for c in charts]


def available(client: SoundChartsClient, wh: Warehouse, filters: Filters) -> list[AvailableChart]:
    """The charts the API offers for the filters, each marked subscribed or not."""
    return mark_subscribed(wh, list_charts(client, filters))


class Catalogue:
    """The API's whole chart listing, kept for ``ttl`` seconds and filtered here: a page view
    with any platform, country or text costs the API nothing while the listing is kept (one
    listing is 1 + one call per chart platform an hour). A failed listing is not retried for
    ``retry_after`` seconds; one fetch at a time."""

    def __init__(self, ttl: float = CATALOGUE_TTL, retry_after: float = 60.0):
        self.ttl, self.retry_after = ttl, retry_after
        self._lock = threading.Lock()
        self._kept: tuple[float, list[AvailableChart]] | None = None
        self._failed: tuple[float, Exception] | None = None

    def _listing(self, client: SoundChartsClient) -> list[AvailableChart]:
        with self._lock:
            now = time.monotonic()
            if self._kept and now - self._kept[0] <= self.ttl:
                return self._kept[1]
            if self._failed and now - self._failed[0] <= self.retry_after:
                raise self._failed[1]
            try:
                listing = list_charts(client, Filters())
            except errors.SoundChartsError as exc:
                self._failed = (now, exc)
                raise
            self._kept, self._failed = (now, listing), None
            return listing

    def charts(self, client: SoundChartsClient, filters: Filters) -> list[AvailableChart]:
        filters = filters.checked()
        listing = self._listing(client)
        if filters.platform:
            if filters.platform not in {c.platform for c in listing}:
                raise DiscoveryError(f"SoundCharts has no chart platform {filters.platform!r}")
            listing = [c for c in listing if c.platform == filters.platform]
        if filters.country:
            listing = [c for c in listing if (c.country_code or "").upper() == filters.country]
        return matching(listing, filters.search)
