"""The asset graph through dagster.materialize, on DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pandas as pd
import pytest

from musiccharts_pipeline.assets import CASCADE_ASSETS
from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.partitions import chart_day_key
from musiccharts_pipeline.warehouse import SCHEMA
from musiccharts_pipeline_tests.helpers import DATA_TABLES


def _run(resources, slug, date=None, end=None, selection=None, instance=None):
    result = materialize_chart(
        resources, instance or dg.DagsterInstance.ephemeral(), slug, date, end, selection
    )
    assert result.success
    return result


def _meta(result, asset):
    [event] = [
        e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == asset
    ][:1]
    return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}


def _snapshot(wh) -> dict[str, pd.DataFrame]:
    """Every data table, minus the columns that record when a fetch happened."""
    out = {}
    for table in DATA_TABLES:
        frame = wh.read_frame(f"SELECT * FROM {SCHEMA}.{table}")
        frame = frame.drop(columns=[c for c in frame.columns if c.endswith(("_at",))])
        out[table] = frame.sort_values(list(frame.columns[:3])).reset_index(drop=True)
    return out


def test_cascade_one_partition_matches_ground_truth(pipeline):
    client = pipeline["soundcharts"].get()
    sim, wh = client.simulator, pipeline["warehouse"].get()
    world = sim.world
    chart = world.charts["top-50-fr"]
    result = _run(pipeline, "top-50-fr", world.today)

    truth = world.ranking(chart, world.today)
    entries = wh.read_frame(
        f"SELECT position, song_uuid, old_position, entry_state "
        f"FROM {SCHEMA}.chart_ranking_entries ORDER BY position"
    )
    assert entries.position.tolist() == list(range(1, 51))
    assert entries.song_uuid.tolist() == [world.song_uuid(i) for i in truth.songs]

    artists = {world.artist_uuid(a) for i in set(truth.songs) for a in world.song_artists(i)}
    counts = sim.successful_counts()
    assert counts["ranking"] == 1 and counts["available_rankings"] == 1
    assert counts["song"] == len(set(truth.songs)) == 50
    assert counts["artist"] == len(artists)
    assert counts["song_audience"] == 50 * 3  # spotify, youtube, shazam: one 90-day window each
    assert int(wh.scalar(f"SELECT count(*) FROM {SCHEMA}.tracks")) == 50
    assert int(wh.scalar(f"SELECT count(*) FROM {SCHEMA}.artists")) == len(artists)
    primary = wh.read_frame(f"SELECT uuid, primary_artist_uuid, primary_genre FROM {SCHEMA}.tracks")
    for row in primary.itertuples():
        i = world.song_index[row.uuid]
        assert row.primary_artist_uuid == world.artist_uuid(world.song_artists(i)[0])
        assert row.primary_genre is not None
    levels = wh.read_frame(f"SELECT level, count(*) AS n FROM {SCHEMA}.genres GROUP BY level")
    assert set(levels.level) == {0, 1}

    meta = _meta(result, "tracks")
    assert meta["run_created"] == 50 and meta["run_skipped_fresh"] == 0
    assert meta["run_api_calls"] == 50 == meta["api_calls"] == meta["tracks_fetched"]
    assert _meta(result, "chart_rankings")["rows_written"] == 50
    assert "| 1 |" in _meta(result, "chart_rankings")["preview"]
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {
        "positions_contiguous": True,
        "chart_fresh": True,
        "entries_have_tracks": True,
        "cumulative_never_decreases": True,
    }


def test_rematerializing_gives_identical_tables_and_fetches_only_the_ranking(pipeline):
    client = pipeline["soundcharts"].get()
    sim, wh = client.simulator, pipeline["warehouse"].get()
    _run(pipeline, "top-50-fr", sim.world.today)
    first = _snapshot(wh)
    sim.reset_log()
    result = _run(pipeline, "top-50-fr", sim.world.today)
    second = _snapshot(wh)
    for table in first:
        pd.testing.assert_frame_equal(first[table], second[table], obj=table)
    assert dict(sim.successful_counts()) == {"available_rankings": 1, "ranking": 1}
    assert _meta(result, "tracks")["run_skipped_fresh"] == 50
    assert _meta(result, "tracks")["tracks_fetched"] == 0


def test_stale_metadata_is_fetched_again(pipeline):
    client = pipeline["soundcharts"].get()
    sim, wh = client.simulator, pipeline["warehouse"].get()
    _run(pipeline, "top-50-fr", sim.world.today)
    stale = sorted(wh.read_frame(f"SELECT uuid FROM {SCHEMA}.tracks").uuid)[:5]
    wh.execute(
        f"UPDATE {SCHEMA}.tracks SET metadata_fetched_at = :t WHERE uuid IN :u",
        {"t": dt.datetime.now() - dt.timedelta(days=31), "u": stale},
    )
    sim.reset_log()
    result = _run(pipeline, "top-50-fr", sim.world.today, selection=["tracks"])
    assert sim.successful_counts()["song"] == 5
    meta = _meta(result, "tracks")
    assert meta["run_updated"] == 5 and meta["run_skipped_fresh"] == 45


def test_date_range_in_one_run_fetches_shared_songs_once(pipeline):
    client = pipeline["soundcharts"].get()
    sim, wh = client.simulator, pipeline["warehouse"].get()
    world = sim.world
    chart = world.charts["top-50-fr"]
    start = world.today - dt.timedelta(days=4)
    instance = dg.DagsterInstance.ephemeral()
    _run(pipeline, "top-50-fr", start, world.today, instance=instance)
    assert len(instance.get_run_records()) == 1
    songs = {i for k in range(5) for i in world.ranking(chart, start + dt.timedelta(days=k)).songs}
    assert int(wh.scalar(f"SELECT count(*) FROM {SCHEMA}.chart_rankings")) == 5
    assert int(wh.scalar(f"SELECT count(*) FROM {SCHEMA}.chart_ranking_entries")) == 250
    assert sim.successful_counts()["song"] == len(songs)
    assert sim.successful_counts()["ranking"] == 5
    assert sim.successful_counts()["available_rankings"] == 1
    # each partition carries its own figures: its ranking's songs, and the songs fetched for it
    # (a song on several dates counted at the first); the run's totals are run_*
    by_date = {}
    for event in instance.get_records_for_run(
        instance.get_run_records()[0].dagster_run.run_id,
        of_type=dg.DagsterEventType.ASSET_MATERIALIZATION,
    ).records:
        materialization = event.event_log_entry.dagster_event.step_materialization_data
        if materialization.materialization.asset_key == dg.AssetKey("tracks"):
            meta = materialization.materialization.metadata
            by_date[event.event_log_entry.dagster_event.partition] = meta
    assert len(by_date) == 5
    assert {m["tracks"].value for m in by_date.values()} == {50}
    fetched = [by_date[k]["tracks_fetched"].value for k in sorted(by_date)]
    assert fetched[0] == 50 and sum(fetched) == len(songs)
    assert {m["run_created"].value for m in by_date.values()} == {len(songs)}


def test_weekly_chart_non_publication_date_is_an_empty_marked_partition(pipeline):
    client = pipeline["soundcharts"].get()
    sim, wh = client.simulator, pipeline["warehouse"].get()
    today = sim.world.today
    not_friday = today - dt.timedelta(days=(today.weekday() - 3) % 7 or 7)  # a Thursday
    assert not_friday.weekday() == 3
    result = _run(pipeline, "tiktok-top-50-weekly", not_friday, selection=["chart_rankings"])
    meta = _meta(result, "chart_rankings")
    assert meta["empty_partition"] is True and meta["run_rankings_synced"] == 0
    assert meta["not_published"] == [f"tiktok-top-50-weekly {not_friday}"]
    assert dict(sim.successful_counts()) == {"available_rankings": 1}
    assert int(wh.scalar(f"SELECT count(*) FROM {SCHEMA}.chart_ranking_entries")) == 0
    assert wh.scalar(f"SELECT status FROM {SCHEMA}.chart_sync_log") == "not_published"


def test_bad_ranking_fails_at_once_without_partial_write(pipeline):
    client = pipeline["soundcharts"].get()
    sim, wh = client.simulator, pipeline["warehouse"].get()

    def duplicated(body, path):
        body["items"][1]["position"] = 1
        return body

    sim.tampering["ranking"] = duplicated
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("charts", ["top-50-fr"])
    result = dg.materialize(
        CASCADE_ASSETS,
        resources=pipeline,
        instance=instance,
        selection=["chart_rankings"],
        raise_on_error=False,
        partition_key=str(chart_day_key("top-50-fr", sim.world.today)),
    )
    assert not result.success
    [failure] = result.get_step_failure_events()  # a contract error is not retried
    assert "duplicated position(s) [1]" in failure.event_specific_data.error.message
    assert sim.successful_counts()["ranking"] == 1
    assert int(wh.scalar(f"SELECT count(*) FROM {SCHEMA}.chart_ranking_entries")) == 0
    assert wh.scalar(f"SELECT status FROM {SCHEMA}.chart_sync_log") == "failed"


@pytest.mark.parametrize("slug", ["bad slug", "a|b", "x,y", "[x]", ""])
def test_hostile_slugs_are_rejected_before_dagster(slug):
    from musiccharts_pipeline.sync.rules import InvalidChartSlug

    with pytest.raises(InvalidChartSlug, match="invalid chart slug"):
        chart_day_key(slug, "2026-01-01")


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_a_chart_key_nobody_subscribed_fails_once_with_one_line(pipeline):
    """A key typed in the launch dialog ("Add partition") for a chart SoundCharts lacks: one
    clear failure naming the command that checks slugs, no retry."""
    client = pipeline["soundcharts"].get()
    day = client.simulator.world.today
    with dg.instance_for_test() as instance:
        result = materialize_chart(
            pipeline,
            instance,
            "top-50-fr-typo",
            day,
            selection=["chart_rankings"],
            raise_on_error=False,
        )
        failures = [
            e.dagster_event.step_failure_data.error.message
            for e in instance.all_logs(result.run_id)
            if e.dagster_event and e.dagster_event.event_type_value == "STEP_FAILURE"
        ]
    assert not result.success and len(failures) == 1
    assert "SoundCharts has no chart 'top-50-fr-typo'" in failures[0]
    assert "musiccharts charts add SLUG" in failures[0]
    assert client.simulator.counts()["available_rankings"] == 1  # not retried
