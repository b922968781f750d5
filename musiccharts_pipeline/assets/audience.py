"""track_audience and artist_audience: priority platforms, stale entities, missing dates."""

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
from musiccharts_pipeline.sync import audience
from musiccharts_pipeline.sync.artists import artists_of_tracks
from musiccharts_pipeline.sync.batching import EntityOutcome
from musiccharts_pipeline.sync.rankings import songs_in
from musiccharts_pipeline.warehouse.counts import decreasing_points


def audience_targets(context, wh) -> dict[tuple[str, ...], list[str]]:
    """Songs to follow, grouped by their chart's priority platforms (auto_fetch_audience on)."""
    groups: dict[tuple[str, ...], set[str]] = {}
    for slug, dates in dates_by_chart(context).items():
        sub = subscription_of(wh, slug)
        if sub.auto_fetch_audience:
            groups.setdefault(sub.priority_platforms, set()).update(songs_in(wh, slug, dates))
    return {platforms: sorted(songs) for platforms, songs in groups.items()}


@partitioned_asset(
    deps=["tracks"],
    check_specs=[
        dg.AssetCheckSpec(
            "cumulative_never_decreases",
            asset="track_audience",
            description="Cumulative audience values never go down.",
        )
    ],
    description="Cumulative audience series of the run's tracks on the priority platforms.",
    **API_ASSET,
)
@final_api_errors()
def track_audience(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    soundcharts: SoundChartsResource,
):
    wh, client = warehouse.get(), soundcharts.get()
    meter = ApiMeter(client)
    total = EntityOutcome()
    targets = audience_targets(context, wh)
    for platforms, songs in targets.items():
        total.add(audience.sync_track_audience(client, wh, songs, platforms))
    songs = sorted({s for group in targets.values() for s in group})
    decreasing = decreasing_points(wh, songs)
    partition_figures(context, partition_members(context, wh, "track"), total.uuids, "tracks")
    return dg.MaterializeResult(
        metadata=run_totals(entity_metadata(total, meter)),
        check_results=[
            dg.AssetCheckResult(
                check_name="cumulative_never_decreases",
                passed=decreasing == 0,
                metadata={"decreasing_points": decreasing, "tracks_checked": len(songs)},
            )
        ],
    )


@partitioned_asset(
    deps=["artists"],
    description="Follower and listener series of the run's artists on the priority platforms.",
    **API_ASSET,
)
@final_api_errors()
def artist_audience(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    soundcharts: SoundChartsResource,
):
    wh, client = warehouse.get(), soundcharts.get()
    meter = ApiMeter(client)
    total = EntityOutcome()
    for platforms, songs in audience_targets(context, wh).items():
        artist_uuids = artists_of_tracks(wh, songs)
        total.add(audience.sync_artist_audience(client, wh, artist_uuids, platforms))
    partition_figures(context, partition_members(context, wh, "artist"), total.uuids, "artists")
    return dg.MaterializeResult(metadata=run_totals(entity_metadata(total, meter)))
