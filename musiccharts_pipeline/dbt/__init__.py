"""dbt: the dashboard aggregates, as Dagster assets downstream of the SoundCharts assets."""

from musiccharts_pipeline.dbt.assets import DBT_CONDITION, dbt_project, defs, musiccharts_dbt

__all__ = ["DBT_CONDITION", "dbt_project", "defs", "musiccharts_dbt"]
