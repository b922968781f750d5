"""Typed SoundCharts errors. Messages carry the status and the API's own words, never secrets:
whatever an answer echoed is scrubbed here, where every message is made."""

from __future__ import annotations

from musiccharts_pipeline.redact import scrub, scrub_data


class SoundChartsError(Exception):
    """Base class; ``status`` is the HTTP status (None for transport or contract failures)."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        errors: list | None = None,
        url: str | None = None,
    ):
        self.status = status
        self.errors = scrub_data(errors or [])
        self.url = scrub(url) if url else url
        prefix = f"SoundCharts API {status}" if status else "SoundCharts API"
        where = f" ({self.url})" if url else ""
        super().__init__(scrub(f"{prefix}: {message}{where}"))


class BadRequest(SoundChartsError):
    """400: the request's arguments were refused."""


class AuthError(SoundChartsError):
    """401: the app id / API key were refused."""


class PlanError(SoundChartsError):
    """403: the endpoint is not in the current plan."""


class NotFound(SoundChartsError):
    """404: unknown chart, song, artist, platform or date."""


class Gone(SoundChartsError):
    """410: e.g. an ISRC blacklisted because it maps to several tracks."""


class RateLimited(SoundChartsError):
    """429 'maximum request count' that was still refused after waiting and retrying."""


class QuotaExhausted(SoundChartsError):
    """429 without the rate-limit wording: the plan's quota is spent. Never retried."""


class ServerError(SoundChartsError):
    """5xx, after retries where the status is retryable (500 is not)."""


class TransportError(SoundChartsError):
    """The connection failed or the body was cut short, after retries."""


class ContractError(SoundChartsError):
    """The API answered with a payload that breaks the documented contract."""
