"""Track and artist metadata, genres: fetched only when missing or stale, shared entities once."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import pandas as pd

from musiccharts_pipeline.soundcharts import SoundChartsClient
from musiccharts_pipeline.soundcharts import models as m
from musiccharts_pipeline.sync.rules import METADATA_MAX_AGE, is_stale, utcnow
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse

BATCH = 200
WORKERS = 8
T = TypeVar("T")
R = TypeVar("R")


@dataclasses.dataclass
class EntityOutcome:
    considered: int = 0
    created: int = 0
    updated: int = 0
    fresh: int = 0
    missing: int = 0
    rows: int = 0
    uuids: list[str] = dataclasses.field(default_factory=list)

    def metadata(self) -> dict:
        return {
            "considered": self.considered,
            "created": self.created,
            "updated": self.updated,
            "skipped_fresh": self.fresh,
            "not_found": self.missing,
            "rows_written": self.rows,
        }

    def add(self, other: EntityOutcome) -> None:
        for f in ("considered", "created", "updated", "fresh", "missing", "rows"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.uuids.extend(other.uuids)


def slugify(text: str | None) -> str | None:
    if not text:
        return None
    slug = re.sub(r"[^\w]+", "-", text.lower(), flags=re.UNICODE).strip("-")
    return slug or None


def chunks(items: Sequence[T], size: int = BATCH) -> Iterable[Sequence[T]]:
    """Consecutive slices of at most ``size`` items: one write transaction each."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def fetch_concurrently(
    fetch: Callable[[T], R], items: Sequence[T], workers: int = WORKERS
) -> list[tuple[T, R]]:
    """Call ``fetch`` on every item from a thread pool (the client's rate ceiling still holds).

    The first error stops the batch: queued items are cancelled (only the calls already in flight
    finish), so a spent quota or a revoked key does not go on to fail every remaining item.
    """
    if not items:
        return []
    failed = threading.Event()

    def guarded(item: T) -> R:
        if failed.is_set():
            raise _Skipped
        try:
            return fetch(item)
        except BaseException:
            failed.set()
            raise

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(items)))
    try:
        futures = [pool.submit(guarded, item) for item in items]
        concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    # items start in order, so a skipped or cancelled item always follows a real failure: the
    # first error in item order is a real one
    return [(item, future.result()) for item, future in zip(items, futures, strict=True)]


class _Skipped(Exception):
    """An item not fetched because an earlier one failed."""


def _fetched_at(wh: Warehouse, table: str, column: str, uuids: Iterable[str]) -> dict:
    uuids = sorted(set(uuids))
    if not uuids:
        return {}
    frame = wh.read_frame(
        f"SELECT uuid, {column} AS fetched FROM {SCHEMA}.{table} WHERE uuid IN :uuids",
        {"uuids": uuids},
    )
    return {
        row.uuid: (None if pd.isna(row.fetched) else pd.Timestamp(row.fetched).to_pydatetime())
        for row in frame.itertuples()
    }


def plan_refresh(
    wh: Warehouse,
    table: str,
    column: str,
    uuids: Iterable[str],
    now: dt.datetime,
    max_age: dt.timedelta,
) -> tuple[list[str], int, set[str]]:
    """(uuids to fetch, count skipped as fresh, uuids already known)."""
    uuids = sorted(set(uuids))
    known = _fetched_at(wh, table, column, uuids)
    todo = [u for u in uuids if is_stale(known.get(u), now, max_age)]
    return todo, len(uuids) - len(todo), set(known)


