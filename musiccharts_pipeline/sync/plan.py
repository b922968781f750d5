"""What a piece of work will cost the API, before it runs: one cost model for the CLI's `plan`
commands and the serve API's ``/api/plan``.

Each prediction follows the sync's own rules, purpose by purpose:

- **availability**: the available-rankings pages a run reads for its chart (measured: the plan
  makes that very call, and the run's would be the same);
- **ranking pages**: one per 100 entries of each published date not stored yet;
- **song / artist metadata**: one call per song (artist) that has none or stale metadata. The
  songs of the range are not known before the rankings are fetched, so the plan reads the
  six rankings spread over the range (its only extra cost, reported as ``plan_calls``): a song
  charts for weeks, so their union holds nearly every song of the range (a lower bound: within
  about 10% in the simulator), and the share already fresh in the warehouse gives how many are
  new. Artists per song come from the sampled entries' credits, and the share of them new from
  the credited names the warehouse already has fresh;
- **song / artist audience**: the first audience fetch of a new entity is one ≤90-day window per
  supported priority platform (``rules.audience_window``): 3 per song and 4 per artist with the
  default platforms.

A plan's share of the quota is against the last ``x-quota-remaining`` the client saw.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

from musiccharts_pipeline import settings
from musiccharts_pipeline.soundcharts import SoundChartsClient, errors
from musiccharts_pipeline.soundcharts.client import DEFAULT_MAX_RPS, MAX_PAGE
from musiccharts_pipeline.soundcharts.platforms import (
    SOCIAL_PLATFORMS,
    SONG_AUDIENCE_PLATFORMS,
    STREAMING_PLATFORMS,
)
from musiccharts_pipeline.sync import rankings, rules
from musiccharts_pipeline.sync.audience import DEFAULT_PRIORITY_PLATFORMS
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse

PURPOSES = (
    "availability",
    "ranking_pages",
    "song_metadata",
    "artist_metadata",
    "song_audience",
    "artist_audience",
)
#: Artists per track when the warehouse knows too few tracks to say (songs credit about one).
DEFAULT_ARTISTS_PER_TRACK = 1.0


class PlanError(ValueError):
    """A plan a person can fix (unknown chart, bad range)."""


@dataclasses.dataclass
class Plan:
    what: str
    calls: dict[str, int]
    plan_calls: int = 0  # what making the plan itself cost
    quota_remaining: int | None = None
    artists_per_song: float | None = None
    new_artist_share: float | None = None
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def seconds(self, max_rps: float | None) -> float | None:
        rate = max_rps if max_rps else None
        return self.total / rate if rate else None

    def quota_share(self) -> float | None:
        if not self.quota_remaining:
            return None
        return self.total / self.quota_remaining

    def as_dict(self, max_rps: float | None) -> dict:
        return {
            "what": self.what,
            "calls": self.calls,
            "total_calls": self.total,
            "plan_calls": self.plan_calls,
            "seconds_at_rate_ceiling": self.seconds(max_rps),
            "max_rps": max_rps,
            "quota_remaining": self.quota_remaining,
            "quota_share": self.quota_share(),
            "notes": self.notes,
        }

    def lines(self, max_rps: float | None) -> list[str]:
        out = [f"plan: {self.what}"]
        out += [f"  {k:<16} {v:>9,}" for k, v in self.calls.items()]
        out.append(f"  {'total':<16} {self.total:>9,} API calls")
        seconds = self.seconds(max_rps)
        if seconds is not None:
            out.append(f"  about {_duration(seconds)} at {max_rps:g} requests/s")
        share = self.quota_share()
        if share is not None:
            out.append(f"  {share:.1%} of the {self.quota_remaining:,} calls left in the quota")
        else:
            out.append("  quota left: unknown (no x-quota-remaining seen yet)")
        out.append(f"  (making this plan cost {self.plan_calls} call(s))")
        out += [f"  note: {n}" for n in self.notes]
        return out


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def rate_ceiling() -> float:
    """The client's requests per second against a real API (SOUNDCHARTS_MAX_RPS, else 10)."""
    return settings.max_rps() or DEFAULT_MAX_RPS


def _pages(entries: int) -> int:
    return max(1, math.ceil(entries / MAX_PAGE))


def _fresh_songs(wh: Warehouse, uuids: set[str], now: dt.datetime) -> set[str]:
    if not uuids:
        return set()
    frame = wh.read_frame(
        f"SELECT uuid FROM {SCHEMA}.tracks WHERE uuid IN :u AND metadata_fetched_at >= :since",
        {"u": sorted(uuids), "since": now - rules.METADATA_MAX_AGE},
    )
    return set(frame.uuid)


