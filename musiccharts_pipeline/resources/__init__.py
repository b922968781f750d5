"""Dagster resources, built from the environment with ``EnvVar`` so secrets stay out of config."""

import os

import dagster as dg

from musiccharts_pipeline.resources.soundcharts import SoundChartsResource
from musiccharts_pipeline.resources.warehouse import WarehouseResource


def _env(name: str):
    return dg.EnvVar(name) if os.environ.get(name) else None


def resources_from_env() -> dict:
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
