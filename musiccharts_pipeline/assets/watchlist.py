"""The watchlist: a second root of the graph beside chart_rankings. The label's own artists and
songs (most never chart) go through the same steps as charting songs, with the same freshness
rules, so a song that both charts and is watched is fetched once."""

import dagster as dg

from musiccharts_pipeline.assets.common import (
    POOL,
    RETRY,
    ApiMeter,
    entity_metadata,
    final_api_errors,
)
from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource
from musiccharts_pipeline.sync import albums as album_sync
from musiccharts_pipeline.sync import audience, watchlist
from musiccharts_pipeline.sync.artists import artists_of_tracks, sync_artists
from musiccharts_pipeline.sync.batching import EntityOutcome
from musiccharts_pipeline.sync.genres import derive_genres
from musiccharts_pipeline.sync.tracks import sync_tracks

WATCH_GROUP = "catalogue"
WATCH_API = dict(pool=POOL, retry_policy=RETRY, group_name=WATCH_GROUP, kinds={"python", "sql"})


@dg.asset(
    description="Watched ISRCs resolved (once each) and the catalogue of each watched artist "
    "listed when it never was or was listed more than a week ago: new releases appear by "
    "themselves.",
    **WATCH_API,
)
@final_api_errors()
def watchlist_catalogue(warehouse: WarehouseResource, soundcharts: SoundChartsResource):
    wh, client = warehouse.get(), soundcharts.get()
    meter = ApiMeter(client)
    out = watchlist.CatalogueOutcome()
    watchlist.resolve_isrcs(client, wh, out)
    watchlist.relist_catalogues(client, wh, out)
    return dg.MaterializeResult(metadata={**out.metadata(), **meter.metadata()})


@dg.asset(
    deps=[watchlist_catalogue],
    description="Metadata of the watched songs and the watched artists' songs, only when "
    "missing or older than 30 days (the tracks table the charts fill too).",
    **WATCH_API,
)
@final_api_errors()
def watchlist_tracks(warehouse: WarehouseResource, soundcharts: SoundChartsResource):
    wh, client = warehouse.get(), soundcharts.get()
    meter = ApiMeter(client)
    songs = watchlist.watched_songs(wh)
    return dg.MaterializeResult(
        metadata=entity_metadata(sync_tracks(client, wh, songs), meter, watched_songs=len(songs))
    )


def _artists(wh, songs: list[str]) -> list[str]:
    """The watched artists and every artist the watched ``songs`` credit."""
    return sorted(set(watchlist.watched_artists(wh)) | set(artists_of_tracks(wh, songs)))


@dg.asset(
    deps=[watchlist_tracks],
    description="Metadata of the watched artists and of every artist their songs credit.",
    **WATCH_API,
)
@final_api_errors()
def watchlist_artists(warehouse: WarehouseResource, soundcharts: SoundChartsResource):
    wh, client = warehouse.get(), soundcharts.get()
    meter = ApiMeter(client)
    return dg.MaterializeResult(
        metadata=entity_metadata(
            sync_artists(client, wh, _artists(wh, watchlist.watched_songs(wh))), meter
        )
    )


@dg.asset(
    deps=[watchlist_artists],
    group_name=WATCH_GROUP,
    kinds={"python", "sql"},
    description="Genres of the watched songs and artists (from stored metadata, no API call).",
)
def watchlist_genres(warehouse: WarehouseResource):
    wh = warehouse.get()
    songs = watchlist.watched_songs(wh)
    counts = derive_genres(wh, songs, _artists(wh, songs))
    return dg.MaterializeResult(metadata={**counts, "api_calls": 0})


@dg.asset(
    deps=[watchlist_artists],
    description="Audience of the watched songs and followers and listeners of their artists on "
    "the default priority platforms, older than 7 days or missing.",
    **WATCH_API,
)
@final_api_errors()
def watchlist_audience(warehouse: WarehouseResource, soundcharts: SoundChartsResource):
    wh, client = warehouse.get(), soundcharts.get()
    meter = ApiMeter(client)
    total = EntityOutcome()
    songs = watchlist.watched_songs(wh)
    total.add(audience.sync_track_audience(client, wh, songs))
    total.add(audience.sync_artist_audience(client, wh, _artists(wh, songs)))
    return dg.MaterializeResult(metadata=entity_metadata(total, meter))


@dg.asset(
    deps=["tracks", watchlist_tracks],
    description="Albums of every synced track (charting or watched): each track's releases "
    "listed when never listed or older than 30 days, each album fetched once (UPC, type, "
    "release date, label, track count), the original release marked.",
    **WATCH_API,
)
@final_api_errors()
def albums(warehouse: WarehouseResource, soundcharts: SoundChartsResource):
    wh, client = warehouse.get(), soundcharts.get()
    meter = ApiMeter(client)
    outcome = album_sync.sync_albums(client, wh, album_sync.tracks_with_metadata(wh))
    return dg.MaterializeResult(metadata=entity_metadata(outcome, meter))


WATCHLIST_ASSETS = [
    watchlist_catalogue,
    watchlist_tracks,
    watchlist_artists,
    watchlist_genres,
    watchlist_audience,
    albums,
]

watchlist_job = dg.define_asset_job(
    "catalogue",
    selection=WATCHLIST_ASSETS,
    description="The label's own catalogue (ISRCs resolved, artists' catalogues listed weekly, "
    "then the cascade of the songs found) and the albums of every synced track: only what is "
    "missing or stale.",
)

watchlist_schedule = dg.ScheduleDefinition(
    job=watchlist_job,
    cron_schedule="30 4 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily, 04:30 UTC: each step does only what is due, so a quiet day costs little.",
)