def _known_artists(wh: Warehouse, names: set[str]) -> set[str]:
    """The credited names (casefolded) of artists the warehouse has fresh metadata for."""
    if not names:
        return set()
    frame = wh.read_frame(
        f"SELECT lower(name) AS name FROM {SCHEMA}.artists WHERE lower(name) IN :n "
        "AND metadata_fetched_at >= :since",
        {"n": sorted(names), "since": rules.utcnow() - rules.METADATA_MAX_AGE},
    )
    return set(frame.name)


def _per_track(wh: Warehouse, table: str, column: str, default: float) -> float:
    """Distinct ``column`` values per distinct track in a link table (``default`` below 50)."""
    row = wh.read_frame(
        f"SELECT count(DISTINCT track_uuid) AS tracks, count(DISTINCT {column}) AS others "
        f"FROM {SCHEMA}.{table}"
    ).iloc[0]
    tracks = int(row.tracks or 0)
    return default if tracks < 50 else int(row.others) / tracks


def _artists_per_track(wh: Warehouse) -> float:
    return _per_track(wh, "track_artists", "artist_uuid", DEFAULT_ARTISTS_PER_TRACK)


def plan_chart(
    client: SoundChartsClient,
    wh: Warehouse,
    slug: str,
    start: dt.date,
    end: dt.date,
    *,
    metadata: bool = True,
    audience: bool = True,
    platforms: tuple[str, ...] = DEFAULT_PRIORITY_PLATFORMS,
    what: str | None = None,
) -> Plan:
    """The calls of one run syncing ``slug`` over ``start..end`` with its cascade."""
    if start > end:
        raise PlanError(f"from {start} is after to {end}")
    before = client.stats()["total_calls"]
    try:
        listed = client.available_rankings(slug, since=start)
    except errors.NotFound:
        raise PlanError(f"SoundCharts has no chart {slug!r}") from None
    availability = client.stats()["total_calls"] - before
    stored = rankings.stored_dates(wh, slug)
    published = {d: s for d, s in zip(listed.dates, listed.datetimes, strict=True)}
    dates = sorted(d for d in published if start <= d <= end and d not in stored)
    size = listed.chart.max_results_count or 100
    calls = dict.fromkeys(PURPOSES, 0)
    calls["availability"] = availability
    calls["ranking_pages"] = len(dates) * _pages(size)
    plan = Plan(what or f"sync {slug} {start}..{end}", calls)
    plan.notes.append(f"{len(dates)} published date(s) to fetch, {size} entries each")
    if dates and metadata:
        new_songs, new_share = _new_songs(client, wh, slug, dates, published, size, plan)
        per_song = plan.artists_per_song or _artists_per_track(wh)
        share = plan.new_artist_share if plan.new_artist_share is not None else new_share
        artists = (new_songs / max(new_share, 1e-9)) * per_song * share
        calls["song_metadata"] = round(new_songs)
        calls["artist_metadata"] = round(artists)
        if audience:
            song_platforms = [p for p in platforms if p in SONG_AUDIENCE_PLATFORMS]
            artist_platforms = [p for p in platforms if p in SOCIAL_PLATFORMS] + [
                p for p in platforms if p in STREAMING_PLATFORMS
            ]
            calls["song_audience"] = round(new_songs * len(song_platforms))
            calls["artist_audience"] = round(artists * len(artist_platforms))
    plan.plan_calls = client.stats()["total_calls"] - before - availability
    plan.quota_remaining = client.stats()["quota_remaining"]
    return plan


#: Rankings a plan reads to know a range's songs (evenly spread over it): six catch nearly every
#: song of a year, as a song stays in a chart for weeks (the union is a lower bound).
SAMPLES = 6


def _new_songs(client, wh, slug, dates, published, size, plan: Plan) -> tuple[float, float]:
    """(songs to fetch over ``dates``, the share of their songs not fresh in the warehouse),
    from up to SAMPLES rankings evenly spread over the range: the songs of a range are those
    of its rankings, and a song charts for weeks, so a handful of them finds nearly all."""
    k = min(SAMPLES, len(dates))
    picks = sorted({dates[round(i * (len(dates) - 1) / max(k - 1, 1))] for i in range(k)})
    samples = [client.ranking(slug, published[d]) for d in picks]
    songs = [{e.song.uuid for e in r.entries if e.song} for r in samples]
    distinct = float(len(set().union(*songs)))
    sample = set().union(*songs)
    new_share = 1 - len(_fresh_songs(wh, sample, rules.utcnow())) / max(len(sample), 1)
    credited = {
        name.strip().casefold()
        for r in samples
        for e in r.entries
        for name in (e.song.credit_name or "").replace(" feat. ", " & ").split(" & ")
        if e.song and name.strip()
    }
    plan.artists_per_song = len(credited) / max(len(sample), 1)
    plan.new_artist_share = 1 - len(_known_artists(wh, credited)) / max(len(credited), 1)
    plan.notes.append(
        f"about {distinct:,.0f} distinct songs, {new_share:.0%} of them new to the warehouse; "
        f"{plan.artists_per_song:.2f} credited artists per song in the sampled rankings"
    )
    return distinct * new_share, new_share


