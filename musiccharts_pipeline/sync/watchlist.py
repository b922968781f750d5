"""The label's own catalogue: the artists, songs and ISRCs it watches, whether they chart or not.

What is watched is written here at once (offline, validated, nothing half-written); what it
costs the API is paid by the watchlist assets, proportionally to what is new: an ISRC is
resolved once (``song/by-isrc``), a watched artist's catalogue is listed when it never was or was
listed more than a week ago (``artist/{uuid}/songs``, every page), and the songs found then go
through the same freshness rules as charting songs, so each is fetched once whichever way it
came.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from collections.abc import Iterable

import pandas as pd

from musiccharts_pipeline.soundcharts import SoundChartsClient, errors
from musiccharts_pipeline.sync.batching import fetch_concurrently
from musiccharts_pipeline.sync.rules import utcnow
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse

ARTIST, SONG, ISRC = "artist", "song", "isrc"
KINDS = (ARTIST, SONG, ISRC)
PENDING, OK, UNKNOWN, BLACKLISTED = "pending", "ok", "unknown", "blacklisted"
#: A watched artist's catalogue is listed again after this long: new releases appear by themselves.
RELIST_AFTER = dt.timedelta(days=7)
#: ... give or take this: a daily run a few seconds earlier in the day than last week's still
#: re-lists (without it, "weekly" would be every eight days).
RELIST_SLACK = dt.timedelta(hours=1)
#: The most rows one import takes (a larger file is refused whole: split it).
MAX_IMPORT_ROWS = 100_000
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: ISO 3901: country (2 letters), registrant (3 alphanumerics), year (2 digits), number (5).
_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$")
#: Import headers and the kind their column holds.
HEADERS = {
    "isrc": ISRC,
    "uuid": SONG,
    "song_uuid": SONG,
    "song": SONG,
    "artist_uuid": ARTIST,
    "artist": ARTIST,
}


class WatchError(ValueError):
    """Input a person can fix: a malformed ISRC or uuid, an unknown kind, a bad file."""


@dataclasses.dataclass(frozen=True)
class Entry:
    kind: str
    ident: str


def parse(kind: str, value: str) -> Entry:
    """A watch entry from user input: a uuid (any case) or an ISRC (hyphens and spaces allowed,
    as ISRCs are often printed ``US-ABC-12-34567``). Raises WatchError saying what is wrong."""
    if kind not in KINDS:
        raise WatchError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    text = (value or "").strip()
    if kind == ISRC:
        isrc = re.sub(r"[-\s]", "", text).upper()
        if not _ISRC.match(isrc):
            raise WatchError(
                f"not an ISRC (2 letters, 3 letters or digits, 7 digits): {text[:40]!r}"
            )
        return Entry(ISRC, isrc)
    uuid = text.lower()
    if not _UUID.match(uuid):
        raise WatchError(f"not a SoundCharts uuid (8-4-4-4-12 hex digits): {text[:40]!r}")
    return Entry(kind, uuid)


def add(wh: Warehouse, entries: Iterable[Entry], source: str) -> tuple[list[Entry], list[Entry]]:
    """Watch ``entries`` (already parsed); returns (added, already watched). An ISRC waits to be
    resolved by the next watchlist run; a uuid is usable at once."""
    entries = list(dict.fromkeys(entries))
    existing = watched_keys(wh)
    new = [e for e in entries if (e.kind, e.ident) not in existing]
    now = utcnow()
    frame = pd.DataFrame(
        [
            {
                "kind": e.kind,
                "ident": e.ident,
                "status": PENDING if e.kind == ISRC else OK,
                "source": source,
                "added_at": now,
            }
            for e in new
        ],
        columns=["kind", "ident", "status", "source", "added_at"],
    )
    wh.upsert(frame, "watchlist", ["kind", "ident"])
    return new, [e for e in entries if (e.kind, e.ident) in existing]


def remove(wh: Warehouse, entry: Entry) -> None:
    """Stop watching; what was fetched stays (the catalogue listing of an artist goes)."""
    if (entry.kind, entry.ident) not in watched_keys(wh):
        raise WatchError(f"not watched: {entry.kind} {entry.ident}")
    with wh.transaction() as conn:
        wh.execute(
            f"DELETE FROM {SCHEMA}.watchlist WHERE kind = :k AND ident = :i",
            {"k": entry.kind, "i": entry.ident},
            conn=conn,
        )
        if entry.kind == ARTIST:
            wh.execute(
                f"DELETE FROM {SCHEMA}.artist_catalogue WHERE artist_uuid = :i",
                {"i": entry.ident},
                conn=conn,
            )


def watched_keys(wh: Warehouse) -> set[tuple[str, str]]:
    frame = wh.read_frame(f"SELECT kind, ident FROM {SCHEMA}.watchlist")
    return set(zip(frame.kind, frame.ident, strict=True))


def listing(wh: Warehouse) -> pd.DataFrame:
    """Everything watched, with its state and, for an artist, the songs its catalogue lists."""
    return wh.read_frame(
        f"""SELECT w.kind, w.ident, w.status, w.song_uuid, w.source, w.added_at, w.listed_at,
                   w.songs_listed
            FROM {SCHEMA}.watchlist w ORDER BY w.kind, w.ident"""
    )


@dataclasses.dataclass
class ImportReport:
    added: list[Entry] = dataclasses.field(default_factory=list)
    already: list[Entry] = dataclasses.field(default_factory=list)
    duplicates: list[int] = dataclasses.field(default_factory=list)  # line numbers
    bad: list[tuple[int, str]] = dataclasses.field(default_factory=list)  # (line, why)

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.already)} already watched, "
            f"{len(self.duplicates)} duplicate row(s), {len(self.bad)} bad row(s)"
        )


def import_csv(wh: Warehouse, text: str, source: str = "import") -> ImportReport:
    """Watch every good row of a CSV whose first row names its column (``isrc``, ``uuid`` /
    ``song_uuid``, or ``artist_uuid``); bad rows are reported by line number, good ones kept.
    A wrong header, or more than MAX_IMPORT_ROWS rows, refuses the file whole."""
    good, report = parse_csv(text)
    report.added, report.already = add(wh, good, source)
    return report


def parse_csv(text: str) -> tuple[list[Entry], ImportReport]:
    """The good entries of an import file, and the report of its bad and duplicate rows (nothing
    written: ``import_csv`` adds them, ``plan watch import`` prices them)."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise WatchError("the file is empty: its first row must name the column (isrc, uuid)")
    header = [h.strip().lower() for h in rows[0]]
    columns = [(k, HEADERS[h]) for k, h in enumerate(header) if h in HEADERS]
    if len(columns) != 1:
        raise WatchError(
            "the first row must name one column of "
            f"{', '.join(sorted(HEADERS))}; got {', '.join(header) or 'nothing'}"
        )
    (index, kind), data = columns[0], rows[1:]
    if len(data) > MAX_IMPORT_ROWS:
        raise WatchError(f"{len(data)} rows: at most {MAX_IMPORT_ROWS} per import, split the file")
    report, seen, good = ImportReport(), set(), []
    for line, row in enumerate(data, start=2):
        value = row[index] if index < len(row) else ""
        if not value.strip():
            report.bad.append((line, "empty"))
            continue
        try:
            entry = parse(kind, value)
        except WatchError as exc:
            report.bad.append((line, str(exc)))
            continue
        if entry in seen:
            report.duplicates.append(line)
            continue
        seen.add(entry)
        good.append(entry)
    return good, report


