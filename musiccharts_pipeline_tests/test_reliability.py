"""Proof under faults: fault-injected backfills, quota exhaustion, SIGKILL mid-write, repeated
runs, bad payloads and secrets, each checked against the simulator's ground truth."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
import time

import dagster as dg
import pandas as pd
import pytest

from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.sync.batching import WORKERS
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse
from musiccharts_pipeline_tests.helpers import DATA_TABLES

MIXED_FAULTS = {
    "rate_limit": 0.03,
    "server_error": 0.03,
    "reset": 0.015,
    "truncate": 0.015,
    "slow": 0.01,
}


_materialize = materialize_chart


def checksums(wh: Warehouse) -> dict[str, str]:
    """A checksum per table over every row, minus the columns that record fetch times."""
    out = {}
    for table in DATA_TABLES:
        frame = wh.read_frame(f"SELECT * FROM {SCHEMA}.{table}")
        frame = frame.drop(columns=[c for c in frame.columns if c.endswith("_at")])
        frame = frame.astype(str).sort_values(list(frame.columns)).reset_index(drop=True)
        out[table] = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
    return out


def assert_matches_ground_truth(wh: Warehouse, world, charts: dict[str, list[dt.date]]):
    """Entries row for row, every song and artist once, every audience point of the window."""
    entries = wh.read_frame(
        f"SELECT chart_slug, ranking_date, position, song_uuid FROM {SCHEMA}.chart_ranking_entries"
    )
    entries["ranking_date"] = pd.to_datetime(entries.ranking_date).dt.date
    expected, songs = [], set()
    for slug, dates in charts.items():
        for date in dates:
            ranking = world.ranking(world.charts[slug], date)
            if ranking is None:
                continue
            songs.update(ranking.songs)
            expected += [
                (slug, date, k + 1, world.song_uuid(i)) for k, i in enumerate(ranking.songs)
            ]
    got = sorted(
        map(tuple, entries[["chart_slug", "ranking_date", "position", "song_uuid"]].values.tolist())
    )
    assert got == sorted(expected)  # zero rows missing, zero duplicated
    tracks = wh.read_frame(
        f"SELECT uuid FROM {SCHEMA}.tracks WHERE metadata_fetched_at IS NOT NULL"
    )
    assert sorted(tracks.uuid) == sorted(world.song_uuid(i) for i in songs)
    artists = {world.artist_uuid(a) for i in songs for a in world.song_artists(i)}
    stored = wh.read_frame(
        f"SELECT uuid FROM {SCHEMA}.artists WHERE metadata_fetched_at IS NOT NULL"
    )
    assert sorted(stored.uuid) == sorted(artists)
    audience = wh.read_frame(
        f"SELECT track_uuid, platform, identifier, date, value FROM {SCHEMA}.track_audience"
    )
    audience["date"] = pd.to_datetime(audience.date).dt.date
    start = world.today - dt.timedelta(days=89)
    truth = [
        (
            world.song_uuid(i),
            platform,
            plot["identifier"],
            dt.date.fromisoformat(p["date"][:10]),
            plot["value"],
        )
        for i in songs
        for platform in ("spotify", "youtube", "shazam")
        for p in world.song_audience(i, platform, start, world.today)
        for plot in p["plots"]
    ]
    assert sorted(map(tuple, audience.values.tolist())) == sorted(truth)


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_faulty_30_day_backfill_loses_and_duplicates_nothing(pipeline):
    client = pipeline["soundcharts"].get()
    sim, wh = client.simulator, pipeline["warehouse"].get()
    sim.set_faults(MIXED_FAULTS, seed=11)
    sim.config.slow_seconds = 0.05
    today = sim.world.today
    start = today - dt.timedelta(days=29)
    instance = dg.DagsterInstance.ephemeral()
    charts = {}
    retries = 0
    for slug in ("top-50-fr", "viral-50-global", "tiktok-top-50-weekly"):
        result = _materialize(pipeline, instance, slug, start, today)
        assert result.success
        retries += sum(
            metadata[key].value
            for e in result.get_asset_materialization_events()
            for metadata in [e.materialization.metadata]
            for key in ("retries", "run_retries")
            if key in metadata
        )
        charts[slug] = [start + dt.timedelta(days=k) for k in range(30)]
    assert sum(sim.faults_injected.values()) > 50
    assert retries >= sim.faults_injected["rate_limit"] + sim.faults_injected["server_error"]
    assert_matches_ground_truth(wh, sim.world, charts)


@pytest.mark.parametrize("warehouse_url", ["duckdb", "postgresql"], indirect=True)
def test_quota_exhausted_mid_backfill_then_converges(pipeline, tmp_path):
    client = pipeline["soundcharts"].get()
    sim, wh = client.simulator, pipeline["warehouse"].get()
    today = sim.world.today
    start = today - dt.timedelta(days=4)
    sim.set_quota(120)  # enough for the rankings and part of the metadata
    instance = dg.DagsterInstance.ephemeral()
    result = _materialize(pipeline, instance, "top-50-fr", start, today, raise_on_error=False)
    assert not result.success
    failures = result.get_step_failure_events()
    assert failures  # each branch that needs the API stops with the quota's own message
    assert all("quota is spent" in f.event_specific_data.error.message for f in failures)
    # no partition half-written: each stored ranking is whole, no entry without its ranking
    counts = wh.read_frame(
        f"SELECT r.ranking_date, r.entry_count, count(e.position) AS n "
        f"FROM {SCHEMA}.chart_rankings r LEFT JOIN {SCHEMA}.chart_ranking_entries e "
        "ON e.chart_slug = r.chart_slug AND e.ranking_date = r.ranking_date "
        "GROUP BY r.ranking_date, r.entry_count"
    )
    assert (counts.entry_count == counts.n).all() and len(counts) == 5
    # no retry storm once the quota is spent: each failing step stops at its first refusal, only
    # the calls already in flight (at most one per worker thread) are refused after it
    refused = sum(1 for _, _, status in sim.request_log if status == 429)
    assert 1 <= refused <= len(failures) * WORKERS, (refused, len(failures))

    sim.set_quota(None)
    assert _materialize(pipeline, instance, "top-50-fr", start, today).success
    dates = [start + dt.timedelta(days=k) for k in range(5)]
    assert_matches_ground_truth(wh, sim.world, {"top-50-fr": dates})


KILL_SCRIPT = r"""
import datetime as dt, os, sys, time
import dagster as dg
from musiccharts_pipeline.assets import CASCADE_ASSETS
from musiccharts_pipeline.partitions import chart_day_key
from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource
from musiccharts_pipeline.warehouse import store