#: Availability checks per publication in the steady state, as `make soak` measured them (the
#: sensor's first look, a second look for 1 in 4, hourly after: docs/soak.md).
CHECKS_PER_PUBLICATION = 1.7
PUBLICATIONS_PER_DAY = {"daily": 1.0, "weekly": 1 / 7, "monthly": 12 / 365}


def plan_month(wh: Warehouse, days: int = 30) -> Plan:
    """The steady-state cost of everything subscribed and watched over ``days``: the syncs'
    checks and ranking pages, the new songs and artists they bring (each chart's own rate of
    new songs over its last 30 stored dates), the weekly audience and monthly metadata refresh
    of everything stored, and the weekly catalogue listings. Nothing is asked of the API."""
    from musiccharts_pipeline.sync import subscriptions, watchlist

    calls = dict.fromkeys((*PURPOSES, "catalogue"), 0.0)
    plan = Plan(f"the steady state over {days} days", {})
    per_song_artists = _artists_per_track(wh)
    for sub in subscriptions.list_subscriptions(wh, active_only=True):
        if sub.frequency == "custom":
            per_day = 24 / (sub.custom_interval_hours or 24)
        else:
            per_day = PUBLICATIONS_PER_DAY.get(sub.frequency, 1.0)
        size, new_per_date = _chart_rates(wh, sub.chart_slug)
        pubs = per_day * days
        calls["availability"] += pubs * CHECKS_PER_PUBLICATION
        calls["ranking_pages"] += pubs * _pages(size)
        if sub.auto_fetch_metadata:
            calls["song_metadata"] += pubs * new_per_date
            calls["artist_metadata"] += pubs * new_per_date * per_song_artists
    tracks = int(wh.scalar(f"SELECT count(*) FROM {SCHEMA}.tracks") or 0)
    artists = int(wh.scalar(f"SELECT count(*) FROM {SCHEMA}.artists") or 0)
    weeks, months = days / 7, days / 30
    song_platforms = len([p for p in DEFAULT_PRIORITY_PLATFORMS if p in SONG_AUDIENCE_PLATFORMS])
    artist_platforms = len(
        [p for p in DEFAULT_PRIORITY_PLATFORMS if p in SOCIAL_PLATFORMS]
        + [p for p in DEFAULT_PRIORITY_PLATFORMS if p in STREAMING_PLATFORMS]
    )
    new_songs, new_artists = calls["song_metadata"], calls["artist_metadata"]
    calls["song_audience"] = (tracks + new_songs) * song_platforms * weeks
    calls["artist_audience"] = (artists + new_artists) * artist_platforms * weeks
    calls["song_metadata"] += tracks * months
    calls["artist_metadata"] += artists * months
    listed = wh.read_frame(
        f"SELECT coalesce(songs_listed, 0) AS n FROM {SCHEMA}.watchlist WHERE kind = :k",
        {"k": watchlist.ARTIST},
    )
    calls["catalogue"] = sum(_pages(int(n)) for n in listed.n) * weeks
    plan.calls = {k: round(v) for k, v in calls.items()}
    plan.notes.append(
        f"{tracks:,} tracks and {artists:,} artists stored: audience refreshed weekly, metadata "
        f"monthly; {CHECKS_PER_PUBLICATION} availability checks per publication (make soak)"
    )
    return plan


def _chart_rates(wh: Warehouse, slug: str) -> tuple[int, float]:
    """(entries per ranking, new songs per ranking) over the chart's last 30 stored dates;
    (100, 5% of it) when it has fewer than two."""
    frame = wh.read_frame(
        f"""SELECT ranking_date, song_uuid FROM {SCHEMA}.chart_ranking_entries
            WHERE chart_slug = :s AND ranking_date IN (
                SELECT ranking_date FROM {SCHEMA}.chart_rankings WHERE chart_slug = :s
                ORDER BY ranking_date DESC LIMIT 30)""",
        {"s": slug},
    )
    dates = sorted(set(frame.ranking_date))
    if len(dates) < 2:
        return 100, 5.0
    size = round(len(frame) / len(dates))
    first = frame.groupby("song_uuid").ranking_date.min()
    new = (first > dates[0]).sum()
    return size, new / (len(dates) - 1)