# -- the API side: what the watchlist assets do -------------------------------------------------


@dataclasses.dataclass
class CatalogueOutcome:
    resolved: int = 0
    unknown: int = 0
    blacklisted: int = 0
    artists_listed: int = 0
    artists_unknown: int = 0
    songs_listed: int = 0
    new_songs: int = 0

    def metadata(self) -> dict:
        return dataclasses.asdict(self)


def resolve_isrcs(client: SoundChartsClient, wh: Warehouse, out: CatalogueOutcome) -> None:
    """One ``song/by-isrc`` call per pending ISRC, never again for it."""
    frame = wh.read_frame(
        f"SELECT ident FROM {SCHEMA}.watchlist WHERE kind = :k AND status = :s",
        {"k": ISRC, "s": PENDING},
    )

    def lookup(isrc: str):
        try:
            song = client.song_by_isrc(isrc)
        except errors.Gone:
            return BLACKLISTED, None
        return (OK, song.uuid) if song is not None else (UNKNOWN, None)

    now = utcnow()
    found = fetch_concurrently(lookup, list(frame.ident))
    with wh.transaction() as conn:  # rows updated, not upserted: their other columns stay
        for isrc, (status, uuid) in found:
            wh.execute(
                f"UPDATE {SCHEMA}.watchlist SET status = :s, song_uuid = :u, resolved_at = :t "
                "WHERE kind = :k AND ident = :i",
                {"s": status, "u": uuid, "t": now, "k": ISRC, "i": isrc},
                conn,
            )
            out.resolved += status == OK
            out.unknown += status == UNKNOWN
            out.blacklisted += status == BLACKLISTED


