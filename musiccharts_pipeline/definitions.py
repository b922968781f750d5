"""The code location: merges the domain modules' definitions, nothing else."""

import dagster as dg

from musiccharts_pipeline import assets, automation, dashboard, dbt
from musiccharts_pipeline.alerts import sensors as alerts
from musiccharts_pipeline.resources import resources_from_env

defs = dg.Definitions.merge(
    assets.defs,
    dbt.defs,
    dashboard.defs,
    automation.defs,
    alerts.defs,
    dg.Definitions(resources=resources_from_env()),
)
