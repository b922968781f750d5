"""When the simulator publishes each ranking, on the project's clock.

Each chart publishes at its own hour of the day (daily charts every day, weekly ones on their
ranking's weekday, monthly ones on the 1st), with up to an hour of jitter; now and then a ranking
appears hours late, and now and then a corrected ranking is republished for a date already out.

The reference stamps ranking datetimes at noon UTC and says nothing about corrections. The
simulator's decision, which the sync sensor relies on: a corrected ranking is listed by
available-rankings (and dated in its ``related.date``) with its own date but the time of the
correction instead of noon, so a client sees a republication as a changed datetime for a date it
already holds (callers match items to dates by their date prefix).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

LATE_ONE_IN = 20  # about one publication in 20 appears 2-8 hours late
CORRECTED_ONE_IN = 30  # about one in 30 is republished corrected 3-20 hours after it appeared


def _hash(*parts: object) -> int:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _midnight(date: dt.date) -> dt.datetime:
    return dt.datetime.combine(date, dt.time())


@dataclasses.dataclass(frozen=True)
class Publication:
    date: dt.date
    published_at: dt.datetime
    corrected_at: dt.datetime | None

    def visible(self, now: dt.datetime) -> bool:
        return self.published_at <= now

    def corrected(self, now: dt.datetime) -> bool:
        return self.corrected_at is not None and self.corrected_at <= now

    def stamp(self, now: dt.datetime) -> str:
        """The datetime available-rankings lists for this ranking at ``now``."""
        if self.corrected(now):  # the ranking's own date (callers match by it), another time
            return f"{self.date.isoformat()}T{self.corrected_at:%H:%M}:01+00:00"
        return noon(self.date)


def noon(date: dt.date) -> str:
    """A ranking's usual datetime: its date at noon UTC (the reference, 1.7)."""
    return f"{date.isoformat()}T12:00:00+00:00"


def chart_hour(seed: int, slug: str) -> int:
    """The chart's usual publication hour (UTC), 01:00 to 22:00."""
    return 1 + _hash("pub-hour", seed, slug) % 22


def publication(seed: int, slug: str, date: dt.date) -> Publication:
    h = _hash("pub", seed, slug, date.isoformat())
    minutes = chart_hour(seed, slug) * 60 + h % 60
    if (h >> 8) % LATE_ONE_IN == 0:
        minutes += 120 + (h >> 16) % 360
    published = _midnight(date) + dt.timedelta(minutes=minutes)
    corrected = None
    if (h >> 28) % CORRECTED_ONE_IN == 0:
        corrected = published + dt.timedelta(minutes=180 + (h >> 36) % 1020)
    return Publication(date, published, corrected)


def chart_dates(frequency: str, start: dt.date, today: dt.date) -> list[dt.date]:
    """The dates a chart of ``frequency`` publishes between ``start`` and ``today``: every day,
    Fridays, or the 1st of each month."""
    if frequency == "daily":
        n = (today - start).days + 1
        return [start + dt.timedelta(days=k) for k in range(n)]
    if frequency == "weekly":  # published on Fridays
        first = start + dt.timedelta(days=(4 - start.weekday()) % 7)
        out = []
        while first <= today:
            out.append(first)
            first += dt.timedelta(days=7)
        return out
    out = []
    year, month = start.year, start.month
    while dt.date(year, month, 1) <= today:
        if dt.date(year, month, 1) >= start:
            out.append(dt.date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def corrected(ranking, h: int):
    """The ranking with two neighbouring entries swapped, as a correction would."""
    k = h % (len(ranking.songs) - 1) if len(ranking.songs) > 1 else 0
    fields = {}
    names = ("songs", "old_positions", "entry_dates", "entry_states", "times_on_chart", "metrics")
    for name in names:
        values = list(getattr(ranking, name))
        if len(values) > 1:
            values[k], values[k + 1] = values[k + 1], values[k]
        fields[name] = values
    return dataclasses.replace(ranking, **fields)
