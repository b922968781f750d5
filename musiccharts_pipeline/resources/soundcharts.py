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


def connect(
    api_url: str | None, app_id: str | None, api_key: str | None, max_rps: float | None
) -> SoundChartsClient:
    """A new client: of the API at ``api_url``, or with no URL of an in-process simulator
    configured from the settings. ``max_rps=None``: SOUNDCHARTS_MAX_RPS, else the target's
    default (10 for an API, none for the simulator)."""
    if max_rps is None:
        max_rps = settings.max_rps()
    if api_url is None:
        from musiccharts_pipeline.soundcharts.simulator import SimulatedClient

        return SimulatedClient(app_id=app_id, api_key=api_key, max_rps=max_rps)
    return SoundChartsClient(api_url, app_id, api_key, max_rps=max_rps)


def shared_client(
    api_url: str | None, app_id: str | None, api_key: str | None, max_rps: float | None
) -> SoundChartsClient:
    """The process's client for one configuration, so the rate ceiling and counters are shared
    by every asset a run executes in that process. The simulator's knobs are part of the
    configuration: a process that changes them gets a simulator that has them."""
    knobs = tuple(sorted(settings.simulator_settings().items())) if api_url is None else ()
    return _shared_client(api_url, app_id, api_key, max_rps, knobs)


@functools.cache
def _shared_client(api_url, app_id, api_key, max_rps, knobs) -> SoundChartsClient:
    return connect(api_url, app_id, api_key, max_rps)


class SoundChartsResource(dg.ConfigurableResource):
    """One client per process and configuration (no URL: the in-process simulator), unless a
    client is handed in (``client=``, or :meth:`simulated`): tests and benchmarks do, to hold
    their own simulator."""

    api_url: str | None = Field(default=None, description="Unset: the built-in simulator.")
    app_id: str | None = Field(default=None, description="x-app-id (from SOUNDCHARTS_APP_ID).")
    api_key: str | None = Field(default=None, description="x-api-key (from SOUNDCHARTS_API_KEY).")
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
        return shared_client(self.api_url, self.app_id, self.api_key, self.max_rps)
