"""Sensors, schedules and jobs that drive the cascade without a click."""

import dagster as dg

from musiccharts_pipeline.automation.cascade_sensor import analytics_job, cascade_sensor
from musiccharts_pipeline.automation.refresh import refresh_stale_job, refresh_stale_schedule
from musiccharts_pipeline.automation.retention import prune_history_job, prune_history_schedule
from musiccharts_pipeline.automation.sync_sensor import chart_sync_job, chart_sync_sensor

defs = dg.Definitions(
    jobs=[chart_sync_job, analytics_job, refresh_stale_job, prune_history_job],
    sensors=[chart_sync_sensor, cascade_sensor],
    schedules=[refresh_stale_schedule, prune_history_schedule],
)
