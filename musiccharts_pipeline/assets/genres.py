"""genres: the root/sub hierarchy extracted from stored metadata (no API call)."""

import dagster as dg

from musiccharts_pipeline.assets.common import GROUP, RETRY, SINGLE_RUN, partitioned_asset
from musiccharts_pipeline.assets.tracks import metadata_songs
from musiccharts_pipeline.partitions import chart_days
from musiccharts_pipeline.resources import WarehouseResource
from musiccharts_pipeline.sync.artists import artists_of_tracks
from musiccharts_pipeline.sync.genres import derive_genres


@partitioned_asset(
    deps=["artists"],
    partitions_def=chart_days,
    backfill_policy=SINGLE_RUN,
    retry_policy=RETRY,
    group_name=GROUP,
    kinds={"python", "sql"},
    description="Genres of the run's tracks and their artists, with primary genres set.",
)
def genres(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    wh = warehouse.get()
    songs, _ = metadata_songs(context, wh)
    counts = derive_genres(wh, songs, artists_of_tracks(wh, songs))
    return dg.MaterializeResult(
        metadata={
            **counts,
            "rows_written": counts["genres"] + counts["track_genres"] + counts["artist_genres"],
            "api_calls": 0,
        }
    )