def track_frames(
    songs: list[m.Song], now: dt.datetime
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    tracks, links, stubs = [], [], {}
    for song in songs:
        primary = song.primary_artist
        tracks.append(
            {
                "uuid": song.uuid,
                "name": song.name,
                "slug": song.slug or slugify(song.name),
                "credit_name": song.credit_name,
                "image_url": song.image_url,
                "app_url": song.app_url,
                "release_date": song.release_date.date() if song.release_date else None,
                "duration": song.duration,
                "isrc": song.isrc,
                "label": song.label,
                "explicit": song.explicit,
                "language_code": song.language_code,
                "primary_artist_uuid": primary.uuid if primary else None,
                "metadata_fetched_at": now,
                "raw_json": json.dumps(song.raw, sort_keys=True),
            }
        )
        seen = set()
        for k, artist in enumerate(song.artists or song.main_artists):
            if artist.uuid in seen:
                continue
            seen.add(artist.uuid)
            links.append(
                {
                    "track_uuid": song.uuid,
                    "artist_uuid": artist.uuid,
                    "position": k,
                    "is_primary": primary is not None and artist.uuid == primary.uuid,
                }
            )
            stubs[artist.uuid] = {
                "uuid": artist.uuid,
                "slug": artist.slug,
                "name": artist.name,
                "app_url": artist.app_url,
                "image_url": artist.image_url,
            }
    return (
        pd.DataFrame(tracks),
        pd.DataFrame(links, columns=["track_uuid", "artist_uuid", "position", "is_primary"]),
        pd.DataFrame(
            list(stubs.values()), columns=["uuid", "slug", "name", "app_url", "image_url"]
        ),
    )


def sync_tracks(
    client: SoundChartsClient,
    wh: Warehouse,
    uuids: Iterable[str],
    now: dt.datetime | None = None,
    max_age: dt.timedelta = METADATA_MAX_AGE,
) -> EntityOutcome:
    """Fetch metadata of the songs that have none or stale metadata; link and stub artists."""
    now = now or utcnow()
    todo, fresh, known = plan_refresh(wh, "tracks", "metadata_fetched_at", uuids, now, max_age)
    out = EntityOutcome(considered=len(todo) + fresh, fresh=fresh)
    for batch in chunks(todo):
        songs = [s for _, s in fetch_concurrently(client.song, batch) if s is not None]
        out.missing += len(batch) - len(songs)
        tracks, links, stubs = track_frames(songs, now)
        with wh.transaction() as conn:
            out.rows += wh.upsert(tracks, "tracks", ["uuid"], conn=conn)
            if songs:
                wh.execute(
                    f"DELETE FROM {SCHEMA}.track_artists WHERE track_uuid IN :uuids",
                    {"uuids": [s.uuid for s in songs]},
                    conn=conn,
                )
            out.rows += wh.upsert(links, "track_artists", ["track_uuid", "artist_uuid"], conn=conn)
            # artists seen in track metadata exist at once; their own metadata comes later
            out.rows += wh.upsert(stubs, "artists", ["uuid"], conn=conn)
        out.created += sum(1 for s in songs if s.uuid not in known)
        out.updated += sum(1 for s in songs if s.uuid in known)
        out.uuids.extend(s.uuid for s in songs)
    return out


def artist_frame(artists: list[m.Artist], now: dt.datetime) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "uuid": a.uuid,
                "slug": a.slug or slugify(a.name),
                "name": a.name,
                "app_url": a.app_url,
                "image_url": a.image_url,
                "country_code": a.country_code,
                "gender": a.gender,
                "artist_type": a.type,
                "career_stage": a.career_stage,
                "metadata_fetched_at": now,
                "raw_json": json.dumps(a.raw, sort_keys=True),
            }
            for a in artists
        ]
    )


def sync_artists(
    client: SoundChartsClient,
    wh: Warehouse,
    uuids: Iterable[str],
    now: dt.datetime | None = None,
    max_age: dt.timedelta = METADATA_MAX_AGE,
) -> EntityOutcome:
    now = now or utcnow()
    todo, fresh, known = plan_refresh(wh, "artists", "metadata_fetched_at", uuids, now, max_age)
    # a stub row made from track metadata is not "known": its metadata was never fetched
    fetched = {
        u
        for u, ts in _fetched_at(wh, "artists", "metadata_fetched_at", todo).items()
        if ts is not None
    }
    out = EntityOutcome(considered=len(todo) + fresh, fresh=fresh)
    for batch in chunks(todo):
        artists = [a for _, a in fetch_concurrently(client.artist, batch) if a is not None]
        out.missing += len(batch) - len(artists)
        out.rows += wh.upsert(artist_frame(artists, now), "artists", ["uuid"])
        out.created += sum(1 for a in artists if a.uuid not in fetched)
        out.updated += sum(1 for a in artists if a.uuid in fetched)
        out.uuids.extend(a.uuid for a in artists)
    return out


