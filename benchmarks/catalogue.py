"""The watchlist's weekly re-listing: 20 watched artists of a label's roster (200 songs each),
listed once, then a week later with the week's new releases: the calls the catalogue and its
track metadata make, over the fewest that find the new songs and fetch each once (every page of
every catalogue, one metadata call per new song). Built by the product: the artists are watched
with ``watchlist.add`` and listed by the watchlist assets on the simulated clock."""

from __future__ import annotations

import datetime as dt
import math
import tempfile

import dagster as dg

from musiccharts_pipeline import clock
from musiccharts_pipeline.assets.watchlist import watchlist_catalogue, watchlist_tracks
from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource
from musiccharts_pipeline.soundcharts.client import MAX_PAGE
from musiccharts_pipeline.soundcharts.simulator import Simulator
from musiccharts_pipeline.sync import watchlist

TARGETS = {"catalogue_api_calls_over_minimum": ("<=", 1.05)}
ARTISTS, SONGS = 20, 200


def bench_catalogue(quick: bool = False) -> dict:
    sim = Simulator(seed=7, roster_artists=ARTISTS, roster_songs=SONGS, publish_on_clock=True)
    world = sim.world
    first = dt.datetime.combine(world.today - dt.timedelta(days=14), dt.time(12))
    week = first + dt.timedelta(days=7)
    with tempfile.TemporaryDirectory() as tmp:
        resources = {
            "warehouse": WarehouseResource(url=f"duckdb:///{tmp}/w.duckdb"),
            "soundcharts": SoundChartsResource.simulated(sim),
        }
        wh = resources["warehouse"].get()
        wh.migrate()
        steps = [watchlist_catalogue, watchlist_tracks]
        with dg.DagsterInstance.ephemeral() as instance:
            with clock.simulated(first):
                entries = [watchlist.Entry("artist", world.artist_uuid(a)) for a in world.roster()]
                watchlist.add(wh, entries, "bench")
                assert dg.materialize(steps, resources=resources, instance=instance).success
                before = set(watchlist.watched_songs(wh))
            sim.reset_log()
            with clock.simulated(week):
                assert dg.materialize(steps, resources=resources, instance=instance).success
                listed = {a: world.artist_songs(a) for a in world.roster()}
        after = set(watchlist.watched_songs(wh))
    counts = sim.successful_counts()
    new = after - before
    pages = sum(max(1, math.ceil(len(songs) / MAX_PAGE)) for songs in listed.values())
    fewest = pages + len(new)
    made = counts["artist_songs"] + counts.get("song", 0)
    assert new, "no release in the simulated week: the figure would measure nothing"
    return {
        "catalogue_api_calls_over_minimum": made / fewest,
        "catalogue_weekly_calls": made,
        "catalogue_weekly_fewest_calls": fewest,
        "catalogue_new_songs_in_week": len(new),
        "catalogue_songs_watched": len(after),
    }


if __name__ == "__main__":
    print(bench_catalogue())
