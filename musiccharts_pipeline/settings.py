"""Environment-driven settings shared by the plain-Python layers and the Dagster wiring.

Every variable the project reads is read here, and only here. Every variable is optional: with
none set the project runs offline on embedded defaults.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_DATA_DIR = PROJECT_ROOT / ".musiccharts"

#: First date of the daily partition dimension. 2025-01-01 keeps charts x days well below
#: Dagster's ~100k partitions-per-asset budget for a few dozen charts for several years.
DEFAULT_PARTITION_START = "2025-01-01"


class SettingError(ValueError):
    """A variable is set to something the project cannot use; the message names it."""


def debug() -> bool:
    """MUSICCHARTS_DEBUG=1: commands print the traceback of an error instead of one line."""
    return (env("MUSICCHARTS_DEBUG") or "").lower() in ("1", "true", "yes")


def warehouse_url() -> str:
    url = os.environ.get("MUSICCHARTS_WAREHOUSE_URL")
    if url:
        return url
    return f"duckdb:///{LOCAL_DATA_DIR / 'warehouse.duckdb'}"


def partition_start() -> str:
    value = os.environ.get("MUSICCHARTS_PARTITION_START", DEFAULT_PARTITION_START)
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise SettingError(
            f"MUSICCHARTS_PARTITION_START must be a YYYY-MM-DD date, got {value!r}"
        ) from None
    return value


def run_retention_days() -> int:
    """MUSICCHARTS_RUN_RETENTION_DAYS: finished runs older than this are pruned (default 90)."""
    value = os.environ.get("MUSICCHARTS_RUN_RETENTION_DAYS", "90")
    try:
        days = int(value)
    except ValueError:
        days = 0
    if days < 1:
        raise SettingError(
            f"MUSICCHARTS_RUN_RETENTION_DAYS must be a whole number >= 1, got {value!r}"
        )
    return days


def env(name: str) -> str | None:
    """A variable's value, or None when unset or empty."""
    return os.environ.get(name) or None


#: The SoundCharts connection: API URL (unset: the in-process simulator) and credentials, either
#: the legacy pair (app id, API key) or an API client for access tokens (client id, client
#: secret, team id; SOUNDCHARTS_AUTH_URL, SoundCharts' token endpoint by default).
API_VARIABLES = (
    "SOUNDCHARTS_API_URL",
    "SOUNDCHARTS_APP_ID",
    "SOUNDCHARTS_API_KEY",
    "SOUNDCHARTS_CLIENT_ID",
    "SOUNDCHARTS_CLIENT_SECRET",
    "SOUNDCHARTS_TEAM_ID",
    "SOUNDCHARTS_AUTH_URL",
)


def api_settings() -> dict[str, str | None]:
    """The connection's variables by lowercase name without the prefix (``api_url``,
    ``app_id``, ``api_key``, ``client_id``, ``client_secret``, ``team_id``, ``auth_url``)."""
    return {name.removeprefix("SOUNDCHARTS_").lower(): env(name) for name in API_VARIABLES}


def credentials() -> tuple[str | None, str | None]:
    """SOUNDCHARTS_APP_ID and SOUNDCHARTS_API_KEY, each None when unset."""
    return env("SOUNDCHARTS_APP_ID"), env("SOUNDCHARTS_API_KEY")


def token_credentials() -> tuple[str | None, str | None, str | None]:
    """SOUNDCHARTS_CLIENT_ID, SOUNDCHARTS_CLIENT_SECRET and SOUNDCHARTS_TEAM_ID (None unset)."""
    return (
        env("SOUNDCHARTS_CLIENT_ID"),
        env("SOUNDCHARTS_CLIENT_SECRET"),
        env("SOUNDCHARTS_TEAM_ID"),
    )


#: The in-process simulator's knobs, read while no API URL is set (parsed by
#: ``SimulatorConfig.from_env``).
SIMULATOR_VARIABLES = (
    "SOUNDCHARTS_SIMULATOR_SEED",
    "SOUNDCHARTS_SIMULATOR_LATENCY_MS",
    "SOUNDCHARTS_SIMULATOR_RATE_LIMIT",
    "SOUNDCHARTS_SIMULATOR_QUOTA",
    "SOUNDCHARTS_SIMULATOR_FAULTS",
    "SOUNDCHARTS_SIMULATOR_FAULT_SEED",
)


