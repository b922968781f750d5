"""The code location: merges the domain modules' definitions, and makes every log record of the
process that loads it (Dagster's code server, each run worker) go through the secret scrubber."""

import dagster as dg

from musiccharts_pipeline import assets, automation, dashboard, dbt, redact
from musiccharts_pipeline.alerts import sensors as alerts
from musiccharts_pipeline.resources import resources_from_env

redact.install()

defs = dg.Definitions.merge(
    assets.defs,
    dbt.defs,
    dashboard.defs,
    automation.defs,
    alerts.defs,
    dg.Definitions(resources=resources_from_env()),
)
