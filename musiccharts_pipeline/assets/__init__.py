"""The SoundCharts assets: the cascade ranking -> tracks -> artists -> genres -> audience."""

import dagster as dg

from musiccharts_pipeline.assets.audience import artist_audience, track_audience
from musiccharts_pipeline.assets.genres import genres
from musiccharts_pipeline.assets.rankings import chart_rankings
from musiccharts_pipeline.assets.tracks import artists, tracks
from musiccharts_pipeline.assets.watchlist import (
    WATCHLIST_ASSETS,
    watchlist_job,
    watchlist_schedule,
)

CASCADE_ASSETS = [chart_rankings, tracks, artists, genres, track_audience, artist_audience]

# The cascade is a chain: running its steps in one process avoids a Python start per step and
# contention on a DuckDB file; the soundcharts_api pool still limits steps across runs.
defs = dg.Definitions(
    assets=[*CASCADE_ASSETS, *WATCHLIST_ASSETS],
    jobs=[watchlist_job],
    schedules=[watchlist_schedule],
    executor=dg.in_process_executor,
)
