"""Dagster resource around the plain-Python SoundCharts client."""

import functools

import dagster as dg
from pydantic import Field

from musiccharts_pipeline.soundcharts import SoundChartsClient


@functools.cache
def _client(
    api_url: str | None, app_id: str | None, api_key: str | None, max_rps: float | None
) -> SoundChartsClient:
    return SoundChartsClient(api_url, app_id, api_key, max_rps=max_rps)


class SoundChartsResource(dg.ConfigurableResource):
    """One client per process and configuration, so the rate ceiling and counters are shared by
    every asset a run executes in that process. No URL means the in-process simulator."""

    api_url: str | None = Field(default=None, description="Unset: the built-in simulator.")
    app_id: str | None = Field(default=None, description="x-app-id (from SOUNDCHARTS_APP_ID).")
    api_key: str | None = Field(default=None, description="x-api-key (from SOUNDCHARTS_API_KEY).")
    max_rps: float | None = Field(default=None, description="Unset: SOUNDCHARTS_MAX_RPS or 10.")

    def get(self) -> SoundChartsClient:
        return _client(self.api_url, self.app_id, self.api_key, self.max_rps)