def due_artists(wh: Warehouse, now: dt.datetime) -> list[str]:
    frame = wh.read_frame(
        f"SELECT ident FROM {SCHEMA}.watchlist WHERE kind = :k AND status = :s "
        "AND (listed_at IS NULL OR listed_at < :before) ORDER BY ident",
        {"k": ARTIST, "s": OK, "before": now - RELIST_AFTER + RELIST_SLACK},
    )
    return list(frame.ident)


def relist_catalogues(client: SoundChartsClient, wh: Warehouse, out: CatalogueOutcome) -> None:
    """List the catalogue of each watched artist that is due (all pages); new songs are added
    to ``artist_catalogue`` with their first listing time."""
    now = utcnow()
    due = due_artists(wh, now)

    def listed(uuid: str):
        try:
            return client.artist_songs(uuid)
        except errors.NotFound:
            return None

    for uuid, songs in fetch_concurrently(listed, due):
        if songs is None:
            _mark_listed(wh, uuid, now, None, status=UNKNOWN)
            out.artists_unknown += 1
            continue
        known = set(
            wh.read_frame(
                f"SELECT song_uuid FROM {SCHEMA}.artist_catalogue WHERE artist_uuid = :a",
                {"a": uuid},
            ).song_uuid
        )
        rows = pd.DataFrame(
            [
                {
                    "artist_uuid": uuid,
                    "song_uuid": s.uuid,
                    "song_name": s.name,
                    "release_date": s.release_date.date() if s.release_date else None,
                    "first_listed_at": now,
                    "listed_at": now,
                }
                for s in songs
            ],
            columns=[
                "artist_uuid",
                "song_uuid",
                "song_name",
                "release_date",
                "first_listed_at",
                "listed_at",
            ],
        )
        new = rows[~rows.song_uuid.isin(known)]
        with wh.transaction() as conn:
            wh.upsert(new, "artist_catalogue", ["artist_uuid", "song_uuid"], conn)
            wh.execute(
                f"UPDATE {SCHEMA}.artist_catalogue SET listed_at = :t WHERE artist_uuid = :a",
                {"t": now, "a": uuid},
                conn,
            )
            _mark_listed(wh, uuid, now, len(rows), conn=conn)
        out.artists_listed += 1
        out.songs_listed += len(rows)
        out.new_songs += len(new)


def _mark_listed(wh, uuid, now, songs, status=OK, conn=None) -> None:
    wh.execute(
        f"UPDATE {SCHEMA}.watchlist SET listed_at = :t, songs_listed = :n, status = :s "
        "WHERE kind = :k AND ident = :i",
        {"t": now, "n": songs, "s": status, "k": ARTIST, "i": uuid},
        conn,
    )


def watched_songs(wh: Warehouse) -> list[str]:
    """Songs the label follows: watched songs, resolved ISRCs, its watched artists' catalogues."""
    frame = wh.read_frame(
        f"""SELECT ident AS song_uuid FROM {SCHEMA}.watchlist WHERE kind = 'song'
            UNION SELECT song_uuid FROM {SCHEMA}.watchlist
                  WHERE kind = 'isrc' AND status = 'ok' AND song_uuid IS NOT NULL
            UNION SELECT c.song_uuid FROM {SCHEMA}.artist_catalogue c
                  JOIN {SCHEMA}.watchlist w ON w.kind = 'artist' AND w.ident = c.artist_uuid"""
    )
    return sorted(set(frame.song_uuid))


def watched_artists(wh: Warehouse) -> list[str]:
    frame = wh.read_frame(
        f"SELECT ident FROM {SCHEMA}.watchlist WHERE kind = 'artist' AND status = 'ok'"
    )
    return sorted(frame.ident)
