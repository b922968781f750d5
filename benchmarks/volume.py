"""A warehouse at N times the bench's volume, filled through the project's own bulk writers.

The bench's dbt figures run over a year of three charts (scale 1: about 39k ranking entries and
100k track audience points). `fill` writes `scale` times that: per scale unit one country with
two daily top-50 charts and one weekly chart, their songs, artists, genres and audience series,
as a year of daily syncs under the project's rules leaves them (metadata refetched after 30
days, audience after 7; each series keeps the 90 days up to its last fetch, as the bench's own
warehouse does). `day` then writes what the next day of syncs brings: every ranking published
that day, the metadata of new and stale songs and artists, the audience points not stored yet;
optionally one date the fill missed (a backfill) and one hit whose genre and artists change.

    .venv/bin/python benchmarks/volume.py fill --url URL [--scale 20] [--days 365]
    .venv/bin/python benchmarks/volume.py day --url URL [--backfill] [--change-metadata]
    .venv/bin/python benchmarks/volume.py dashboard --url URL [--out dashboard.html]

URL is a warehouse URL (postgresql+psycopg2://... or duckdb:///path). No API and no Dagster:
rankings come from a seeded churn model and rows go through `Warehouse.upsert` and
`Warehouse.replace_partitions` (COPY on PostgreSQL).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musiccharts_pipeline.soundcharts import models as m  # noqa: E402
from musiccharts_pipeline.soundcharts.simulator.catalogue import (  # noqa: E402
    COUNTRIES,
    FIRST,
    GENRES,
    LABELS,
    LAST,
    WORDS,
)
from musiccharts_pipeline.sync.artists import write_artists  # noqa: E402
from musiccharts_pipeline.sync.audience import (  # noqa: E402
    ARTIST_SERIES_KEYS,
    TRACK_AUDIENCE_KEYS,
    missing_windows,
    write_batch,
)
from musiccharts_pipeline.sync.batching import start_sync  # noqa: E402
from musiccharts_pipeline.sync.genres import derive_genres, genre_rows  # noqa: E402
from musiccharts_pipeline.sync.rules import (  # noqa: E402
    AUDIENCE_LOOKBACK_DAYS,
    AUDIENCE_MAX_AGE,
    METADATA_MAX_AGE,
    slugify,
    utcnow,
)
from musiccharts_pipeline.sync.subscriptions import Subscription  # noqa: E402
from musiccharts_pipeline.sync.tracks import write_tracks as write_track_metadata  # noqa: E402
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse  # noqa: E402

SIZE = 50  # entries per ranking
SONGS_PER_UNIT, GLOBAL_SONGS_PER_UNIT = 300, 90
ARTISTS_PER_UNIT, GLOBAL_ARTISTS_PER_UNIT = 420, 120
FEATURED = 0.6  # share of songs crediting a second artist
CHURN = {"daily": 2.5, "weekly": 8.0}  # songs replaced per publication, on average
TRACK_PLATFORMS = ("spotify", "youtube", "shazam")  # the default priority platforms
ARTIST_PLATFORMS = ("spotify", "youtube")  # followers and listeners on each
ROOTS = list(GENRES)
KEYS = ["chart_slug", "ranking_date"]  # a ranking
LOOKBACK = dt.timedelta(days=AUDIENCE_LOOKBACK_DAYS - 1)  # a first fetch: 90 days to today
META = METADATA_MAX_AGE


@dataclasses.dataclass(frozen=True)
class Chart:
    slug: str
    name: str
    platform: str
    frequency: str  # daily | weekly
    country: str
    unit: int
    weekday: int  # a weekly chart publishes on this weekday

    def publishes(self, day: dt.date) -> bool:
        return self.frequency == "daily" or day.weekday() == self.weekday


def _uuids(kind: int, n: int, seed: int) -> np.ndarray:
    """Deterministic UUID strings for songs (kind 1) and artists (kind 2)."""
    return np.array([str(uuid.UUID(int=(kind << 120) | (seed << 64) | i)) for i in range(n)])


def _names(rng, n: int, first: Sequence[str], second: Sequence[str], fmt: str) -> np.ndarray:
    a, b = rng.integers(0, len(first), n), rng.integers(0, len(second), n)
    return np.array(
        [fmt.format(first[x], second[y], i) for i, (x, y) in enumerate(zip(a, b, strict=True))]
    )


class World:
    """The synthetic label: charts, songs, artists and each chart's ranking timeline.

    Timelines run past ``end`` (the fill's last date) to ``last``, so `day` has rankings to
    land. Each chart draws from its own seeded generator in date order: a longer timeline never
    changes an earlier date, and a world rebuilt with the same parameters is the same world.
    """

    def __init__(
        self,
        scale: int = 20,
        days: int = 365,
        end: dt.date | None = None,
        seed: int = 0,
        last: dt.date | None = None,
        holes: int = 3,
    ):
        self.scale, self.days, self.seed = scale, days, seed
        self.end = end or (utcnow().date() - dt.timedelta(days=1))
        self.start = self.end - dt.timedelta(days=days - 1)
        self.last = max(last or self.end, self.end) + dt.timedelta(days=7)
        rng = np.random.default_rng([seed, 0])
        kinds = (
            ("top-50", "Top 50", "spotify", "daily"),
            ("apple-50", "Apple Top 50", "apple-music", "daily"),
            ("tiktok-50", "TikTok Weekly", "tiktok", "weekly"),
        )
        self.charts = [
            Chart(
                f"vol-{kind}-{u:03d}", f"{title} #{u}", platform, freq, COUNTRIES[u % 12], u, u % 7
            )
            for u in range(scale)
            for kind, title, platform, freq in kinds
        ]
        self.by_slug = {c.slug: c for c in self.charts}
        # artists and songs: a block per unit (country), then the global ones
        n_art = (ARTISTS_PER_UNIT + GLOBAL_ARTISTS_PER_UNIT) * scale
        self.artist_uuid = _uuids(2, n_art, seed)
        self.artist_name = _names(rng, n_art, FIRST, LAST, "{} {} {}")
        self.artist_root = rng.integers(0, len(ROOTS), n_art)
        self.artist_country = np.array([COUNTRIES[i % len(COUNTRIES)] for i in range(n_art)])
        n_song = (SONGS_PER_UNIT + GLOBAL_SONGS_PER_UNIT) * scale
        unit = np.concatenate(
            [
                np.repeat(np.arange(scale), SONGS_PER_UNIT),
                np.full(GLOBAL_SONGS_PER_UNIT * scale, -1),
            ]
        )
        lo = np.where(unit >= 0, unit * ARTISTS_PER_UNIT, ARTISTS_PER_UNIT * scale)
        size = np.where(unit >= 0, ARTISTS_PER_UNIT, GLOBAL_ARTISTS_PER_UNIT * scale)
        self.song_artist = lo + rng.integers(0, 1 << 30, n_song) % size
        feat = lo + rng.integers(0, 1 << 30, n_song) % size
        featured = (rng.random(n_song) < FEATURED) & (feat != self.song_artist)
        self.song_feat = np.where(featured, feat, -1)
        self.song_uuid = _uuids(1, n_song, seed)
        self.song_name = _names(rng, n_song, [w.title() for w in WORDS], WORDS, "{} {} {}")
        self.song_root = self.artist_root[self.song_artist].copy()
        self.song_sub = rng.integers(0, 8, n_song)
        second = rng.integers(0, len(ROOTS), n_song)
        self.song_second_root = np.where(rng.random(n_song) < 0.3, second, -1)
        self.song_release = np.datetime64(self.start) - rng.integers(0, 400, n_song).astype(
            "timedelta64[D]"
        )
        self.song_duration = rng.integers(120, 300, n_song)
        self.song_label = rng.integers(0, len(LABELS), n_song)
        self.timelines = {c.slug: self._timeline(k, c) for k, c in enumerate(self.charts)}
        # dates of the first chart the fill leaves out (a missed sync), for backfills
        step = max(days // (holes + 1), 2)
        self.holes = [
            (self.charts[0].slug, self.end - dt.timedelta(days=step * (k + 1)))
            for k in range(holes)
        ]

    # -- rankings ---------------------------------------------------------------------------

    def _timeline(self, k: int, chart: Chart) -> dict:
        """The chart's publication dates and, per date, its songs in position order with their
        previous position, entry state, entry date and time on chart."""
        rng = np.random.default_rng([self.seed, 1, k])
        regional = np.arange(chart.unit * SONGS_PER_UNIT, (chart.unit + 1) * SONGS_PER_UNIT)
        pool = np.concatenate(
            [regional, np.arange(SONGS_PER_UNIT * self.scale, len(self.song_uuid))]
        )
        weight = 1.0 / (np.arange(len(pool)) % SONGS_PER_UNIT + 15.0)
        weight[SONGS_PER_UNIT:] *= 0.35  # the global songs, shared by every chart
        if chart.platform == "tiktok":
            weight = rng.permutation(weight)
        weight /= weight.sum()
        dates = [
            self.start + dt.timedelta(days=d)
            for d in range((self.last - self.start).days + 1)
            if chart.publishes(self.start + dt.timedelta(days=d))
        ]
        current = rng.choice(pool, SIZE, replace=False, p=weight)
        score = np.sort(rng.normal(0, 1, SIZE))[::-1].copy()
        ever = set(current.tolist())
        entered = {int(s): dates[0] - dt.timedelta(days=int(rng.integers(0, 90))) for s in current}
        runs = {int(s): int(rng.integers(1, 40)) for s in current}
        previous = {int(s): p + 1 for p, s in enumerate(current)}  # the ranking before the first
        shape = (len(dates), SIZE)
        out = {
            "songs": np.empty(shape, dtype=np.int64),
            "old": np.full(shape, -1, dtype=np.int64),
            "state": np.zeros(shape, dtype=np.int8),  # 0 '', 1 NEW, 2 RE_ENTRY
            "since": np.empty(shape, dtype="datetime64[D]"),
            "on_chart": np.empty(shape, dtype=np.int64),
        }
        for d, day in enumerate(dates):
            if d:
                score = score + rng.normal(0, 0.3, SIZE)
                leaving = min(int(rng.poisson(CHURN[chart.frequency])), SIZE // 2)
                if leaving:
                    slots = np.argsort(score)[:leaving]
                    taken = set(current.tolist())
                    drawn = [int(s) for s in rng.choice(pool, leaving * 4, p=weight)]
                    fresh = list(dict.fromkeys(s for s in drawn if s not in taken))[:leaving]
                    for slot, song in zip(slots[: len(fresh)], fresh, strict=True):
                        current[slot], score[slot] = song, rng.normal(-0.2, 0.9)
            order = np.argsort(-score, kind="stable")
            current, score = current[order], score[order]
            positions = {}
            for p, s in enumerate(current.tolist()):
                if s in previous:
                    out["old"][d, p] = previous[s]
                    runs[s] += 1
                else:
                    out["state"][d, p] = 2 if s in ever else 1
                    ever.add(s)
                    entered[s], runs[s] = day, 1
                out["since"][d, p], out["on_chart"][d, p] = entered[s], runs[s]
                positions[s] = p + 1
            out["songs"][d] = current
            previous = positions
        return {"dates": dates, "index": {d: i for i, d in enumerate(dates)}, **out}

    def published(self, day: dt.date) -> list[tuple[str, dt.date]]:
        return [(c.slug, day) for c in self.charts if c.publishes(day)]

    def entries(self, keys: Sequence[tuple[str, dt.date]]) -> pd.DataFrame:
        """The entries of these (chart, date) rankings, as the chart_rankings asset writes them."""
        rows: dict[str, list[int]] = {}
        for slug, day in keys:
            rows.setdefault(slug, []).append(self.timelines[slug]["index"][day])
        parts: dict[str, list] = {}
        for slug, picked in rows.items():
            t, picked = self.timelines[slug], np.array(sorted(picked))
            n = len(picked) * SIZE
            unit = "DOC" if self.by_slug[slug].frequency == "daily" else "WOC"
            dates = np.array(t["dates"], dtype="datetime64[D]")[picked]
            for name, values in (
                ("chart_slug", np.full(n, slug, dtype=object)),
                ("ranking_date", np.repeat(dates, SIZE)),
                ("unit", np.full(n, unit, dtype=object)),
                *(
                    (name, t[name][picked].ravel())
                    for name in ("songs", "old", "state", "since", "on_chart")
                ),
            ):
                parts.setdefault(name, []).append(values)
        col = {name: np.concatenate(values) for name, values in parts.items()}
        song = col["songs"]
        position = np.tile(np.arange(1, SIZE + 1), len(song) // SIZE)
        old = pd.Series(col["old"]).where(col["old"] > 0).astype("Int64")
        uuids, names = self.song_uuid[song], self.song_name[song]
        raw = pd.Series(
            [
                f'{{"position": {p}, "song": {{"uuid": "{u}", "name": "{n}"}}, "timeOnChart": {t}}}'
                for p, u, n, t in zip(position, uuids, names, col["on_chart"], strict=True)
            ]
        )
        return pd.DataFrame(
            {
                "chart_slug": col["chart_slug"],
                "ranking_date": col["ranking_date"].astype(object),
                "position": position,
                "song_uuid": uuids,
                "song_name": names,
                "credit_name": self.credit(song),
                "old_position": old.to_numpy(),
                "position_evolution": (old - position).astype("Int64").to_numpy(),
                "metric": (2_000_000 / position + (song % 997) * 13).round(),
                "entry_state": np.array(["", "NEW", "RE_ENTRY"], dtype=object)[col["state"]],
                "entry_date": col["since"].astype(object),
                "time_on_chart": col["on_chart"],
                "time_on_chart_unit": col["unit"],
                "raw_json": raw.to_numpy(),
            }
        )

    # -- metadata ---------------------------------------------------------------------------

    def credit(self, songs: np.ndarray) -> np.ndarray:
        feat = self.song_feat[songs]
        extra = np.where(feat >= 0, " feat. " + self.artist_name[np.maximum(feat, 0)], "")
        return np.char.add(self.artist_name[self.song_artist[songs]].astype(str), extra.astype(str))

    def artists_of(self, songs: np.ndarray) -> np.ndarray:
        both = np.concatenate([self.song_artist[songs], self.song_feat[songs]])
        return np.unique(both[both >= 0])

    def song_genres(self, i: int) -> list[m.Genre]:
        """The song's genres as the API gives them, primary first."""
        root = ROOTS[self.song_root[i]]
        out = [m.Genre(root=root, sub=[GENRES[root][self.song_sub[i] % len(GENRES[root])]])]
        second = self.song_second_root[i]
        if second >= 0 and ROOTS[second] != root:
            out.append(m.Genre(root=ROOTS[second]))
        return out

    def track_frame(self, songs: np.ndarray, fetched) -> pd.DataFrame:
        genres = [self.song_genres(i) for i in songs]
        return pd.DataFrame(
            {
                "uuid": self.song_uuid[songs],
                "name": self.song_name[songs],
                "slug": [slugify(n) for n in self.song_name[songs]],
                "credit_name": self.credit(songs),
                "release_date": self.song_release[songs].astype(object),
                "duration": self.song_duration[songs],
                "isrc": [f"QZ{self.seed % 100:02d}{i:08d}" for i in songs],
                "label": [LABELS[k][0] for k in self.song_label[songs]],
                "primary_artist_uuid": self.artist_uuid[self.song_artist[songs]],
                "primary_genre": [(g[0].sub or [g[0].root])[0] for g in genres],
                "metadata_fetched_at": fetched,
                "raw_json": [
                    json.dumps({"uuid": u, "genres": [x.model_dump() for x in g]})
                    for u, g in zip(self.song_uuid[songs], genres, strict=True)
                ],
            }
        )

    def link_frames(self, songs: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        """track_artists and track_genres rows of these songs (genre ids as the genres asset
        derives them)."""
        links, genres = [], []
        for i in songs:
            links.append((self.song_uuid[i], self.artist_uuid[self.song_artist[i]], 0, True))
            if self.song_feat[i] >= 0:
                links.append((self.song_uuid[i], self.artist_uuid[self.song_feat[i]], 1, False))
            _, ids = genre_rows(self.song_genres(i))
            genres += [(self.song_uuid[i], gid, k == 0) for k, gid in enumerate(ids)]
        return (
            pd.DataFrame(links, columns=["track_uuid", "artist_uuid", "position", "is_primary"]),
            pd.DataFrame(genres, columns=["track_uuid", "genre_id", "is_primary"]),
        )

    def genre_frame(self) -> pd.DataFrame:
        rows, _ = genre_rows([m.Genre(root=r, sub=subs) for r, subs in GENRES.items()])
        return pd.DataFrame(rows)

    def artist_frame(self, artists: np.ndarray, fetched=None) -> pd.DataFrame:
        """Artist rows: stubs (as track metadata creates them) unless ``fetched`` is given."""
        frame = pd.DataFrame(
            {
                "uuid": self.artist_uuid[artists],
                "slug": [slugify(n) for n in self.artist_name[artists]],
                "name": self.artist_name[artists],
            }
        )
        if fetched is not None:
            stages = np.array(["superstar", "mainstream", "mid-level", "developing"])
            frame["country_code"] = self.artist_country[artists]
            frame["career_stage"] = stages[artists % 4]
            frame["metadata_fetched_at"] = fetched
            frame["raw_json"] = [json.dumps({"uuid": u}) for u in frame.uuid]
        return frame

    def artist_genre_frame(self, artists: np.ndarray) -> pd.DataFrame:
        roots = [slugify(ROOTS[r]) for r in self.artist_root[artists]]
        return pd.DataFrame(
            {"artist_uuid": self.artist_uuid[artists], "genre_id": roots, "is_primary": True}
        )

    # -- audience ---------------------------------------------------------------------------

    def _series(self, owners, uuids, starts, ends, platform: str, salt: int) -> pd.DataFrame:
        """A cumulative daily series per owner over [start, end]."""
        lengths = np.maximum((ends - starts).astype(np.int64) + 1, 0)
        owner = np.repeat(owners, lengths)
        offset = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        date = np.repeat(starts, lengths) + offset.astype("timedelta64[D]")
        x = (date - np.datetime64(self.start, "D")).astype(np.int64) + 400
        value = (owner * 7919 + salt) % 1_000_000 + (50 + (owner * salt) % 20_000) * x
        return pd.DataFrame(
            {
                "owner": uuids[owner],
                "platform": platform,
                "identifier": np.char.add(f"{platform[:2]}{salt}-", owner.astype(str)),
                "date": date.astype(object),
                "value": value,
                "skip": (owner + x) % 17 == 0,
            }
        )

    def track_audience(self, songs, starts, ends) -> pd.DataFrame:
        """Per platform one identifier, two on Spotify for one song in six (as the API)."""
        frames = []
        for p, platform in enumerate(TRACK_PLATFORMS):
            frames.append(self._series(songs, self.song_uuid, starts, ends, platform, 1000 + p))
            if platform == "spotify":
                more = songs % 6 == 0
                frames.append(
                    self._series(
                        songs[more], self.song_uuid, starts[more], ends[more], platform, 2000
                    )
                )
        frame = pd.concat(frames, ignore_index=True).rename(columns={"owner": "track_uuid"})
        return frame[["track_uuid", "platform", "identifier", "date", "value"]]

    def artist_audience(self, artists, starts, ends) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Followers (with the odd skipped day, as the API) and listeners per platform."""
        followers, listeners = [], []
        for p, platform in enumerate(ARTIST_PLATFORMS):
            f = self._series(artists, self.artist_uuid, starts, ends, platform, 31 + p)
            followers.append(f[~f.skip].rename(columns={"value": "follower_count"}))
            listeners.append(
                self._series(artists, self.artist_uuid, starts, ends, platform, 57 + p)
            )
        return (
            pd.concat(followers).rename(columns={"owner": "artist_uuid"})[
                ["artist_uuid", "platform", "date", "follower_count"]
            ],
            pd.concat(listeners).rename(columns={"owner": "artist_uuid"})[
                ["artist_uuid", "platform", "date", "value"]
            ],
        )

    # -- writing ----------------------------------------------------------------------------

    def fill(self, wh: Warehouse) -> dict:
        """The year of syncs, written in bulk; returns row counts and seconds."""
        started = time.perf_counter()
        holes = set(self.holes)
        keys = [
            (c.slug, d)
            for c in self.charts
            for d in self.timelines[c.slug]["dates"]
            if d <= self.end and (c.slug, d) not in holes
        ]
        fetched = {k: fetch_time(k[1], self.charts.index(self.by_slug[k[0]])) for k in keys}
        entries = self.entries(keys)
        quiet = [  # a weekly chart's other days: synced, nothing published
            (c.slug, self.start + dt.timedelta(days=d))
            for c in self.charts
            for d in range(self.days)
            if not c.publishes(self.start + dt.timedelta(days=d))
        ]
        log = pd.concat(
            [
                sync_log(keys, fetched, "success"),
                sync_log(self.holes, {k: fetch_time(k[1], 0) for k in self.holes}, "failed"),
                sync_log(quiet, {k: fetch_time(k[1], 0) for k in quiet}, "not_published"),
            ]
        )
        # each song's first and last ranking, and each artist's: the sync rules fetched their
        # metadata every 30 days and their audience every 7 days in between
        index = pd.Series(np.arange(len(self.song_uuid)), index=self.song_uuid)
        seen = pd.DataFrame(
            {
                "song": index[entries.song_uuid].to_numpy(),
                "date": pd.to_datetime(entries.ranking_date),
            }
        )
        span = seen.groupby("song").date.agg(["min", "max"])
        songs = span.index.to_numpy()
        credits = pd.concat(
            [span.assign(artist=self.song_artist[songs]), span.assign(artist=self.song_feat[songs])]
        )
        art = credits[credits.artist >= 0].groupby("artist").agg({"min": "min", "max": "max"})
        artists = art.index.to_numpy()
        meta_t, aud_t = (_last_fetch(span, age) for age in (METADATA_MAX_AGE, AUDIENCE_MAX_AGE))
        meta_a, aud_a = (_last_fetch(art, age) for age in (METADATA_MAX_AGE, AUDIENCE_MAX_AGE))
        tracks = self.track_frame(songs, _evening(meta_t, 30))
        tracks["audience_fetched_at"] = _evening(aud_t, 40)
        links, track_genres = self.link_frames(songs)
        artist_rows = self.artist_frame(artists, _evening(meta_a, 35))
        artist_rows["audience_fetched_at"] = _evening(aud_a, 45)
        lookback = np.timedelta64(LOOKBACK.days, "D")
        track_audience = self.track_audience(songs, aud_t - lookback, aud_t)
        followers, listeners = self.artist_audience(artists, aud_a - lookback, aud_a)
        generated = time.perf_counter() - started
        now = utcnow()
        writes = [
            ("upsert", self.chart_frame(now), "charts", ["slug"]),
            ("upsert", self.subscription_frame(now), "chart_subscriptions", ["chart_slug"]),
            ("upsert", self.genre_frame(), "genres", ["id"]),
            ("upsert", rankings_frame(keys, fetched), "chart_rankings", KEYS),
            ("upsert", log, "chart_sync_log", ["run_id", *KEYS]),
            ("replace_partitions", entries, "chart_ranking_entries", KEYS),
            ("upsert", self.artist_frame(self.artists_of(songs)), "artists", ["uuid"]),
            ("upsert", artist_rows, "artists", ["uuid"]),
            ("upsert", tracks, "tracks", ["uuid"]),
            ("upsert", links, "track_artists", ["track_uuid", "artist_uuid"]),
            ("upsert", track_genres, "track_genres", ["track_uuid", "genre_id"]),
            (
                "upsert",
                self.artist_genre_frame(artists),
                "artist_genres",
                ["artist_uuid", "genre_id"],
            ),
            ("replace_partitions", track_audience, "track_audience", ["track_uuid"]),
            ("replace_partitions", followers, "artist_audience", ["artist_uuid"]),
            ("replace_partitions", listeners, "artist_streaming", ["artist_uuid"]),
        ]
        for method, frame, table, keys_ in writes:
            for start in range(0, len(frame), 500_000):  # bounded memory per COPY
                getattr(wh, method)(frame.iloc[start : start + 500_000], table, keys_)
        analyze(wh)
        return {
            "ranking_entries": len(entries),
            "rankings": len(keys),
            "tracks": len(tracks),
            "artists": len(artist_rows),
            "track_audience_points": len(track_audience),
            "audience_points": len(track_audience) + len(followers) + len(listeners),
            "generate_seconds": round(generated, 1),
            "fill_seconds": round(time.perf_counter() - started, 1),
        }

    def chart_frame(self, now: dt.datetime) -> pd.DataFrame:
        spec = {"scale": self.scale, "days": self.days, "end": str(self.end), "seed": self.seed}
        return pd.DataFrame(
            {
                "slug": [c.slug for c in self.charts],
                "name": [c.name for c in self.charts],
                "platform": [c.platform for c in self.charts],
                "chart_type": "song",
                "frequency": [c.frequency.upper() for c in self.charts],
                "country_code": [c.country for c in self.charts],
                "max_results_count": SIZE,
                "metric_type": "streams",
                "raw_json": json.dumps({"volume": spec}),  # what `day` rebuilds the world from
                "updated_at": now,
            }
        )

    def subscription_frame(self, now: dt.datetime) -> pd.DataFrame:
        rows = [Subscription(c.slug, c.platform, c.frequency).row() for c in self.charts]
        return pd.DataFrame(rows).assign(created_at=now, updated_at=now)

    def land_day(
        self,
        wh: Warehouse,
        day: dt.date,
        backfill: Iterable[tuple[str, dt.date]] = (),
        now: dt.datetime | None = None,
    ) -> dict:
        """What one day of syncs writes, through the sync package's own rules and writers: the
        rankings published on ``day`` (and the backfilled keys), then, as the cascade does, the
        metadata of the songs and artists due (``start_sync``: new or older than 30 days) with
        their genres derived from it, and the audience of those due (7 days) over the windows
        not stored yet (``missing_windows``), written batch by batch (``write_batch``)."""
        now = now or utcnow()
        keys = self.published(day) + list(backfill)
        entries = self.entries(keys)
        with wh.transaction() as conn:
            wh.upsert(
                rankings_frame(keys, dict.fromkeys(keys, now)), "chart_rankings", KEYS, conn=conn
            )
            wh.replace_partitions(entries, "chart_ranking_entries", KEYS, conn=conn)
            log = sync_log(keys, dict.fromkeys(keys, now), "success")
            wh.upsert(log, "chart_sync_log", ["run_id", *KEYS], conn=conn)
        song_index = pd.Series(np.arange(len(self.song_uuid)), index=self.song_uuid)
        artist_index = pd.Series(np.arange(len(self.artist_uuid)), index=self.artist_uuid)
        songs = np.unique(song_index[entries.song_uuid].to_numpy())
        due = start_sync(wh, "tracks", "metadata_fetched_at", self.song_uuid[songs], now, META)[0]
        tracks_due = song_index[due].to_numpy()
        self.write_tracks(wh, tracks_due, now)
        artists = np.unique(self.artists_of(songs))
        due = start_sync(wh, "artists", "metadata_fetched_at", self.artist_uuid[artists], now, META)
        fetched = artist_index[due[0]].to_numpy()
        if len(fetched):
            write_artists(wh, self.artists(fetched), now)
            derive_genres(wh, [], self.artist_uuid[fetched])
        track_audience = start_sync(
            wh, "tracks", "audience_fetched_at", self.song_uuid[songs], now, AUDIENCE_MAX_AGE
        )[0]
        artist_audience = start_sync(
            wh, "artists", "audience_fetched_at", self.artist_uuid[artists], now, AUDIENCE_MAX_AGE
        )[0]
        points = self.write_audience(
            wh,
            song_index[track_audience].to_numpy(),
            artist_index[artist_audience].to_numpy(),
            day,
            now,
        )
        return {
            "rankings": len(keys),
            "ranking_entries": len(entries),
            "tracks_fetched": len(tracks_due),
            "artists_fetched": len(fetched),
            "audience_points": points,
        }

    def songs(self, songs: np.ndarray) -> list[m.Song]:
        """The songs as the API describes them (the payload the tracks asset receives)."""
        out = []
        for i in songs:
            credited = [self.song_artist[i]] + (
                [self.song_feat[i]] if self.song_feat[i] >= 0 else []
            )
            payload = {
                "uuid": self.song_uuid[i],
                "name": self.song_name[i],
                "slug": slugify(self.song_name[i]),
                "creditName": self.credit(np.array([i]))[0],
                "releaseDate": f"{self.song_release[i]}T00:00:00+00:00",
                "duration": int(self.song_duration[i]),
                "isrc": {"value": f"QZ{self.seed % 100:02d}{i:08d}"},
                "labels": [{"name": LABELS[self.song_label[i]][0]}],
                "artists": [
                    {
                        "uuid": self.artist_uuid[a],
                        "name": self.artist_name[a],
                        "slug": slugify(self.artist_name[a]),
                    }
                    for a in credited
                ],
                "mainArtists": [{"uuid": self.artist_uuid[self.song_artist[i]]}],
                "genres": [g.model_dump() for g in self.song_genres(i)],
            }
            out.append(m.Song.model_validate(payload))
        return out

    def artists(self, artists: np.ndarray) -> list[m.Artist]:
        """The artists as the API describes them (the payload the artists asset receives)."""
        stages = ("superstar", "mainstream", "mid-level", "developing")
        return [
            m.Artist.model_validate(
                {
                    "uuid": self.artist_uuid[a],
                    "name": self.artist_name[a],
                    "slug": slugify(self.artist_name[a]),
                    "countryCode": self.artist_country[a],
                    "careerStage": stages[a % 4],
                    "genres": [{"root": ROOTS[self.artist_root[a]], "sub": []}],
                }
            )
            for a in artists
        ]

    def write_tracks(self, wh: Warehouse, songs: np.ndarray, now: dt.datetime) -> None:
        """Track metadata as the tracks asset writes it (``sync.tracks.write_tracks``: rows,
        artist links, artist stubs), then its genres as the genres asset derives them."""
        if not len(songs):
            return
        write_track_metadata(wh, self.songs(songs), now)
        derive_genres(wh, self.song_uuid[songs], [])

    def write_audience(self, wh, songs, artists, day: dt.date, now: dt.datetime) -> int:
        """The points of the windows not stored yet up to ``day`` (the sync's own window rule),
        with each batch's fetch time, as the audience assets write them; returns the points."""
        points = 0
        if len(songs):
            uuids = self.song_uuid[songs]
            starts = _starts(wh, "track_audience", "track_uuid", uuids, day)
            frame = self.track_audience(songs, starts, np.full(len(songs), np.datetime64(day)))
            series = [("track_audience", frame, TRACK_AUDIENCE_KEYS)]
            points += write_batch(wh, "tracks", list(uuids), now, series)
        if len(artists):
            uuids = self.artist_uuid[artists]
            starts = _starts(wh, "artist_streaming", "artist_uuid", uuids, day)
            ends = np.full(len(artists), np.datetime64(day))
            followers, listeners = self.artist_audience(artists, starts, ends)
            series = [
                ("artist_audience", followers, ARTIST_SERIES_KEYS),
                ("artist_streaming", listeners, ARTIST_SERIES_KEYS),
            ]
            points += write_batch(wh, "artists", list(uuids), now, series)
        return points

    def change_metadata(self, wh: Warehouse, now: dt.datetime | None = None) -> str:
        """The song with the most entries in the first chart (a hit: the costliest change) gets
        another primary genre and another primary artist, its old one credited as featured,
        and its metadata is refetched as the tracks and genres assets would. Returns its uuid."""
        song = int(np.bincount(self.timelines[self.charts[0].slug]["songs"].ravel()).argmax())
        self.song_root[song] = (self.song_root[song] + 1) % len(ROOTS)
        self.song_feat[song] = self.song_artist[song]
        self.song_artist[song] = (self.song_artist[song] + 1) % len(self.artist_uuid)
        self.write_tracks(wh, np.array([song]), now or utcnow())
        return str(self.song_uuid[song])


def fetch_time(day: dt.date, k: int) -> dt.datetime:
    """When the fill's syncs fetched a ranking: that evening, charts a few seconds apart."""
    return dt.datetime.combine(day, dt.time(22, 0)) + dt.timedelta(seconds=7 * k)


def _last_fetch(span: pd.DataFrame, max_age: dt.timedelta) -> np.ndarray:
    """The last date in [first seen, last seen] on which a fetch every ``max_age`` fell."""
    days = (span["max"] - span["min"]).dt.days // max_age.days * max_age.days
    return (span["min"] + pd.to_timedelta(days, unit="D")).to_numpy().astype("datetime64[D]")


def _evening(dates: np.ndarray, minute: int) -> np.ndarray:
    return dates.astype("datetime64[m]") + np.timedelta64(23 * 60 + minute, "m")


def rankings_frame(keys, fetched: dict) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "chart_slug": [s for s, _ in keys],
            "ranking_date": [d for _, d in keys],
            "ranking_datetime": [f"{d.isoformat()}T00:00:00+00:00" for _, d in keys],
            "entry_count": SIZE,
            "fetched_at": [fetched[k] for k in keys],
        }
    )


def sync_log(keys, fetched: dict, status: str) -> pd.DataFrame:
    at = pd.Series([fetched[k] for k in keys], dtype="datetime64[ns]")
    return pd.DataFrame(
        {
            "run_id": [f"volume-{s}-{d}-{fetched[(s, d)]:%H%M%S%f}" for s, d in keys],
            "chart_slug": [s for s, _ in keys],
            "ranking_date": [d for _, d in keys],
            "status": status,
            "published": status != "not_published",
            "entry_count": {"success": SIZE, "not_published": 0}.get(status),
            "api_calls": 1,
            "started_at": at - pd.Timedelta(seconds=2),
            "finished_at": at,
            "duration_seconds": 2.0,
        }
    )


def _starts(wh: Warehouse, table: str, owner: str, uuids, day: dt.date) -> np.ndarray:
    """Each entity's first date to fetch, by the sync's window rule (``missing_windows``: the
    day after the last stored point, or the 90-day lookback); after ``day`` when none is due.
    The volume's series share their dates across platforms, so one platform answers."""
    platform = wh.scalar(f"SELECT min(platform) FROM {SCHEMA}.{table}") or "spotify"
    uuids = [str(u) for u in uuids]
    first = {
        u: start for u, _, start, _ in missing_windows(wh, table, owner, uuids, [platform], day)
    }
    after = day + dt.timedelta(days=1)
    return np.array([first.get(u, after) for u in uuids], dtype="datetime64[D]")


def analyze(wh: Warehouse) -> None:
    """Planner statistics and the visibility map, as autovacuum leaves a table loaded long ago
    (PostgreSQL; DuckDB keeps its statistics as it writes)."""
    if wh.backend == "postgresql":
        with wh.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


def world_of(wh: Warehouse) -> World:
    """The World a filled warehouse was made from (its parameters ride in the charts' JSON),
    with a timeline reaching past the newest stored ranking."""
    raw = wh.scalar(f"SELECT raw_json FROM {SCHEMA}.charts WHERE slug LIKE 'vol-%' LIMIT 1")
    if raw is None:
        raise SystemExit("this warehouse was not filled by benchmarks/volume.py fill")
    spec = json.loads(raw)["volume"]
    newest = pd.Timestamp(wh.scalar(f"SELECT max(ranking_date) FROM {SCHEMA}.chart_rankings"))
    end = dt.date.fromisoformat(spec["end"])
    return World(spec["scale"], spec["days"], end, spec["seed"], last=newest.date())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fill = commands.add_parser("fill", help="fill an empty warehouse")
    fill.add_argument("--scale", type=int, default=20, help="times the bench's three charts")
    fill.add_argument("--days", type=int, default=365)
    fill.add_argument("--end", type=dt.date.fromisoformat, help="last date (default yesterday)")
    fill.add_argument("--seed", type=int, default=0)
    day = commands.add_parser("day", help="land the next day of syncs")
    day.add_argument("--backfill", action="store_true", help="and one date the fill missed")
    day.add_argument("--change-metadata", action="store_true", help="and a hit's new genre")
    board = commands.add_parser("dashboard", help="dbt build, then render the dashboard")
    board.add_argument("--out", type=Path, default=Path("dashboard.html"))
    for command in (fill, day, board):
        command.add_argument("--url", required=True, help="the warehouse's SQLAlchemy URL")
    args = parser.parse_args(argv)
    wh = Warehouse(args.url)
    wh.migrate()
    if args.command == "fill":
        out = World(args.scale, args.days, args.end, args.seed).fill(wh)
    elif args.command == "day":
        world = world_of(wh)
        stored = wh.read_frame(f"SELECT chart_slug, ranking_date FROM {SCHEMA}.chart_rankings")
        stored = {(r.chart_slug, pd.Timestamp(r.ranking_date).date()) for r in stored.itertuples()}
        backfill = [k for k in world.holes if k not in stored][: int(args.backfill)]
        next_day = max(d for _, d in stored) + dt.timedelta(days=1)
        out = {"day": str(next_day), **world.land_day(wh, next_day, backfill)}
        out["backfilled"] = [f"{s} {d}" for s, d in backfill]
        if args.change_metadata:
            out["changed_track"] = world.change_metadata(wh)
    else:
        out = {"dashboard": str(render_dashboard(wh, args.out))}
    wh.engine.dispose()
    print(json.dumps(out, indent=2))
    return 0


def render_dashboard(wh: Warehouse, path: Path) -> Path:
    """dbt build over the warehouse, then the dashboard page, as the analytics run does."""
    import tempfile

    from musiccharts_pipeline.dashboard.render import load_marts, render
    from musiccharts_pipeline.dbt import invoke

    wh.engine.dispose()  # DuckDB: dbt opens the file from another process
    with tempfile.TemporaryDirectory() as target:
        invoke(["build"], wh.url, raise_on_error=True, target_path=Path(target)).wait()
    path.write_text(render(load_marts(wh)), encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.exit(main())