def artists_of_tracks(wh: Warehouse, track_uuids: Iterable[str]) -> list[str]:
    track_uuids = sorted(set(track_uuids))
    if not track_uuids:
        return []
    frame = wh.read_frame(
        f"SELECT DISTINCT artist_uuid FROM {SCHEMA}.track_artists WHERE track_uuid IN :uuids",
        {"uuids": track_uuids},
    )
    return sorted(frame.artist_uuid)


# -- genres ----------------------------------------------------------------------------------


def genre_rows(genres: list[m.Genre]) -> tuple[list[dict], list[str]]:
    """Genre rows of the root/sub hierarchy, and the ids in the payload's order (primary first)."""
    rows, ids = {}, []
    for genre in genres:
        root_id = slugify(genre.root)
        if not root_id:
            continue
        rows[root_id] = {
            "id": root_id,
            "name": genre.root,
            "slug": root_id,
            "parent_id": None,
            "level": 0,
            "soundcharts_root": genre.root,
        }
        subs = [s for s in genre.sub if slugify(s)]
        if not subs:
            ids.append(root_id)
        for sub in subs:
            sub_id = f"{root_id}/{slugify(sub)}"
            if sub_id == f"{root_id}/{root_id}":
                ids.append(root_id)
                continue
            rows[sub_id] = {
                "id": sub_id,
                "name": sub,
                "slug": slugify(sub),
                "parent_id": root_id,
                "level": 1,
                "soundcharts_root": genre.root,
            }
            ids.append(sub_id)
    return list(rows.values()), list(dict.fromkeys(ids))


def derive_genres(wh: Warehouse, track_uuids: Iterable[str], artist_uuids: Iterable[str]) -> dict:
    """Extract genres from the stored raw metadata; set primary genres. No API call."""
    counts = {"genres": 0, "track_genres": 0, "artist_genres": 0, "tracks": 0, "artists": 0}
    genres: dict[str, dict] = {}
    owners: dict[str, list[str]] = {"track": [], "artist": []}  # whose links are replaced
    links: dict[str, list[dict]] = {"track": [], "artist": []}
    primary: dict[str, str] = {}
    for owner, table, model, uuids in (
        ("track", "tracks", m.Song, track_uuids),
        ("artist", "artists", m.Artist, artist_uuids),
    ):
        uuids = sorted(set(uuids))
        if not uuids:
            continue
        frame = wh.read_frame(
            f"SELECT uuid, raw_json FROM {SCHEMA}.{table} "
            "WHERE uuid IN :uuids AND raw_json IS NOT NULL AND metadata_fetched_at IS NOT NULL",
            {"uuids": uuids},
        )
        for row in frame.itertuples():
            rows, ids = genre_rows(model.model_validate(json.loads(row.raw_json)).genres)
            genres.update({r["id"]: r for r in rows})
            links[owner] += [
                {f"{owner}_uuid": row.uuid, "genre_id": gid, "is_primary": k == 0}
                for k, gid in enumerate(ids)
            ]
            if owner == "track" and ids:
                primary[row.uuid] = genres[ids[0]]["name"]
        owners[owner] = frame.uuid.tolist()
        counts[f"{owner}s"] = len(frame)
    with wh.transaction() as conn:
        counts["genres"] = wh.upsert(
            pd.DataFrame(list(genres.values())), "genres", ["id"], conn=conn
        )
        for owner in ("track", "artist"):
            if not owners[owner]:
                continue
            wh.execute(
                f"DELETE FROM {SCHEMA}.{owner}_genres WHERE {owner}_uuid IN :uuids",
                {"uuids": owners[owner]},
                conn=conn,
            )
            counts[f"{owner}_genres"] = wh.upsert(
                pd.DataFrame(links[owner], columns=[f"{owner}_uuid", "genre_id", "is_primary"]),
                f"{owner}_genres",
                [f"{owner}_uuid", "genre_id"],
                conn=conn,
            )
        if primary:
            wh.upsert(
                pd.DataFrame({"uuid": list(primary), "primary_genre": list(primary.values())}),
                "tracks",
                ["uuid"],
                conn=conn,
            )
    return counts
