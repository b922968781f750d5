"""Sensors, schedules and jobs that drive the cascade without a click."""

import dagster as dg

from musiccharts_pipeline.automation.refresh import refresh_stale_job, refresh_stale_schedule
from musiccharts_pipeline.automation.sync_sensor import chart_sync_job, chart_sync_sensor

cascade_automation_sensor = dg.AutomationConditionSensorDefinition(
    "cascade_automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Evaluates the assets' automation conditions: a new ranking cascades downstream.",
)

defs = dg.Definitions(
    jobs=[chart_sync_job, refresh_stale_job],
    sensors=[chart_sync_sensor, cascade_automation_sensor],
    schedules=[refresh_stale_schedule],
)
