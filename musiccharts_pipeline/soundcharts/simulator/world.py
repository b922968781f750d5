"""The simulator's deterministic synthetic world over its catalogue: songs, artists, rankings and
audience series. Everything derives from a seed and "today", so two worlds built alike agree.

Rankings come from a popularity model: every song has a global popularity curve (a peak date, a
width, a height) and each chart ranks its pool of songs by that curve plus chart-specific noise.
Whole chart histories are computed at once with numpy and cached, so oldPosition, entryDate,
timeOnChart and entryState are consistent across dates by construction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib

import numpy as np

from musiccharts_pipeline import clock
from musiccharts_pipeline.soundcharts.simulator import schedule
from musiccharts_pipeline.soundcharts.simulator.albums import AlbumCatalogue
from musiccharts_pipeline.soundcharts.simulator.audience import AudienceSeries
from musiccharts_pipeline.soundcharts.simulator.catalogue import (
    CHARTS,
    COUNTRIES,
    FIRST,
    GENRES,
    LABELS,
    LAST,
    METRICS,
    SONG_AUDIENCE_PLATFORMS,
    WORDS,
    Chart,
)
from musiccharts_pipeline.soundcharts.simulator.seeded import stable_hash, stable_uuid

HISTORY_DAYS = 800  # a little over two years of rankings


def _slugify(text: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    return "-".join(part for part in out.split("-") if part)


@dataclasses.dataclass(frozen=True)
class Ranking:
    """One chart's ranking on one date: parallel arrays, position i+1 at index i."""

    chart: Chart
    date: dt.date
    songs: list[int]
    old_positions: list[int | None]
    entry_dates: list[dt.date]
    entry_states: list[str]
    times_on_chart: list[int]
    metrics: list[int]


