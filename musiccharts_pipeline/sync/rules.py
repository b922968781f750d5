"""Pure rules of the old system, as functions: freshness, due dates, windows, key validation."""

from __future__ import annotations

import bisect
import datetime as dt
import math
import re
from collections.abc import Callable

from musiccharts_pipeline import clock

METADATA_MAX_AGE = dt.timedelta(days=30)
AUDIENCE_MAX_AGE = dt.timedelta(days=7)
HISTORY_DAYS = 365  # "historical sync up to 1 year"
AUDIENCE_LOOKBACK_DAYS = 90  # first audience fetch of an entity: one ≤90-day window
RECENT_DAYS = 7  # how far back the sensor looks for rankings published late

FREQUENCIES = ("daily", "weekly", "monthly", "custom")
#: Days past one publication period before a chart counts as overdue.
GRACE_DAYS = 2
PERIOD = {
    "daily": dt.timedelta(days=1),
    "weekly": dt.timedelta(days=7),
    "monthly": dt.timedelta(days=31),
}

_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$")


class InvalidChartSlug(ValueError):
    pass


def validate_slug(slug: str) -> str:
    """A chart slug usable as a Dagster partition key: no ``|``, ``,``, ``[``, ``]``, spaces."""
    if not isinstance(slug, str) or not _SLUG.match(slug):
        raise InvalidChartSlug(
            f"invalid chart slug {slug!r}: use 1-128 letters, digits, '.', '_', ':', '+' or '-' "
            "(no spaces, '|', ',', '[' or ']')"
        )
    return slug


def slugify(text: str | None) -> str | None:
    """A lower-case slug of a name (words joined by ``-``), for entities and genres; None if
    nothing is left."""
    if not text:
        return None
    slug = re.sub(r"[^\w]+", "-", text.lower(), flags=re.UNICODE).strip("-")
    return slug or None


def is_stale(fetched_at: dt.datetime | None, now: dt.datetime, max_age: dt.timedelta) -> bool:
    return fetched_at is None or _naive(fetched_at) < _naive(now) - max_age


def audience_window(
    last_stored: dt.date | None, today: dt.date, lookback_days: int = AUDIENCE_LOOKBACK_DAYS
) -> tuple[dt.date, dt.date] | None:
    """The dates still to fetch: after the last stored one, else the lookback; None if none."""
    start = (
        (last_stored + dt.timedelta(days=1))
        if last_stored
        else (today - dt.timedelta(days=lookback_days - 1))
    )
    return (start, today) if start <= today else None


def check_interval(frequency: str, custom_hours: int | None) -> dt.timedelta:
    """How often a custom-interval chart is checked (the others are timed to their publication
    time: ``check_timing``)."""
    return dt.timedelta(hours=max(1, custom_hours or 24))


def period(frequency: str, custom_hours: int | None = None) -> dt.timedelta:
    """How often the chart publishes."""
    if frequency == "custom" and custom_hours:
        return dt.timedelta(hours=custom_hours)
    return PERIOD.get(frequency, PERIOD["daily"])


def lookback_days(
    frequency: str, custom_hours: int | None = None, grace_days: int = GRACE_DAYS
) -> int:
    """How far back the sensor looks for rankings: the recent days published late, and at
    least one period plus grace, so a weekly or monthly chart's newest publication is in view."""
    span = period(frequency, custom_hours) + dt.timedelta(days=grace_days)
    return max(RECENT_DAYS, math.ceil(span / dt.timedelta(days=1)))


def due_dates(
    available: list[dt.date],
    stored: set[dt.date],
    today: dt.date,
    first_partition: dt.date,
    recent_days: int = RECENT_DAYS,
) -> list[dt.date]:
    """Published ranking dates of the recent past that the warehouse does not hold yet."""
    since = max(first_partition, today - dt.timedelta(days=recent_days))
    return sorted(d for d in available if since <= d <= today and d not in stored)


def date_ranges(due: list[dt.date], stored: set[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """The due dates as few ``(first, last)`` runs as possible: a range ends only where a
    stored ranking lies between two due dates (dates in between that published nothing
    cost no API call), so one chart's dates usually make one run."""
    ranges: list[tuple[dt.date, dt.date]] = []
    stored_sorted = sorted(stored)
    for date in sorted(due):
        if ranges and not _any_between(stored_sorted, ranges[-1][1], date):
            ranges[-1] = (ranges[-1][0], date)
        else:
            ranges.append((date, date))
    return ranges


def _any_between(sorted_dates: list[dt.date], low: dt.date, high: dt.date) -> bool:
    i = bisect.bisect_right(sorted_dates, low)
    return i < len(sorted_dates) and sorted_dates[i] < high


def history_range(
    available: list[dt.date],
    stored: set[dt.date],
    today: dt.date,
    first_partition: dt.date,
    days: int = HISTORY_DAYS,
) -> tuple[dt.date, dt.date] | None:
    """The contiguous date range covering every missing published date of the last year."""
    since = max(first_partition, today - dt.timedelta(days=days))
    missing = [d for d in available if since <= d <= today and d not in stored]
    return (min(missing), max(missing)) if missing else None


def overdue(
    frequency: str,
    latest: dt.date | None,
    today: dt.date,
    custom_hours: int | None = None,
    grace_days: int = GRACE_DAYS,
) -> bool:
    """A chart is overdue when its newest stored ranking is older than one period plus grace,
    counted in whole days of age against the period in days (a custom interval's hours as a
    fraction of a day), as the dbt macro ``chart_sync_state`` counts them."""
    days = period(frequency, custom_hours) / dt.timedelta(days=1)
    return latest is None or (today - latest).days > days + grace_days


def _naive(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def utcnow() -> dt.datetime:
    """Now, naive UTC, from the project's one clock (simulated in tests and the soak)."""
    return clock.now()


class InvalidRange(ValueError):
    pass


def manual_range(
    date: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    today: dt.date,
    first_partition: dt.date,
    newest: Callable[[], dt.date | None],
) -> tuple[dt.date, dt.date]:
    """The dates of a manual sync (the CLI's ``charts sync`` and the API's): one date, a range
    with both ends, or neither: the newest published ranking, from ``newest()``. Refuses a date
    with a range, a range missing an end, a reversed range, a date before the first partition
    or after tomorrow (a chart dated ahead in another time zone)."""
    if date and (start or end):
        raise InvalidRange("give either a date or a from/to range, not both")
    if date:
        start = end = date
    elif start and not end:
        raise InvalidRange("a range needs its end (to) as well as its start (from)")
    elif end and not start:
        raise InvalidRange("a range needs its start (from) as well as its end (to)")
    elif not start:
        latest = newest()
        if latest is None:
            raise InvalidRange("the chart has no published ranking")
        start = end = latest
    if start > end:
        raise InvalidRange(f"from {start} is after to {end}")
    if start < first_partition:
        raise InvalidRange(
            f"{start} is before the first partition date {first_partition} "
            "(MUSICCHARTS_PARTITION_START)"
        )
    if end > today + dt.timedelta(days=1):
        raise InvalidRange(f"{end} is in the future")
    return start, end


def consecutive_ranges(dates: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Runs of consecutive calendar days, as ``(first, last)``."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for date in sorted(set(dates)):
        if ranges and date - ranges[-1][1] == dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], date)
        else:
            ranges.append((date, date))
    return ranges
