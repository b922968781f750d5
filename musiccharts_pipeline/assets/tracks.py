"""tracks and artists: metadata fetched only when missing or older than 30 days."""

import dagster as dg

from musiccharts_pipeline.assets.common import (
    API_ASSET,
    ApiMeter,
    dates_by_chart,
    entity_metadata,
    final_api_errors,
    partition_figures,
    partition_members,
    partitioned_asset,
    run_totals,
    subscription_of,
)
from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource
from musiccharts_pipeline.sync.artists import artists_of_tracks, sync_artists
from musiccharts_pipeline.sync.rankings import songs_in
from musiccharts_pipeline.sync.tracks import sync_tracks
from musiccharts_pipeline.warehouse.counts import tracks_with_metadata


def metadata_songs(context, wh) -> tuple[list[str], list[str]]:
    """Songs of the run's partitions whose chart fetches metadata, and the charts skipped."""
    songs, skipped = set(), []
    for slug, dates in dates_by_chart(context).items():
        if subscription_of(wh, slug).auto_fetch_metadata:
            songs.update(songs_in(wh, slug, dates))
        else:
            skipped.append(slug)
    return sorted(songs), skipped


@partitioned_asset(
    deps=["chart_rankings"],
    check_specs=[
        dg.AssetCheckSpec(
            "entries_have_tracks",
            asset="tracks",
            description="Every ranking entry's track has metadata.",
        )
    ],
    description="Track metadata of the songs in the rankings; artists found are created and "
    "linked (track_artists, primary artist).",
    **API_ASSET,
)
@final_api_errors()
def tracks(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    soundcharts: SoundChartsResource,
):
    wh, client = warehouse.get(), soundcharts.get()
    meter = ApiMeter(client)
    songs, skipped = metadata_songs(context, wh)
    outcome = sync_tracks(client, wh, songs)
    missing = len(songs) - tracks_with_metadata(wh, songs)
    partition_figures(context, partition_members(context, wh, "track"), outcome.uuids, "tracks", 1)
    return dg.MaterializeResult(
        metadata=run_totals(entity_metadata(outcome, meter))
        | {"charts_without_auto_metadata": dg.MetadataValue.json(skipped)},
        check_results=[
            dg.AssetCheckResult(
                check_name="entries_have_tracks",
                passed=missing == 0,
                metadata={"entries_tracks": len(songs), "without_metadata": int(missing)},
            )
        ],
    )


@partitioned_asset(deps=["tracks"], description="Artist metadata of the run's tracks.", **API_ASSET)
@final_api_errors()
def artists(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    soundcharts: SoundChartsResource,
):
    wh, client = warehouse.get(), soundcharts.get()
    meter = ApiMeter(client)
    songs, skipped = metadata_songs(context, wh)
    outcome = sync_artists(client, wh, artists_of_tracks(wh, songs))
    members = partition_members(context, wh, "artist")
    partition_figures(context, members, outcome.uuids, "artists", 1)
    return dg.MaterializeResult(metadata=run_totals(entity_metadata(outcome, meter)))