#: A watched artist's catalogue size when the warehouse has listed none yet (songs).
DEFAULT_CATALOGUE_SONGS = 100
#: Albums fetched per track listed when the warehouse has listed too few to say (its single,
#: its album, now and then a compilation; 1.76 in the simulator).
DEFAULT_ALBUMS_PER_TRACK = 1.75


def _albums_per_track(wh: Warehouse) -> float:
    return _per_track(wh, "track_albums", "album_uuid", DEFAULT_ALBUMS_PER_TRACK)


def plan_watch_import(wh: Warehouse, entries: list, what: str = "watch import") -> Plan:
    """The calls of the catalogue run after watching ``entries`` (``watchlist.Entry``): each new
    ISRC resolved once; each new artist's catalogue listed (its size: the mean of the artists
    listed so far); then, for every song not fresh in the warehouse, its metadata, its first
    audience windows and its releases, and the same for the artists it brings. Entries already
    watched cost nothing. Nothing is asked of the API."""
    from musiccharts_pipeline.sync import watchlist

    watched = watchlist.watched_keys(wh)
    new = [e for e in entries if (e.kind, e.ident) not in watched]
    isrcs = sorted(e.ident for e in new if e.kind == watchlist.ISRC)
    songs = sorted(e.ident for e in new if e.kind == watchlist.SONG)
    artists = sorted(e.ident for e in new if e.kind == watchlist.ARTIST)
    since = rules.utcnow() - rules.METADATA_MAX_AGE
    fresh_isrcs = set()
    if isrcs:
        frame = wh.read_frame(
            f"SELECT isrc FROM {SCHEMA}.tracks WHERE isrc IN :i AND metadata_fetched_at >= :t",
            {"i": isrcs, "t": since},
        )
        fresh_isrcs = set(frame.isrc)
    fresh = _fresh_songs(wh, set(songs), rules.utcnow())
    listed = wh.read_frame(
        f"SELECT songs_listed FROM {SCHEMA}.watchlist WHERE kind = :k AND songs_listed > 0",
        {"k": watchlist.ARTIST},
    ).songs_listed
    per_artist = float(listed.mean()) if len(listed) else DEFAULT_CATALOGUE_SONGS
    new_songs = (
        (len(isrcs) - len(fresh_isrcs)) + (len(songs) - len(fresh)) + per_artist * len(artists)
    )
    per_song = _artists_per_track(wh)
    new_artists = new_songs * per_song + len(artists)
    song_platforms = len([p for p in DEFAULT_PRIORITY_PLATFORMS if p in SONG_AUDIENCE_PLATFORMS])
    artist_platforms = len(
        [p for p in DEFAULT_PRIORITY_PLATFORMS if p in SOCIAL_PLATFORMS]
        + [p for p in DEFAULT_PRIORITY_PLATFORMS if p in STREAMING_PLATFORMS]
    )
    # the albums asset lists the releases of every track with metadata that was never listed or
    # was listed over 30 days ago (charting tracks included), the new songs' too
    due_listings = int(
        wh.scalar(
            f"SELECT count(*) FROM {SCHEMA}.tracks WHERE metadata_fetched_at IS NOT NULL "
            "AND (albums_fetched_at IS NULL OR albums_fetched_at < :t)",
            {"t": since},
        )
        or 0
    )
    calls = {
        "catalogue": len(isrcs) + len(artists) * _pages(round(per_artist)),
        "song_metadata": new_songs,
        "artist_metadata": new_artists,
        "song_audience": new_songs * song_platforms,
        "artist_audience": new_artists * artist_platforms,
        "albums": (due_listings + new_songs) * (1 + _albums_per_track(wh)),
    }
    plan = Plan(what, {k: round(v) for k, v in calls.items()})
    plan.notes.append(
        f"{len(new)} new of {len(entries)} entries ({len(isrcs)} ISRCs, {len(songs)} songs, "
        f"{len(artists)} artists); about {new_songs:,.0f} songs to fetch, {per_song:.2f} "
        "artists per song (an upper bound: artists the warehouse has are not fetched again); "
        f"{due_listings:,} stored tracks' releases due for listing too"
    )
    return plan
