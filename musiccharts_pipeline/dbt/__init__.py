"""dbt: the dashboard aggregates, as Dagster assets downstream of the SoundCharts assets."""

from musiccharts_pipeline.dbt.assets import dbt_cli, dbt_project, defs, musiccharts_dbt

__all__ = ["dbt_cli", "dbt_project", "defs", "musiccharts_dbt"]
