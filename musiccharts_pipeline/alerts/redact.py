"""Keeping secrets out of alerts and log lines: every text that leaves goes through ``scrub``."""

from __future__ import annotations

import logging
import re

from musiccharts_pipeline import settings

MASK = "***"
#: The public sandbox's documented credentials are not secrets (and are an ordinary word).
PUBLIC_VALUES = {"soundcharts"}
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@")
_SECRET_QUERY = re.compile(r"(?i)\b((?:api[_-]?key|token|secret|password)=)[^&\s]+")


def scrub(text: str) -> str:
    """``text`` without the values of secret variables, URL passwords or secret query values."""
    for value in settings.secret_values():
        if value not in PUBLIC_VALUES:
            text = text.replace(value, MASK)
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    return _SECRET_QUERY.sub(lambda m: f"{m[1]}{MASK}", text)


class ScrubFilter(logging.Filter):
    """Scrubs a record's message (urllib3 logs the URL path it retries, which for a Slack
    webhook is the secret)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTERED = ("urllib3.connectionpool", "urllib3.util.retry")


def install_log_filter() -> None:
    """Scrub what urllib3's loggers write (idempotent)."""
    for name in _FILTERED:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubFilter) for f in logger.filters):
            logger.addFilter(ScrubFilter())
