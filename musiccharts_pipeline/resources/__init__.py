"""Dagster resources, built from the environment with ``EnvVar`` so secrets stay out of config."""

import os

import dagster as dg

from musiccharts_pipeline.resources.soundcharts import SoundChartsResource
from musiccharts_pipeline.resources.warehouse import WarehouseResource


def resources_from_env(resolved: bool = False) -> dict:
    """Resources configured from the environment. Inside Dagster, ``EnvVar`` keeps secrets out of
    the run config; ``resolved=True`` reads the values now, for use outside a run (the CLI)."""

    def _env(name: str):
        value = os.environ.get(name)
        if not value:
            return None
        return value if resolved else dg.EnvVar(name)

    max_rps = os.environ.get("SOUNDCHARTS_MAX_RPS")
    return {
        "warehouse": WarehouseResource(url=_env("MUSICCHARTS_WAREHOUSE_URL")),
        "soundcharts": SoundChartsResource(
            api_url=_env("SOUNDCHARTS_API_URL"),
            app_id=_env("SOUNDCHARTS_APP_ID"),
            api_key=_env("SOUNDCHARTS_API_KEY"),
            max_rps=float(max_rps) if max_rps else None,
        ),
    }


__all__ = ["SoundChartsResource", "WarehouseResource", "resources_from_env"]
