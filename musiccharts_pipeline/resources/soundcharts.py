"""Dagster resource around the plain-Python SoundCharts client: where the real client or the
simulated one is chosen. The simulator is imported only when it is used, so a deployment on the
real API never loads it."""

import functools
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from musiccharts_pipeline import settings
from musiccharts_pipeline.soundcharts import SoundChartsClient

if TYPE_CHECKING:
    from musiccharts_pipeline.soundcharts.simulator import Simulator

#: The credential fields, named as the client's keyword arguments (and the settings' keys).
CREDENTIAL_FIELDS = ("app_id", "api_key", "client_id", "client_secret", "team_id", "auth_url")


def connect(api_url: str | None, max_rps: float | None = None, **credentials) -> SoundChartsClient:
    """A new client: of the API at ``api_url``, or with no URL of an in-process simulator
    configured from the settings. ``credentials``: the legacy pair (``app_id``, ``api_key``) or
    an API client for access tokens (``client_id``, ``client_secret``, ``team_id``,
    ``auth_url``). ``max_rps=None``: SOUNDCHARTS_MAX_RPS, else the target's default (10 for an
    API, none for the simulator)."""
    if max_rps is None:
        max_rps = settings.max_rps()
    if api_url is None:
        from musiccharts_pipeline.soundcharts.simulator import SimulatedClient

        return SimulatedClient(max_rps=max_rps, **credentials)
    return SoundChartsClient(api_url, max_rps=max_rps, **credentials)


def from_settings() -> SoundChartsClient:
    """A new client configured as the pipeline's, from the environment."""
    values = settings.api_settings()
    return connect(values.pop("api_url"), None, **values)


def shared_client(
    api_url: str | None, max_rps: float | None = None, **credentials
) -> SoundChartsClient:
    """The process's client for one configuration, so the rate ceiling and counters are shared
    by every asset a run executes in that process. The simulator's knobs are part of the
    configuration: a process that changes them gets a simulator that has them."""
    knobs = tuple(sorted(settings.simulator_settings().items())) if api_url is None else ()
    given = tuple(sorted((k, v) for k, v in credentials.items() if v is not None))
    return _shared_client(api_url, max_rps, given, knobs)


@functools.cache
def _shared_client(api_url, max_rps, credentials, knobs) -> SoundChartsClient:
    return connect(api_url, max_rps, **dict(credentials))


class SoundChartsResource(dg.ConfigurableResource):
    """One client per process and configuration (no URL: the in-process simulator), unless a
    client is handed in (``client=``, or :meth:`simulated`): tests and benchmarks do, to hold
    their own simulator. Credentials: the legacy pair, or an API client for access tokens."""

    api_url: str | None = Field(default=None, description="Unset: the built-in simulator.")
    app_id: str | None = Field(default=None, description="x-app-id (from SOUNDCHARTS_APP_ID).")
    api_key: str | None = Field(
        default=None, description="x-api-key (from SOUNDCHARTS_API_KEY).", repr=False
    )
    client_id: str | None = Field(
        default=None, description="API client id for access tokens (SOUNDCHARTS_CLIENT_ID)."
    )
    client_secret: str | None = Field(
        default=None, description="API client secret (from SOUNDCHARTS_CLIENT_SECRET).", repr=False
    )
    team_id: str | None = Field(default=None, description="Team id (SOUNDCHARTS_TEAM_ID).")
    auth_url: str | None = Field(
        default=None, description="Token endpoint (SOUNDCHARTS_AUTH_URL); unset: SoundCharts'."
    )
    max_rps: float | None = Field(
        default=None, description="Unset: SOUNDCHARTS_MAX_RPS, else 10 (none for the simulator)."
    )
    client: dg.ResourceDependency[SoundChartsClient | None] = None

    @classmethod
    def simulated(
        cls, simulator: "Simulator | None" = None, max_rps: float | None = None
    ) -> "SoundChartsResource":
        """A resource whose assets all use one client of ``simulator`` (by default a new one
        configured from the settings), in this process."""
        from musiccharts_pipeline.soundcharts.simulator import SimulatedClient

        if max_rps is None:
            max_rps = settings.max_rps()
        return cls(max_rps=max_rps, client=SimulatedClient(simulator, max_rps=max_rps))

    def get(self) -> SoundChartsClient:
        if self.client is not None:
            return self.client
        return shared_client(
            self.api_url, self.max_rps, **{f: getattr(self, f) for f in CREDENTIAL_FIELDS}
        )
