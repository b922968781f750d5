"""The simulator's releases: each song is on its single, most on an album of their primary
artist's year, some on a label compilation too; albums as the API describes them."""

from __future__ import annotations

import functools

from musiccharts_pipeline.soundcharts.simulator.catalogue import LABELS, WORDS
from musiccharts_pipeline.soundcharts.simulator.seeded import stable_hash, stable_uuid


class AlbumCatalogue:
    """Mixed into ``World``: needs its ``seed``, ``n_songs``, ``song_artists(i)``,
    ``release_date(i)``, ``song_object(i)`` and ``artist_light(a)``."""

    def album_uuid(self, kind: str, key: object) -> str:
        return stable_uuid("album", self.seed, kind, key)

    def song_albums(self, i: int) -> list[tuple[str, str, object]]:
        """(album uuid, type, key) of each release the song is on, the original first."""
        h = stable_hash("song-albums", self.seed, i)
        primary = self.song_artists(i)[0]
        releases = [(self.album_uuid("single", i), "single", i)]
        if h % 4:  # the primary artist's album of that year
            year = self.release_date(i).year
            releases.append((self.album_uuid("album", (primary, year)), "album", (primary, year)))
        if h % 5 == 0:  # a label compilation
            label = (h >> 8) % len(LABELS)
            releases.append((self.album_uuid("compil", label), "compil", label))
        return releases

    @functools.cached_property
    def album_index(self) -> dict[str, tuple[str, object, list[int]]]:
        """album uuid -> (type, key, its songs)."""
        albums: dict[str, tuple[str, object, list[int]]] = {}
        for i in range(self.n_songs):
            for uuid, kind, key in self.song_albums(i):
                albums.setdefault(uuid, (kind, key, []))[2].append(i)
        return albums

    def album_object(self, uuid: str) -> dict:
        kind, key, songs = self.album_index[uuid]
        h = stable_hash("album-obj", self.seed, uuid)
        first = min(songs, key=lambda i: (self.release_date(i), i))
        # a single comes out with its song; an album or a compilation once its last song is out
        release = max(self.release_date(i) for i in songs)
        if kind == "single":
            name, artists = self.song_object(first)["name"], self.song_artists(first)[:1]
        elif kind == "album":
            name, artists = f"{WORDS[h % len(WORDS)].title()} ({key[1]})", [key[0]]
        else:
            name, artists = f"{LABELS[key][0]} Hits", []
        label = LABELS[(h >> 12) % len(LABELS)]
        return {
            "uuid": uuid,
            "name": name,
            "type": kind,
            "upc": f"{(h >> 4) % 10**12:012d}",
            "releaseDate": f"{release.isoformat()}T00:00:00+00:00",
            "labels": [{"name": label[0], "type": label[1]}],
            "totalTracks": len(songs),
            "artists": [self.artist_light(a) for a in artists],
            "appUrl": f"https://app.soundcharts.com/app/album/{uuid}/overview",
        }
