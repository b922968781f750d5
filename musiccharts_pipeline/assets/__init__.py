"""The SoundCharts assets: the cascade ranking -> tracks -> artists -> genres -> audience."""

import dagster as dg

from musiccharts_pipeline.assets.audience import artist_audience, track_audience
from musiccharts_pipeline.assets.genres import genres
from musiccharts_pipeline.assets.rankings import chart_rankings
from musiccharts_pipeline.assets.tracks import artists, tracks

CASCADE_ASSETS = [chart_rankings, tracks, artists, genres, track_audience, artist_audience]

defs = dg.Definitions(assets=CASCADE_ASSETS)
