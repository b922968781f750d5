"""Request parsing and response rendering: every bad input becomes an ``ApiError`` (a 4xx with a
JSON body saying what is wrong), every answer JSON or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import re
from collections.abc import Iterable, Sequence

from fastapi import Response

from musiccharts_pipeline.soundcharts.platforms import AUDIENCE_PLATFORMS
from musiccharts_pipeline.sync import rules

#: Page sizes: every list takes ``limit`` (1..MAX_LIMIT) and ``offset``.
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 10_000_000
#: An audience series answers up to this many points per platform by default (a year and more).
DEFAULT_SERIES_LIMIT = 1000
KNOWN_PLATFORMS = AUDIENCE_PLATFORMS

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PLATFORM = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_GENRE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}(/[a-z0-9][a-z0-9-]{0,79})?$")
MAX_TEXT = 200


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None, **extra):
        super().__init__(message)
        self.status, self.message, self.headers, self.extra = status, message, headers, extra

    def body(self) -> dict:
        return {"error": self.message, "status": self.status, **self.extra}


def bad(message: str, **extra) -> ApiError:
    return ApiError(400, message, **extra)


def not_found(message: str, **extra) -> ApiError:
    return ApiError(404, message, **extra)


# -- parameters ---------------------------------------------------------------------------------


def parse_date(value: str | None, name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if not _DATE.match(value):
        raise bad(f"{name} must be a date as YYYY-MM-DD, got {_shown(value)}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise bad(f"{name} is not a calendar date: {_shown(value)}") from None


def parse_range(start: str | None, end: str | None) -> tuple[dt.date | None, dt.date | None]:
    first, last = parse_date(start, "start_date"), parse_date(end, "end_date")
    if first and last and first > last:
        raise bad(f"start_date {first} is after end_date {last}")
    return first, last


def parse_uuid(value: str, what: str) -> str:
    if not _UUID.match(value or ""):
        raise bad(f"{what} must be a SoundCharts uuid (8-4-4-4-12 hex digits), got {_shown(value)}")
    return value.lower()


def parse_slug(value: str) -> str:
    try:
        return rules.validate_slug(value)
    except rules.InvalidChartSlug as exc:
        raise bad(str(exc)) from None


def parse_platform(value: str) -> str:
    if not _PLATFORM.match(value or ""):
        raise bad(
            f"platform must be a lowercase platform slug such as spotify, got {_shown(value)}"
        )
    if value not in KNOWN_PLATFORMS:
        raise not_found(f"unknown platform {value!r}", known_platforms=sorted(KNOWN_PLATFORMS))
    return value


def parse_genre(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not _GENRE.match(value):
        raise bad(
            f"genre must be a genre id or slug such as pop or pop/dance-pop, got {_shown(value)}"
        )
    return value


def parse_text(value: str | None, name: str) -> str | None:
    """Free text searched as a literal (bound, never spliced into SQL)."""
    if value is None or value.strip() == "":
        return None
    if len(value) > MAX_TEXT:
        raise bad(f"{name} is longer than {MAX_TEXT} characters")
    if any(ord(c) < 32 for c in value):
        raise bad(f"{name} contains control characters")
    return value.strip()


def parse_format(value: str | None) -> str:
    if value in (None, "", "json"):
        return "json"
    if value == "csv":
        return "csv"
    raise bad(f"format must be json or csv, got {_shown(value)}")


def _shown(value: str | None) -> str:
    return repr(value if value is None or len(value) <= 80 else value[:80] + "…")


# -- answers ------------------------------------------------------------------------------------


def _plain(value):
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def json_response(payload, status: int = 200, headers: dict | None = None) -> Response:
    """JSON without FastAPI's generic encoder (a year of points in a few milliseconds)."""
    body = json.dumps(payload, default=_plain, ensure_ascii=False, allow_nan=False)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def page(total: int, limit: int, offset: int, items: list) -> dict:
    return {"total": total, "limit": limit, "offset": offset, "items": items}


#: A text cell starting with one of these runs as a formula in a spreadsheet (OWASP, CSV
#: injection): it is prefixed with a single quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A value as its JSON rendering shows it (dates ISO, booleans true/false, null empty);
    text that a spreadsheet would run as a formula is prefixed with ``'``. Numbers stay
    numbers (a negative movement is not text)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime | decimal.Decimal) or hasattr(value, "item"):
        return str(_plain(value))
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return str(value)


def csv_response(
    rows: Iterable[dict], columns: Sequence[str], filename: str, total: int
) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Total-Count": str(total),
        },
    )
