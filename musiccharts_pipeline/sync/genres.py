"""Genres: extracted into a root/sub hierarchy from the stored raw metadata, no API call."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable

import pandas as pd

from musiccharts_pipeline.soundcharts import models as m
from musiccharts_pipeline.sync.rules import slugify
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse

#: Whose genres are derived: (owner, its table, its payload model).
OWNERS = (("track", "tracks", m.Song), ("artist", "artists", m.Artist))


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


def stored_metadata(wh: Warehouse, table: str, uuids: list[str]) -> pd.DataFrame:
    """uuid and raw_json of the rows among ``uuids`` whose metadata was fetched."""
    return wh.read_frame(
        f"SELECT uuid, raw_json FROM {SCHEMA}.{table} "
        "WHERE uuid IN :uuids AND raw_json IS NOT NULL AND metadata_fetched_at IS NOT NULL",
        {"uuids": uuids},
    )


@dataclasses.dataclass
class DerivedGenres:
    """The genres found in tracks' and artists' metadata, and the links that replace theirs."""

    genres: dict[str, dict] = dataclasses.field(default_factory=dict)
    #: whose links are replaced, per owner
    owners: dict[str, list[str]] = dataclasses.field(
        default_factory=lambda: {"track": [], "artist": []}
    )
    links: dict[str, list[dict]] = dataclasses.field(
        default_factory=lambda: {"track": [], "artist": []}
    )
    #: each track's primary genre name
    primary: dict[str, str] = dataclasses.field(default_factory=dict)

    def add(self, owner: str, model: type[m.Payload], frame: pd.DataFrame) -> None:
        """The genres of each row of ``frame`` (uuid, raw_json); the first one is primary."""
        for row in frame.itertuples():
            rows, ids = genre_rows(model.model_validate(json.loads(row.raw_json)).genres)
            self.genres.update({r["id"]: r for r in rows})
            self.links[owner] += [
                {f"{owner}_uuid": row.uuid, "genre_id": gid, "is_primary": k == 0}
                for k, gid in enumerate(ids)
            ]
            if owner == "track" and ids:
                self.primary[row.uuid] = self.genres[ids[0]]["name"]
        self.owners[owner] = frame.uuid.tolist()

    def write(self, wh: Warehouse) -> dict[str, int]:
        """One transaction: the genres, each owner's links replaced, the tracks' primary genre.
        Rows written per table."""
        counts = {}
        with wh.transaction() as conn:
            counts["genres"] = wh.upsert(
                pd.DataFrame(list(self.genres.values())), "genres", ["id"], conn=conn
            )
            for owner in ("track", "artist"):
                if not self.owners[owner]:
                    continue
                wh.execute(
                    f"DELETE FROM {SCHEMA}.{owner}_genres WHERE {owner}_uuid IN :uuids",
                    {"uuids": self.owners[owner]},
                    conn=conn,
                )
                counts[f"{owner}_genres"] = wh.upsert(
                    pd.DataFrame(
                        self.links[owner], columns=[f"{owner}_uuid", "genre_id", "is_primary"]
                    ),
                    f"{owner}_genres",
                    [f"{owner}_uuid", "genre_id"],
                    conn=conn,
                )
            if self.primary:
                wh.upsert(
                    pd.DataFrame(
                        {"uuid": list(self.primary), "primary_genre": list(self.primary.values())}
                    ),
                    "tracks",
                    ["uuid"],
                    conn=conn,
                )
        return counts


def derive_genres(wh: Warehouse, track_uuids: Iterable[str], artist_uuids: Iterable[str]) -> dict:
    """Extract genres from the stored raw metadata; set primary genres. No API call."""
    counts = {"genres": 0, "track_genres": 0, "artist_genres": 0, "tracks": 0, "artists": 0}
    derived = DerivedGenres()
    for (owner, table, model), uuids in zip(OWNERS, (track_uuids, artist_uuids), strict=True):
        uuids = sorted(set(uuids))
        if not uuids:
            continue
        frame = stored_metadata(wh, table, uuids)
        derived.add(owner, model, frame)
        counts[f"{owner}s"] = len(frame)
    counts.update(derived.write(wh))
    return counts