def simulator_settings() -> dict[str, str]:
    """The simulator knobs that are set, by variable name (unset or empty ones left out)."""
    return {name: value for name in SIMULATOR_VARIABLES if (value := env(name))}


def max_rps() -> float | None:
    """The client-side request ceiling, if one is set (SOUNDCHARTS_MAX_RPS)."""
    value = env("SOUNDCHARTS_MAX_RPS")
    if not value:
        return None
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if not rate >= 0:
        raise SettingError(
            f"SOUNDCHARTS_MAX_RPS must be a number of requests per second >= 0, got {value!r}"
        )
    return rate


def dashboard_path() -> Path:
    configured = env("MUSICCHARTS_DASHBOARD_PATH")
    return Path(configured) if configured else LOCAL_DATA_DIR / "dashboard.html"


def dagster_home() -> str | None:
    return env("DAGSTER_HOME")


#: `musiccharts serve` binds loopback unless told otherwise (--host).
DEFAULT_SERVE_HOST = "127.0.0.1"
DEFAULT_SERVE_PORT = 8000
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"


def api_token() -> str | None:
    """The bearer token `musiccharts serve` requires for writes (MUSICCHARTS_API_TOKEN); with
    none set, every write is refused."""
    return env("MUSICCHARTS_API_TOKEN")


#: The largest request body `musiccharts serve` reads by default: 1 MiB.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def max_body_bytes() -> int:
    """MUSICCHARTS_MAX_BODY_BYTES: larger request bodies are refused (413) before being read."""
    value = env("MUSICCHARTS_MAX_BODY_BYTES")
    if value is None:
        return DEFAULT_MAX_BODY_BYTES
    if not value.isdigit() or int(value) < 1:
        raise SettingError(f"MUSICCHARTS_MAX_BODY_BYTES must be a whole number >= 1, got {value!r}")
    return int(value)


def dagster_url() -> str:
    """The running Dagster webserver (MUSICCHARTS_DAGSTER_URL): manual syncs are launched
    through it, and alerts link to its runs and assets."""
    return env("MUSICCHARTS_DAGSTER_URL") or DEFAULT_DAGSTER_URL


def alert_webhook_url() -> str | None:
    """Where alerts are posted (MUSICCHARTS_ALERT_WEBHOOK_URL): a Slack or Mattermost incoming
    webhook, or any receiver of ``{"text", "blocks"}`` JSON. Unset: no alert is sent."""
    return env("MUSICCHARTS_ALERT_WEBHOOK_URL")


def alert_quota_below() -> str | None:
    """The low-quota threshold (MUSICCHARTS_ALERT_QUOTA_BELOW): calls (``2000``) or a share of
    the last seen total (``5%``). Unset: 5% of the last seen total, else 1,000 calls."""
    return env("MUSICCHARTS_ALERT_QUOTA_BELOW")


#: Words in a project variable's name that mark its value as secret.
SECRET_NAME_PARTS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "WEBHOOK")
_PROJECT_PREFIXES = ("SOUNDCHARTS_", "MUSICCHARTS_", "DAGSTER_")
#: Too short to be a secret, and replacing it would mangle ordinary words.
MIN_SECRET_LENGTH = 6


def secret_values() -> list[str]:
    """The values that must never reach an alert or a log line, longest first: API keys,
    tokens, passwords (also inside URLs), and the webhook URL with its path (urllib3 logs
    paths)."""
    from urllib.parse import urlsplit

    found = set()
    for name, value in os.environ.items():
        if not value or not name.startswith(_PROJECT_PREFIXES):
            continue
        if any(part in name for part in SECRET_NAME_PARTS):
            found.add(value)
        if "://" in value:
            parts = urlsplit(value)
            if parts.password:
                found.add(parts.password)
            if "WEBHOOK" in name and parts.path.strip("/"):
                found.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return sorted((v for v in found if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)
