"""The rendered dashboard: an asset downstream of the dbt marts."""

from musiccharts_pipeline.dashboard.asset import dashboard, defs

__all__ = ["dashboard", "defs"]
