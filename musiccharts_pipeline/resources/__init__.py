"""Dagster resources, built from the environment with ``EnvVar`` so secrets stay out of config."""

import dagster as dg

from musiccharts_pipeline import settings
from musiccharts_pipeline.resources.soundcharts import SoundChartsResource
from musiccharts_pipeline.resources.warehouse import WarehouseResource


def resources_from_env(resolved: bool = False) -> dict:
    """Resources configured from the environment. Inside Dagster, ``EnvVar`` keeps secrets out of
    the run config; ``resolved=True`` reads the values now, for use outside a run (the CLI)."""

    def _env(name: str):
        value = settings.env(name)
        if not value:
            return None
        return value if resolved else dg.EnvVar(name)

    connection = {
        name.removeprefix("SOUNDCHARTS_").lower(): _env(name) for name in settings.API_VARIABLES
    }
    return {
        "warehouse": WarehouseResource(url=_env("MUSICCHARTS_WAREHOUSE_URL")),
        "soundcharts": SoundChartsResource(**connection, max_rps=settings.max_rps()),
    }


__all__ = ["SoundChartsResource", "WarehouseResource", "resources_from_env"]
