"""One rule for secrets in every output: the values are listed here and masked here.

What is secret: the value of every project variable whose name says so (``*KEY*``, ``*TOKEN*``,
``*SECRET*``, ``*PASSWORD*``, ``*WEBHOOK*``: the SoundCharts API key and client secret, the serve
API's write token, the webhook URL), the password inside any project URL (the warehouse's), the
webhook URL's path, and values registered while the process runs (an access token the client
obtained). Where text leaves the process it goes through :func:`scrub`: exception messages of
the SoundCharts client (``errors.SoundChartsError``), every Python log record once
:func:`install` has run (Dagster's log manager builds its records the same way, so the event
log and the compute logs get the scrubbed text), alert payloads, run metadata and CLI output.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from musiccharts_pipeline import settings

MASK = "***"
#: The public sandbox's documented credentials are not secrets (and are an ordinary word).
PUBLIC_VALUES = {"soundcharts"}
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@")
_SECRET_QUERY = re.compile(r"(?i)(?<![A-Za-z0-9])([\w-]*(?:key|token|secret|password)=)[^&\s\"']+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")

_registered: set[str] = set()
_lock = threading.Lock()


def register(value: str | None) -> None:
    """Treat ``value`` as secret from now on in this process (e.g. an access token received)."""
    if value and len(value) >= settings.MIN_SECRET_LENGTH and value not in PUBLIC_VALUES:
        with _lock:
            _registered.add(value)


def secrets() -> list[str]:
    """Every value masked now, longest first."""
    with _lock:
        found = set(_registered)
    found.update(v for v in settings.secret_values() if v not in PUBLIC_VALUES)
    return sorted(found, key=len, reverse=True)


def scrub(text: str) -> str:
    """``text`` without secret values, URL passwords, secret query values or bearer tokens."""
    if not text:
        return text
    for value in secrets():
        if value in text:
            text = text.replace(value, MASK)
        escaped = repr(value)[1:-1]  # as a repr shows it (a newline as \\n)
        if escaped != value and escaped in text:
            text = text.replace(escaped, MASK)
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    text = _BEARER.sub(lambda m: f"{m[1]}{MASK}", text)
    return _SECRET_QUERY.sub(lambda m: f"{m[1]}{MASK}", text)


def scrub_data(value: Any) -> Any:
    """``value`` with every string inside it (dict keys and values, list items) scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_data(k): scrub_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub_data(v) for v in value)
    return value


def scrub_record(record: logging.LogRecord) -> None:
    """Rewrite a log record's message in place when it holds a secret."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: the handler will report it
        return
    clean = scrub(message)
    if clean != message:
        record.msg, record.args = clean, None


class ScrubFilter(logging.Filter):
    """A filter for a handler or logger that scrubs each record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


_installed = False


def install() -> None:
    """Scrub every log record this process creates, whoever logs it (idempotent). Called where
    a process starts: the CLI, the serve app, and the code location (``definitions``), which
    Dagster's code server and run workers load."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        scrub_record(record)
        return record

    logging.setLogRecordFactory(factory)