signal_file = sys.argv[2]
original = store.Warehouse.replace_partitions

def slow_replace(self, frame, table, keys, conn=None):
    written = original(self, frame, table, keys, conn)
    if table == "chart_ranking_entries":
        open(signal_file, "w").write("deleted and inserted, not committed")
        time.sleep(60)  # killed here, inside the transaction
    return written

store.Warehouse.replace_partitions = slow_replace
instance = dg.DagsterInstance.ephemeral()
instance.add_dynamic_partitions("charts", ["top-50-fr"])
dg.materialize(CASCADE_ASSETS, selection=["chart_rankings"], instance=instance,
               partition_key=str(chart_day_key("top-50-fr", dt.date.fromisoformat(sys.argv[3]))),
               resources={"warehouse": WarehouseResource(url=sys.argv[1]),
                          "soundcharts": SoundChartsResource()})
"""


@pytest.mark.parametrize("warehouse_url", ["duckdb", "postgresql"], indirect=True)
def test_sigkill_mid_write_leaves_partition_whole_or_absent(pipeline, warehouse_url, tmp_path):
    client = pipeline["soundcharts"].get()
    sim, wh = client.simulator, pipeline["warehouse"].get()
    today = sim.world.today
    instance = dg.DagsterInstance.ephemeral()
    # yesterday lands normally; today's write is killed mid-transaction
    assert _materialize(pipeline, instance, "top-50-fr", today - dt.timedelta(days=1)).success
    before = checksums(wh)
    wh.engine.dispose()
    signal_file = tmp_path / "in_transaction"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, warehouse_url, str(signal_file), today.isoformat()],
        env={**os.environ},
    )
    deadline = time.monotonic() + 120
    while not signal_file.exists():
        assert proc.poll() is None, "the writer exited before reaching the write"
        assert time.monotonic() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # the killed partition is absent, everything else exactly as before
    assert checksums(wh) == before
    assert (
        wh.scalar(
            f"SELECT count(*) FROM {SCHEMA}.chart_ranking_entries WHERE ranking_date = :d",
            {"d": today},
        )
        == 0
    )
    assert _materialize(pipeline, instance, "top-50-fr", today).success
    assert_matches_ground_truth(wh, sim.world, {"top-50-fr": [today - dt.timedelta(days=1), today]})


@pytest.mark.parametrize("warehouse_url", ["duckdb", "postgresql"], indirect=True)
def test_three_materializations_give_identical_checksums(pipeline):
    client = pipeline["soundcharts"].get()
    today = client.simulator.world.today
    instance = dg.DagsterInstance.ephemeral()
    sums = []
    for _ in range(3):
        assert _materialize(
            pipeline, instance, "top-50-fr", today - dt.timedelta(days=2), today
        ).success
        sums.append(checksums(pipeline["warehouse"].get()))
    assert sums[0] == sums[1] == sums[2]


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
@pytest.mark.parametrize(
    ("route", "tamper", "message"),
    [
        (
            "ranking",
            lambda body, path: b"<html><body>Bad gateway</body></html>",
            "expected JSON, got text/html",
        ),
        (
            "ranking",
            lambda body, path: {
                **body,
                "related": {**body["related"], "date": "1999-01-01T12:00:00+00:00"},
            },
            "came back dated 1999-01-01",
        ),
        (
            "ranking",
            lambda body, path: {
                **body,
                "items": [{**body["items"][0], "song": {"name": "no uuid"}}, *body["items"][1:]],
            },
            "entries.0.song.uuid",
        ),
    ],
    ids=["html", "date-out-of-range", "song-without-uuid"],
)
def test_bad_payload_fails_clearly_without_partial_write(pipeline, route, tamper, message):
    client = pipeline["soundcharts"].get()
    sim, wh = client.simulator, pipeline["warehouse"].get()
    today = sim.world.today
    bad_day = today - dt.timedelta(days=1)
    sim.tampering[route] = lambda body, path: tamper(body, path) if str(bad_day) in path else body
    instance = dg.DagsterInstance.ephemeral()
    result = _materialize(
        pipeline, instance, "top-50-fr", today - dt.timedelta(days=2), today, raise_on_error=False
    )
    assert not result.success
    [failure] = result.get_step_failure_events()
    text = failure.event_specific_data.error.message
    assert message in text and f"top-50-fr {bad_day}" in text
    stored = wh.read_frame(f"SELECT DISTINCT ranking_date FROM {SCHEMA}.chart_ranking_entries")
    stored = sorted(pd.to_datetime(stored.ranking_date).dt.date)
    assert stored == [today - dt.timedelta(days=2), today]  # the rest of the backfill landed
    assert (
        wh.scalar(
            f"SELECT status FROM {SCHEMA}.chart_sync_log WHERE ranking_date = :d", {"d": bad_day}
        )
        == "failed"
    )


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_api_key_absent_from_event_log_compute_logs_run_config_and_warehouse(
    warehouse_url, tmp_path, monkeypatch
):
    from musiccharts_pipeline.resources import resources_from_env

    secret = "sk-live-0123456789abcdef-do-not-leak"
    monkeypatch.setenv("SOUNDCHARTS_SIMULATOR_FAULTS", "rate_limit=0.05,server_error=0.05")
    monkeypatch.setenv("SOUNDCHARTS_APP_ID", "team-app")
    monkeypatch.setenv("SOUNDCHARTS_API_KEY", secret)
    monkeypatch.setenv("MUSICCHARTS_WAREHOUSE_URL", warehouse_url)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        today = dt.date.today()
        result = _materialize(resources_from_env(), instance, "top-50-fr", today)
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        assert secret not in repr(run.run_config) and secret not in repr(run.tags)
        events = instance.all_logs(result.run_id)
        assert events and all(secret not in repr(e) for e in events)
    for path in home.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    wh = Warehouse(warehouse_url)
    for table in [*DATA_TABLES, "chart_sync_log", "chart_subscriptions"]:
        frame = wh.read_frame(f"SELECT * FROM {SCHEMA}.{table}")
        assert secret not in frame.to_csv(), table
