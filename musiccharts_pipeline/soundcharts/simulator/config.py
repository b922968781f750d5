"""The simulator's configuration: seed, credentials, latency, limits and fault probabilities."""

from __future__ import annotations

import dataclasses
import datetime as dt

from musiccharts_pipeline import settings
from musiccharts_pipeline.soundcharts.simulator.faults import parse_faults

SANDBOX_CREDENTIALS = ("soundcharts", "soundcharts")
DEFAULT_CREDENTIALS = ("musiccharts-simulator", "simulator-key")
#: The API client it accepts at its token endpoint: (client id, client secret, team id).
DEFAULT_TOKEN_CLIENT = ("musiccharts-simulator-client", "simulator-client-secret", "simulator-team")
TOKEN_PATH = "/oauth/token"


@dataclasses.dataclass
class SimulatorConfig:
    seed: int = 7
    today: dt.date | None = None
    app_id: str = DEFAULT_CREDENTIALS[0]
    api_key: str = DEFAULT_CREDENTIALS[1]
    client_id: str = DEFAULT_TOKEN_CLIENT[0]
    client_secret: str = DEFAULT_TOKEN_CLIENT[1]
    team_id: str = DEFAULT_TOKEN_CLIENT[2]
    token_ttl: float = 3600.0  # seconds an access token it issues is accepted
    latency: float = 0.0  # seconds added to every request
    rate_limit_per_minute: int | None = None
    quota: int | None = None  # None: unlimited
    faults: dict[str, float] = dataclasses.field(default_factory=dict)
    fault_seed: int = 0
    fault_reset_seconds: int = 0  # x-ratelimit-reset sent with injected rate-limit 429s
    slow_seconds: float = 0.3
    #: each ranking appears at its own publication time on the project's clock (the soak)
    publish_on_clock: bool = False
    extra_charts: int = 0  # daily charts sim-chart-0000... beside the catalogue's, for scale
    roster_artists: int = 0  # a label's own artists, roster_songs songs each (catalogue bench)
    roster_songs: int = 200

    @classmethod
    def from_env(cls, **overrides) -> SimulatorConfig:
        """The knobs from ``settings`` (``SOUNDCHARTS_SIMULATOR_*``); the configured credentials,
        if any, are the ones it accepts (besides the sandbox's)."""
        knobs = settings.simulator_settings()
        app_id, api_key = settings.credentials()
        client_id, client_secret, team_id = settings.token_credentials()
        cfg = cls(
            seed=int(knobs.get("SOUNDCHARTS_SIMULATOR_SEED", 7)),
            app_id=app_id or DEFAULT_CREDENTIALS[0],
            api_key=api_key or DEFAULT_CREDENTIALS[1],
            client_id=client_id or DEFAULT_TOKEN_CLIENT[0],
            client_secret=client_secret or DEFAULT_TOKEN_CLIENT[1],
            team_id=team_id or DEFAULT_TOKEN_CLIENT[2],
            latency=float(knobs.get("SOUNDCHARTS_SIMULATOR_LATENCY_MS", 0)) / 1000,
            rate_limit_per_minute=_int_or_none(knobs.get("SOUNDCHARTS_SIMULATOR_RATE_LIMIT")),
            quota=_int_or_none(knobs.get("SOUNDCHARTS_SIMULATOR_QUOTA")),
            faults=parse_faults(knobs.get("SOUNDCHARTS_SIMULATOR_FAULTS", "")),
            fault_seed=int(knobs.get("SOUNDCHARTS_SIMULATOR_FAULT_SEED", 0)),
        )
        return dataclasses.replace(cfg, **overrides)


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None