class World(AlbumCatalogue, AudienceSeries):
    def __init__(
        self,
        seed: int = 7,
        today: dt.date | None = None,
        n_songs: int = 3000,
        n_artists: int = 1200,
        publish_on_clock: bool = False,
        extra_charts: int = 0,
        roster_artists: int = 0,
        roster_songs: int = 200,
    ):
        self.seed = seed
        self.today = today or clock.today()
        #: rankings appear at their publication time on the project's clock (else every date up
        #: to ``today`` is out), and audience series end at the clock's date
        self.publish_on_clock = publish_on_clock
        self.start = self.today - dt.timedelta(days=HISTORY_DAYS)
        self.n_songs = n_songs
        self.n_artists = n_artists
        self.charts = {c[0]: Chart(*c) for c in CHARTS}
        for k in range(extra_charts):  # more daily charts over the same songs, for scale
            slug = f"sim-chart-{k:04d}"
            self.charts[slug] = Chart(slug, f"Simulated {k}", "spotify", "daily", None, None, 50)
        rng = np.random.default_rng(seed)
        span = HISTORY_DAYS + 120
        # global popularity curve of each song: peak day (relative to start), width, height
        self.song_peak = rng.uniform(-60, span, n_songs)
        self.song_width = rng.uniform(12, 90, n_songs)
        self.song_height = rng.lognormal(0, 0.6, n_songs)
        self.song_base = rng.uniform(0.0, 0.08, n_songs)
        self._artist_order = rng.permutation(n_artists)
        # a label's roster (the catalogue bench): artists of their own, each with
        # ``roster_songs`` songs released over the years (about a handful a week in all for 20
        # artists), appended so the base world stays exactly as it is
        self.base_songs, self.base_artists = n_songs, n_artists
        self.roster_songs = roster_songs
        if roster_artists:
            extra = roster_artists * roster_songs
            more = np.random.default_rng(seed + 10_007)
            self.song_peak = np.concatenate([self.song_peak, more.uniform(-5000, span, extra)])
            self.song_width = np.concatenate([self.song_width, more.uniform(12, 90, extra)])
            self.song_height = np.concatenate([self.song_height, more.lognormal(-2, 0.5, extra)])
            self.song_base = np.concatenate([self.song_base, more.uniform(0.0, 0.01, extra)])
            self.n_songs, self.n_artists = n_songs + extra, n_artists + roster_artists

    # -- songs and artists --------------------------------------------------------------------

    def song_uuid(self, i: int) -> str:
        return stable_uuid("song", self.seed, i)

    def artist_uuid(self, i: int) -> str:
        return stable_uuid("artist", self.seed, i)

    @functools.cached_property
    def song_index(self) -> dict[str, int]:
        return {self.song_uuid(i): i for i in range(self.n_songs)}

    @functools.cached_property
    def artist_index(self) -> dict[str, int]:
        return {self.artist_uuid(i): i for i in range(self.n_artists)}

    def roster(self) -> list[int]:
        """The roster artists' indexes (empty unless the world was built with a roster)."""
        return list(range(self.base_artists, self.n_artists))

    def song_artists(self, i: int) -> list[int]:
        if i >= self.base_songs:  # a roster song: its artist alone
            return [self.base_artists + (i - self.base_songs) // self.roster_songs]
        h = stable_hash("song-artists", self.seed, i)
        # popular artists have many songs: skew towards low artist indexes
        n = self.base_artists  # the roster's artists are on their own songs only
        primary = int(self._artist_order[int((h % 1000) ** 1.6 / 1000**1.6 * n)])
        extra = (h >> 12) % 5
        artists = [primary]
        for k in range(1 if extra == 0 else (2 if extra == 1 else 0)):
            other = (h >> (20 + 8 * k)) % n
            if other not in artists:
                artists.append(int(other))
        return artists

    def artist_name(self, a: int) -> str:
        h = stable_hash("artist-name", self.seed, a)
        return f"{FIRST[h % len(FIRST)]} {LAST[(h >> 8) % len(LAST)]}" + (
            f" {a}" if (h >> 16) % 3 else ""
        )

    def artist_genres(self, a: int) -> list[dict]:
        h = stable_hash("artist-genres", self.seed, a)
        roots = list(GENRES)
        root = roots[h % len(roots)]
        subs = GENRES[root]
        out = [{"root": root, "sub": [subs[(h >> 8) % len(subs)]]}]
        if (h >> 16) % 3 == 0:
            root2 = roots[(h >> 20) % len(roots)]
            if root2 != root:
                out.append({"root": root2, "sub": [GENRES[root2][0]]})
        return out

    def song_genres(self, i: int) -> list[dict]:
        primary = self.song_artists(i)[0]
        genres = self.artist_genres(primary)
        h = stable_hash("song-genres", self.seed, i)
        if h % 4 == 0:
            root = list(GENRES)[(h >> 4) % len(GENRES)]
            sub = GENRES[root][(h >> 8) % len(GENRES[root])]
            if root not in {g["root"] for g in genres}:
                genres = genres + [{"root": root, "sub": [sub]}]
        return genres

    def song_identifiers(self, i: int) -> dict[str, list[str]]:
        h = stable_hash("song-ids", self.seed, i)
        ids = {}
        for p in SONG_AUDIENCE_PLATFORMS:
            base = hashlib.blake2b(f"{p}{self.seed}{i}".encode(), digest_size=11).hexdigest()
            ids[p] = [base[:22]]
        if h % 6 == 0:  # several Spotify track ids for one song
            ids["spotify"].append(
                hashlib.blake2b(f"spotify-alt{self.seed}{i}".encode(), digest_size=11).hexdigest()
            )
        if h % 7 == 0:  # no TikTok sound
            ids.pop("tiktok")
        return ids

    def release_date(self, i: int) -> dt.date:
        return self.start + dt.timedelta(
            days=int(self.song_peak[i]) - 25 - (stable_hash("rel", i) % 40)
        )

    def song_object(self, i: int) -> dict:
        h = stable_hash("song-obj", self.seed, i)
        uuid = self.song_uuid(i)
        name = " ".join(WORDS[(h >> s) % len(WORDS)] for s in (0, 6, 12)[: 1 + h % 3]).title()
        artists = [self.artist_light(a) for a in self.song_artists(i)]
        label, label_type = LABELS[(h >> 20) % len(LABELS)]
        country = COUNTRIES[(h >> 24) % len(COUNTRIES)]
        isrc = f"{country}{'ABCDEFGH'[h % 8]}{h % 100:02d}{(h >> 30) % 10**7:07d}"[:12]
        # older payloads (variation): Paris offsets on dates, legacy label string, isrc string
        legacy = h % 9 == 0
        offset = "+01:00" if legacy else "+00:00"
        release = self.release_date(i)
        obj = {
            "uuid": uuid,
            "name": name,
            "creditName": " & ".join(a["name"] for a in artists),
            "artists": artists,
            "mainArtists": artists[:1],
            "releaseDate": f"{release.isoformat()}T00:00:00{offset}",
            "copyright": f"℗ {release.year} {label}",
            "appUrl": f"https://app.soundcharts.com/app/song/{uuid}/overview",
            "imageUrl": f"https://assets.soundcharts.com/song/{uuid[0]}/{uuid[1]}/{uuid[2]}/{uuid}.jpg",
            "duration": 120 + h % 180,
            "explicit": bool(h % 2),
            "genres": self.song_genres(i),
            "composers": [artists[0]["name"]],
            "producers": [],
            "iswcs": [],
        }
        if legacy:
            obj["isrc"] = isrc
            obj["label"] = label
        else:
            obj["isrc"] = {"value": isrc, "countryCode": isrc[:2], "countryName": None}
            obj["labels"] = [{"name": label, "type": label_type}]
            obj["languageCode"] = "en"
            obj["audio"] = None if h % 5 == 0 else {"tempo": 80 + h % 80, "energy": (h % 100) / 100}
        return obj

    @functools.cached_property
    def artist_song_index(self) -> dict[int, list[int]]:
        """Each artist's songs (credited or main), by song index."""
        songs: dict[int, list[int]] = {}
        for i in range(self.n_songs):
            for a in self.song_artists(i):
                songs.setdefault(a, []).append(i)
        return songs

    def artist_songs(self, a: int) -> list[int]:
        """The artist's songs released by the clock's date, newest release first."""
        out_by = clock.today() if self.publish_on_clock else self.today
        songs = [i for i in self.artist_song_index.get(a, []) if self.release_date(i) <= out_by]
        return sorted(songs, key=lambda i: (self.release_date(i), i), reverse=True)

    @functools.cached_property
    def isrc_index(self) -> dict[str, int]:
        return {self.isrc_of(i): i for i in range(self.n_songs)}

    def isrc_blacklisted(self, isrc: str) -> bool:
        """About 1 in 40 ISRCs map to several tracks at the DSPs: by-isrc answers 410."""
        return stable_hash("isrc-blacklist", self.seed, isrc) % 40 == 0

    def isrc_of(self, i: int) -> str:
        obj = self.song_object(i)
        return obj["isrc"] if isinstance(obj["isrc"], str) else obj["isrc"]["value"]

    def artist_light(self, a: int) -> dict:
        uuid = self.artist_uuid(a)
        name = self.artist_name(a)
        slug = _slugify(name) or f"artist-{a}"
        return {
            "uuid": uuid,
            "slug": slug,
            "name": name,
            "appUrl": f"https://app.soundcharts.com/app/artist/{slug}/overview",
            "imageUrl": f"https://assets.soundcharts.com/artist/{uuid[0]}/{uuid[1]}/{uuid[2]}/{uuid}.jpg",
        }

    def artist_object(self, a: int) -> dict:
        h = stable_hash("artist-obj", self.seed, a)
        obj = self.artist_light(a)
        if h % 11 == 0:  # 2021-style payload: the light fields only
            obj["countryCode"] = COUNTRIES[h % len(COUNTRIES)]
            return obj
        genres = self.artist_genres(a)
        obj.update(
            {
                "countryCode": COUNTRIES[h % len(COUNTRIES)] if h % 13 else None,
                "webUrl": None,
                # the docs type genres as strings, real payloads send objects: serve both
                "genres": [g["root"] for g in genres] if h % 5 == 0 else genres,
                "biography": None,
                "gender": ["female", "male", None][h % 3],
                "type": "person" if h % 4 else "group",
                "careerStage": ["superstar", "mainstream", "mid_level", "long_tail"][(h >> 4) % 4],
                "growthLevel": ["decline", "steady", "growth"][(h >> 8) % 3],
                "cityName": None,
            }
        )
        return obj

    # -- charts -------------------------------------------------------------------------------

    def chart_dates(self, chart: Chart) -> list[dt.date]:
        """Publication dates, oldest first."""
        return schedule.chart_dates(chart.frequency, self.start, self.today)

    def publication(self, chart: Chart, date: dt.date) -> schedule.Publication:
        return _publication(self.seed, chart.slug, date)

    def listed(self, chart: Chart) -> list[tuple[dt.date, str]]:
        """The rankings out now, newest first, with the datetime available-rankings lists."""
        dates = self.chart_dates(chart)
        if not self.publish_on_clock:
            return [(d, schedule.noon(d)) for d in reversed(dates)]
        now = clock.now()
        out = []
        for date in reversed(dates):
            if date > now.date():
                continue
            pub = self.publication(chart, date)
            if pub.visible(now):
                out.append((date, pub.stamp(now)))
        return out

    def published_ranking(self, chart: Chart, date: dt.date) -> tuple[Ranking, str] | None:
        """The ranking of ``date`` as served now (corrected once a correction is out) and its
        datetime; None before its publication."""
        ranking = self.ranking(chart, date)
        if ranking is None:
            return None
        if not self.publish_on_clock:
            return ranking, schedule.noon(date)
        now, pub = clock.now(), self.publication(chart, date)
        if not pub.visible(now):
            return None
        if pub.corrected(now):
            ranking = schedule.corrected(ranking, stable_hash("fix", self.seed, chart.slug, date))
        return ranking, pub.stamp(now)

    def horizon(self) -> dt.date:
        """The last day the world has data for: ``today``, or the clock's date if earlier."""
        return min(self.today, clock.today()) if self.publish_on_clock else self.today

    def ranking(self, chart: Chart, date: dt.date) -> Ranking | None:
        history = self._history(chart.slug)
        idx = history["index"].get(date)
        if idx is None:
            return None
        dates = history["dates"]
        pool = history["pool"]
        members = history["members"][idx]
        prev = history["positions"][idx - 1] if idx > 0 else {}
        songs, olds, entries, states, toc, metrics = [], [], [], [], [], []
        for p in members:
            songs.append(int(pool[p]))
            olds.append(prev.get(p))
            first = history["first_seen"][idx][p]
            entries.append(dates[first])
            toc.append(int(history["counts"][idx][p]))
            if first == idx:
                states.append("NEW")
            elif p not in prev:
                states.append("RE_ENTRY")
            else:
                states.append("")
            metrics.append(
                int(history["scores"][idx][p] * 250_000) if chart.platform in METRICS else 0
            )
        return Ranking(chart, date, songs, olds, entries, states, toc, metrics)

    @functools.lru_cache(maxsize=32)  # noqa: B019 - one world per simulator, bounded
    def _history(self, slug: str) -> dict:
        chart = self.charts[slug]
        dates = self.chart_dates(chart)
        rng = np.random.default_rng(stable_hash("pool", self.seed, slug) % 2**32)
        pool_size = min(self.n_songs, chart.size * 4)
        pool = rng.choice(self.n_songs, size=pool_size, replace=False)
        t = np.array([(d - self.start).days for d in dates], dtype=float)[:, None]
        z = (t - self.song_peak[pool][None, :]) / self.song_width[pool][None, :]
        affinity = rng.uniform(0.6, 1.4, pool_size)
        noise = rng.normal(1.0, 0.05, (len(dates), pool_size))
        released = t >= (self.song_peak[pool][None, :] - 30)
        curve = (self.song_height[pool] * affinity) * np.exp(-0.5 * z * z)
        scores = np.where(released, (curve + self.song_base[pool]) * noise, -1.0)
        order = np.argsort(-scores, axis=1, kind="stable")[:, : chart.size]
        on_chart = np.zeros_like(scores, dtype=bool)
        np.put_along_axis(on_chart, order, True, axis=1)
        counts = np.cumsum(on_chart, axis=0)
        ever = np.where(on_chart, np.arange(len(dates))[:, None], len(dates))
        first_seen = np.minimum.accumulate(ever, axis=0)
        positions = [{int(p): k + 1 for k, p in enumerate(row)} for row in order]
        return {
            "dates": dates,
            "index": {d: k for k, d in enumerate(dates)},
            "pool": pool,
            "members": order,
            "positions": positions,
            "counts": counts,
            "first_seen": first_seen,
            "scores": scores,
        }


@functools.lru_cache(maxsize=65536)
def _publication(seed: int, slug: str, date: dt.date) -> schedule.Publication:
    return schedule.publication(seed, slug, date)
