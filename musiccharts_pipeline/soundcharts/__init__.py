"""SoundCharts API client and simulator (no Dagster imports)."""

from musiccharts_pipeline.soundcharts.client import SoundChartsClient, split_windows

__all__ = ["SoundChartsClient", "split_windows"]
