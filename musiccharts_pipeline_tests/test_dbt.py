"""dbt on both targets over a warehouse filled by the real assets; marts checked against numbers
computed here from the raw tables; every incremental model equals its full refresh, after late
data and a metadata change; the large tables' tests check the latest load, and every row in CI."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pandas as pd
import pytest

from musiccharts_pipeline.assets.materialize import materialize_analytics, materialize_chart
from musiccharts_pipeline.dbt import dbt_project, invoke
from musiccharts_pipeline.sync.artists import artists_of_tracks, sync_artists
from musiccharts_pipeline.sync.genres import derive_genres
from musiccharts_pipeline.sync.movement import MOVEMENTS, classify
from musiccharts_pipeline.sync.rules import utcnow
from musiccharts_pipeline.sync.tracks import sync_tracks
from musiccharts_pipeline_tests import browser

#: The incremental models as designed; the manifest must hold exactly these (a new one joins
#: the equality test by being listed here).
INCREMENTAL_MODELS = {
    "int_ranking_movements",
    "int_track_attributes",
    "int_chart_track_months",
    "int_artist_chart_months",
    "int_artist_follower_growth",
    "track_audience_daily",
    "artist_audience_daily",
    "genre_popularity",
}


def _int(value) -> int | None:
    return None if pd.isna(value) else int(value)


def _sync(pipeline, instance, slug, start, end):
    assert materialize_chart(pipeline, instance, slug, start, end).success


def _build(pipeline, instance, tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICCHARTS_DASHBOARD_PATH", str(tmp_path / "dashboard.html"))
    target = dbt_project.project_dir / dbt_project.target_path
    before = set(target.iterdir())
    result = materialize_analytics(pipeline, instance)
    assert result.success
    assert set(target.iterdir()) == before  # the run's dbt artifacts leave with the run
    return result


def _dbt(wh, tmp_path, *args: str):
    """A dbt invocation of our own against the test's warehouse (not raising: callers assert)."""
    return invoke(
        list(args), wh.url, raise_on_error=False, target_path=tmp_path / "dbt-target"
    ).wait()


def _failed_tests(invocation) -> dict[str, int]:
    results = invocation.get_artifact("run_results.json")["results"]
    return {
        r["unique_id"].split(".")[2]: r["failures"]
        for r in results
        if r["unique_id"].startswith("test.") and r["status"] != "pass"
    }


def _assert_history_marts_match_raw(wh) -> None:
    """top_tracks, artist_analytics and genre_popularity against numbers computed here from the
    raw tables, over the tracks' current artists and genres."""
    entries = wh.read_frame(
        "SELECT chart_slug, ranking_date, position, song_uuid AS track_uuid "
        "FROM soundcharts.chart_ranking_entries"
    )
    entries["ranking_date"] = pd.to_datetime(entries.ranking_date)
    links = wh.read_frame("SELECT track_uuid, artist_uuid FROM soundcharts.track_artists")
    known = set(wh.read_frame("SELECT uuid FROM soundcharts.artists").uuid)
    genres = wh.read_frame(
        "SELECT tg.track_uuid, g.soundcharts_root AS root_genre, "
        "CASE WHEN g.level = 1 THEN g.name END AS sub_genre "
        "FROM soundcharts.track_genres tg JOIN soundcharts.genres g ON tg.genre_id = g.id "
        "WHERE tg.is_primary"
    )

    top = wh.read_frame(
        "SELECT track_uuid, chart_appearances, charts, best_position, last_seen "
        "FROM analytics.top_tracks"
    ).set_index("track_uuid")
    by_track = entries.groupby("track_uuid").agg(
        chart_appearances=("position", "size"),
        charts=("chart_slug", "nunique"),
        best_position=("position", "min"),
        last_seen=("ranking_date", "max"),
    )
    assert set(top.index) == set(by_track.index)
    top = top.loc[by_track.index]
    for column in ("chart_appearances", "charts", "best_position"):
        assert (top[column].astype("int64") == by_track[column]).all(), column
    assert (pd.to_datetime(top.last_seen) == by_track.last_seen).all()

    appearances = entries.merge(links, on="track_uuid")
    appearances = appearances[appearances.artist_uuid.isin(known)]
    appearances["chart_day"] = appearances.chart_slug + "|" + appearances.ranking_date.astype(str)
    by_artist = appearances.groupby("artist_uuid").agg(
        tracks_charting=("track_uuid", "nunique"),
        best_position=("position", "min"),
        chart_days=("chart_day", "nunique"),
    )
    artists = wh.read_frame(
        "SELECT DISTINCT artist_uuid, tracks_charting, best_position, chart_days "
        "FROM analytics.artist_analytics"
    ).set_index("artist_uuid")
    assert artists.index.is_unique
    assert set(artists.index) == set(by_artist.index)
    pd.testing.assert_frame_equal(
        artists.loc[by_artist.index].astype("int64"), by_artist.astype("int64"), obj="artists"
    )

    by_genre = (
        entries.merge(genres, on="track_uuid")
        .groupby(["ranking_date", "root_genre", "sub_genre"], dropna=False)
        .agg(chart_entries=("position", "size"), tracks=("track_uuid", "nunique"))
        .reset_index()
    )
    popularity = wh.read_frame(
        "SELECT ranking_date, root_genre, sub_genre, chart_entries, tracks "
        "FROM analytics.genre_popularity"
    )
    popularity["ranking_date"] = pd.to_datetime(popularity.ranking_date)
    keys = ["ranking_date", "root_genre", "sub_genre"]
    got, want = (
        frame.assign(sub_genre=frame.sub_genre.astype(object).where(frame.sub_genre.notna(), None))
        .sort_values(keys, na_position="last")
        .reset_index(drop=True)
        for frame in (popularity, by_genre)
    )
    assert len(want) > 0
    pd.testing.assert_frame_equal(
        got.astype({"chart_entries": "int64", "tracks": "int64"}),
        want.astype({"chart_entries": "int64", "tracks": "int64"}),
        obj="genre_popularity",
    )


@pytest.fixture
def filled(pipeline, tmp_path, monkeypatch):
    """Three days of a daily chart and the latest weekly ranking, through the cascade, and a
    first dbt build."""
    client = pipeline["soundcharts"].get()
    today = client.simulator.world.today
    instance = dg.DagsterInstance.ephemeral()
    _sync(
        pipeline, instance, "top-50-fr", today - dt.timedelta(days=3), today - dt.timedelta(days=1)
    )
    weekly = client.available_rankings("tiktok-top-50-weekly", newest_only=True).dates[-1]
    _sync(pipeline, instance, "tiktok-top-50-weekly", weekly, weekly)
    result = _build(pipeline, instance, tmp_path, monkeypatch)
    return pipeline["warehouse"].get(), instance, result, today


def test_dbt_build_passes_with_tests_as_checks(filled):
    _, _, result, _ = filled
    checks = result.get_asset_check_evaluations()
    manifest = json.loads(dbt_project.manifest_path.read_text())
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    assert len(tests) >= 6  # a build's own tests; the complete suite has more (see below)
    assert len(checks) == len(tests)
    assert all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]
    built = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert {"top_tracks", "chart_health", "chart_latest_rankings", "dashboard"} <= built


def test_marts_match_numbers_computed_from_raw_tables(filled):
    wh, _, _, today = filled
    raw = wh.read_frame(
        "SELECT chart_slug, ranking_date, position, song_uuid "
        "FROM soundcharts.chart_ranking_entries"
    )
    raw["ranking_date"] = pd.to_datetime(raw.ranking_date).dt.date

    top = wh.read_frame(
        "SELECT track_uuid, chart_appearances, best_position FROM analytics.top_tracks"
    )
    expected = raw.groupby("song_uuid").agg(n=("position", "size"), best=("position", "min"))
    got = top.set_index("track_uuid")
    assert set(got.index) == set(expected.index)
    assert (got.chart_appearances == expected.n.reindex(got.index)).all()
    assert (got.best_position == expected.best.reindex(got.index)).all()

    # movement of the newest daily ranking against the stored day before
    latest = wh.read_frame(
        "SELECT * FROM analytics.chart_latest_rankings "
        "WHERE chart_slug = 'top-50-fr' ORDER BY position"
    )
    newest, previous = sorted(set(raw[raw.chart_slug == "top-50-fr"].ranking_date))[-1:-3:-1]
    now = raw[(raw.chart_slug == "top-50-fr") & (raw.ranking_date == newest)]
    before = dict(
        raw[(raw.chart_slug == "top-50-fr") & (raw.ranking_date == previous)][
            ["song_uuid", "position"]
        ].values
    )
    seen = set(raw[(raw.chart_slug == "top-50-fr") & (raw.ranking_date < newest)].song_uuid)
    moves = dict.fromkeys(MOVEMENTS, 0)
    for song, pos in now[["song_uuid", "position"]].values:
        moves[classify(pos, before.get(song), song in seen)] += 1
    first = latest.iloc[0]
    assert (
        first.new_entries,
        first.re_entries,
        first.moving_up,
        first.moving_down,
        first.unchanged,
    ) == (moves["new"], moves["re_entry"], moves["up"], moves["down"], moves["same"])
    assert latest.movement.value_counts().to_dict() == {k: v for k, v in moves.items() if v}

    # every stored movement is the one rule's, given the model's previous position and history
    stored = wh.read_frame(
        "SELECT m.position, m.previous_position, m.appearances_to_date, m.movement, "
        "e.entry_state FROM analytics.int_ranking_movements AS m "
        "JOIN soundcharts.chart_ranking_entries AS e ON e.chart_slug = m.chart_slug "
        "AND e.ranking_date = m.ranking_date AND e.position = m.position"
    )
    assert len(stored) == len(raw)
    ruled = [
        classify(r.position, _int(r.previous_position), r.appearances_to_date > 1, r.entry_state)
        for r in stored.itertuples()
    ]
    assert stored.movement.tolist() == ruled
    assert {"new", "re_entry", "up", "down", "same"} <= set(ruled)

    fetched = wh.read_frame("SELECT * FROM analytics.rankings_fetched_daily")
    assert len(fetched) == 7
    rankings = int(wh.scalar("SELECT count(*) FROM soundcharts.chart_rankings"))
    assert int(fetched.this_week.iloc[0]) == rankings  # all fetched during this test
    assert int(fetched.rankings_fetched.sum()) == rankings

    platforms = wh.read_frame("SELECT platform, rankings FROM analytics.top_platforms")
    assert dict(platforms.values) == {"spotify": 3, "tiktok": 1}

    audience = wh.read_frame(
        "SELECT track_uuid, platform, audience_date, daily_value "
        "FROM analytics.track_audience_daily"
    )
    points = wh.read_frame(
        "SELECT track_uuid, platform, date, value FROM soundcharts.track_audience"
    )
    summed = points.groupby(["track_uuid", "platform", "date"]).value.sum().reset_index()
    summed = summed.sort_values(["track_uuid", "platform", "date"])
    summed["delta"] = summed.groupby(["track_uuid", "platform"]).value.diff()
    assert len(audience) == len(summed)
    merged = audience.merge(
        summed,
        left_on=["track_uuid", "platform", "audience_date"],
        right_on=["track_uuid", "platform", "date"],
    )
    assert len(merged) == len(summed)
    both = merged.dropna(subset=["delta"])
    assert (both.daily_value.astype("int64") == both.delta.astype("int64")).all()
    assert merged.daily_value.isna().sum() == summed.delta.isna().sum()

    _assert_history_marts_match_raw(wh)


def _change_metadata(client, wh, track: str, monkeypatch) -> tuple[str, str]:
    """The API starts crediting ``track`` to another primary artist, of another root genre (its
    old primary artist stays credited); the track is refetched as the tracks, artists and
    genres assets do once its metadata is 30 days old. Returns (new artist, new root genre)."""
    world = client.simulator.world
    i = world.song_index[track]
    old = world.song_artists(i)
    root = world.song_genres(i)[0]["root"]
    artist = next(
        a
        for a in range(world.n_artists)
        if a not in old and world.artist_genres(a)[0]["root"] != root
    )
    credits = world.song_artists
    monkeypatch.setattr(world, "song_artists", lambda k: [artist, old[0]] if k == i else credits(k))
    sync_tracks(client, wh, [track], max_age=dt.timedelta(0))
    linked = artists_of_tracks(wh, [track])
    sync_artists(client, wh, linked)
    derive_genres(wh, [track], linked)
    return world.artist_uuid(artist), world.artist_genres(artist)[0]["root"]


def _incremental_models() -> set[str]:
    manifest = json.loads(dbt_project.manifest_path.read_text())
    return {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
    }


def test_incremental_run_equals_full_refresh(filled, pipeline, tmp_path, monkeypatch):
    """Every incremental model, after a new day, a backfill of dates older than the last build
    and a track whose artists and genre change after it first charted, equals its full refresh;
    the history-wide marts equal numbers computed from the raw tables."""
    wh, instance, _, today = filled
    client = pipeline["soundcharts"].get()
    _sync(pipeline, instance, "top-50-fr", today, today)  # a new day: new tracks, new audience
    _build(pipeline, instance, tmp_path, monkeypatch)
    # a ranking backfilled before the stored ones changes the movement of those after it
    _sync(
        pipeline, instance, "top-50-fr", today - dt.timedelta(days=6), today - dt.timedelta(days=5)
    )
    _build(pipeline, instance, tmp_path, monkeypatch)
    # the number-one track of the first synced day gets another primary artist and genre
    first_day = today - dt.timedelta(days=3)
    track = wh.scalar(
        "SELECT song_uuid FROM soundcharts.chart_ranking_entries "
        "WHERE chart_slug = 'top-50-fr' AND ranking_date = :d AND position = 1",
        {"d": first_day},
    )
    genres_before = wh.read_frame("SELECT * FROM analytics.genre_popularity")
    artist, root = _change_metadata(client, wh, track, monkeypatch)
    _build(pipeline, instance, tmp_path, monkeypatch)

    # the change reached the marts that aggregate history by artist and by genre
    chart_days = wh.scalar(
        "SELECT max(chart_days) FROM analytics.artist_analytics WHERE artist_uuid = :a",
        {"a": artist},
    )
    assert chart_days >= 1
    entries = wh.scalar(
        "SELECT sum(chart_entries) FROM analytics.genre_popularity "
        "WHERE ranking_date = :d AND root_genre = :r",
        {"d": first_day, "r": root},
    )
    assert entries >= 1
    genres_after = wh.read_frame("SELECT * FROM analytics.genre_popularity")
    assert not genres_after.drop(columns="loaded_before").equals(
        genres_before.drop(columns="loaded_before")
    )
    _assert_history_marts_match_raw(wh)

    incremental = _assert_incremental_equals_full_refresh(wh, tmp_path)
    assert len(incremental["int_ranking_movements"]) == 6 * 50 + 50  # every stored entry


def _snapshot(wh, models) -> dict[str, pd.DataFrame]:
    out = {}
    for name in sorted(models):
        frame = wh.read_frame(f"SELECT * FROM analytics.{name}").drop(columns=["loaded_before"])
        columns = list(frame.columns)
        out[name] = frame.sort_values(columns, na_position="last").reset_index(drop=True)
    return out


def _assert_incremental_equals_full_refresh(wh, tmp_path) -> dict[str, pd.DataFrame]:
    """Every incremental model of the manifest, as the builds so far left it, equals its full
    refresh over the same data (loaded_before aside); returns the incremental rows."""
    models = _incremental_models()
    assert models == INCREMENTAL_MODELS
    incremental = _snapshot(wh, models)
    invocation = _dbt(wh, tmp_path, "build", "--full-refresh", "--select", " ".join(models))
    assert invocation.is_successful()
    full = _snapshot(wh, models)
    for name in models:
        assert len(full[name]) > 0, name
        pd.testing.assert_frame_equal(incremental[name], full[name], obj=name)
    return incremental


def test_volume_warehouse_refresh_equals_full_build(warehouse, tmp_path):
    """The bench's generated warehouse (benchmarks/volume.py, one scale unit over 60 days): a
    day of syncs with a backfilled date, then a hit whose genre and artists change. The
    history-wide marts equal numbers from the raw tables; every incremental model equals its
    full refresh."""
    from benchmarks.volume import World

    world = World(scale=1, days=60, end=utcnow().date() - dt.timedelta(days=3), holes=1)
    filled = world.fill(warehouse)
    stored = warehouse.scalar("SELECT count(*) FROM soundcharts.chart_ranking_entries")
    assert filled["ranking_entries"] == stored == filled["rankings"] * 50 > 0
    assert _dbt(warehouse, tmp_path, "build").is_successful()
    ((slug, missed),) = world.holes  # a date the fill left out, older than the last build

    def missed_entries() -> int:
        return warehouse.scalar(
            "SELECT count(*) FROM soundcharts.chart_ranking_entries "
            "WHERE chart_slug = :s AND ranking_date = :d",
            {"s": slug, "d": missed},
        )

    assert missed_entries() == 0
    world.land_day(warehouse, world.end + dt.timedelta(days=1), backfill=world.holes)
    assert missed_entries() == 50
    world.change_metadata(warehouse)
    assert _dbt(warehouse, tmp_path, "build").is_successful()
    _assert_history_marts_match_raw(warehouse)
    _assert_incremental_equals_full_refresh(warehouse, tmp_path)


#: Views: the staging models and the ranking entries.
VIEWS = {
    *(
        f"stg_{name}"
        for name in (
            "artist_audience",
            "artist_genres",
            "artist_streaming",
            "artists",
            "chart_ranking_entries",
            "chart_rankings",
            "chart_subscriptions",
            "chart_sync_log",
            "charts",
            "genres",
            "track_artists",
            "track_audience",
            "track_genres",
            "tracks",
            "albums",
            "track_albums",
            "watchlist",
            "artist_catalogue",
        )
    ),
    "int_ranking_entries",
    "album_performance",
    "catalogue_songs",
}


def _view_identities(wh) -> dict[str, int]:
    """{view: its catalog id} on PostgreSQL, where a replaced view gets a new one (DuckDB
    numbers its catalog anew each time a database is opened)."""
    frame = wh.read_frame(
        "SELECT c.relname AS name, c.oid::bigint AS id FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'analytics' AND c.relkind = 'v'"
    )
    return dict(zip(frame.name, frame.id.astype(int), strict=True))


def _messages(invocation) -> dict[str, str]:
    results = invocation.get_artifact("run_results.json")["results"]
    return {r["unique_id"].split(".")[-1]: r["message"] for r in results}


def test_views_are_replaced_only_when_their_sql_changes(filled, tmp_path):
    """A build leaves a view whose SQL is unchanged in place (no DDL); a changed SQL, a view
    that is missing or made without the checksum, and a full refresh replace it. Views that
    read a replaced one keep working (PostgreSQL drops them with it; the build recreates them)."""
    import shutil

    from dagster_dbt import DbtCliResource

    from musiccharts_pipeline.dbt.environment import DBT_EXECUTABLE

    wh, *_ = filled
    postgres = wh.backend == "postgresql"
    views = "config.materialized:view"

    def replaced(invocation) -> set[str]:
        assert invocation.is_successful()
        messages = _messages(invocation)
        assert set(messages) == VIEWS
        return {name for name, message in messages.items() if message != "unchanged"}

    before = _view_identities(wh) if postgres else {}
    assert replaced(_dbt(wh, tmp_path, "run", "--select", views)) == set()
    if postgres:
        assert _view_identities(wh) == before

    wh.execute("COMMENT ON VIEW analytics.stg_genres IS NULL")  # as dbt's own view leaves it
    wh.execute("DROP VIEW analytics.stg_artist_streaming")
    rebuilt = _dbt(wh, tmp_path, "run", "--select", views)
    assert replaced(rebuilt) == {"stg_genres", "stg_artist_streaming"}
    if postgres:
        after = _view_identities(wh)
        assert {n for n in before if after[n] != before[n]} == {
            "stg_genres",
            "stg_artist_streaming",
        }

    # the same project with one staging view's SQL edited
    project = tmp_path / "project"
    shutil.copytree(
        dbt_project.project_dir, project, ignore=shutil.ignore_patterns("target", "logs")
    )
    model = project / "models" / "staging" / "stg_tracks.sql"
    model.write_text(model.read_text() + "\n-- edited\n")
    edited = DbtCliResource(project_dir=str(project), dbt_executable=DBT_EXECUTABLE)
    changed = invoke(["run", "--select", views], wh.url, edited, raise_on_error=False).wait()
    # PostgreSQL drops the views that read the replaced one (int_ranking_entries and
    # catalogue_songs read
    # stg_tracks) with it: they are made again
    dependents = {"int_ranking_entries", "catalogue_songs"} if postgres else set()
    assert replaced(changed) == {"stg_tracks"} | dependents
    assert wh.scalar("SELECT count(*) FROM analytics.int_ranking_entries") > 0

    full = _dbt(wh, tmp_path, "run", "--select", views, "--full-refresh")
    assert replaced(full) == VIEWS
    if postgres:
        assert set(_view_identities(wh).values()).isdisjoint(after.values())


def test_views_in_place_are_known_from_the_manifest_and_the_catalog(filled, tmp_path):
    """views.py computes the code key view.sql stores, so after a build every view is known to
    be in place without dbt; a view that is missing, stored without the key, whose SQL, macros or
    hooks changed, or that reads a view not in place or a table a build swaps, is not. A build
    that leaves them out replaces none of them."""
    import copy
    import shutil

    from musiccharts_pipeline.dbt.views import load_manifest, views_in_place
    from musiccharts_pipeline.warehouse import Warehouse

    wh, *_ = filled
    postgres = wh.backend == "postgresql"
    manifest = load_manifest(dbt_project.manifest_path)

    def in_place(manifest=manifest, wh=wh) -> set[str]:
        return {manifest["nodes"][uid]["name"] for uid in views_in_place(manifest, wh)}

    assert in_place() == VIEWS
    before = _view_identities(wh) if postgres else {}
    left_out = _dbt(
        wh, tmp_path, "build", "--indirect-selection", "empty", "--exclude", " ".join(VIEWS)
    )
    assert left_out.is_successful()
    ran = {
        r["unique_id"].split(".")[2] for r in left_out.get_artifact("run_results.json")["results"]
    }
    assert ran.isdisjoint(VIEWS) and {"int_ranking_movements", "top_tracks"} <= ran
    assert {"accepted_values_stg_genres_genre_level__False__0__1"} <= ran  # the views' tests
    assert in_place() == VIEWS
    if postgres:  # an incremental build replaced nothing that the views read
        assert _view_identities(wh) == before

    edited = copy.deepcopy(manifest)
    nodes = {node["name"]: node for node in edited["nodes"].values()}
    nodes["stg_charts"]["checksum"]["checksum"] = "0" * 64  # its file changed
    nodes["stg_genres"]["raw_code"] += "\n-- {{ var('anything') }}"
    nodes["stg_track_audience"]["config"]["post-hook"] = [{"sql": "select 1"}]
    nodes["stg_artist_genres"]["depends_on"]["macros"] = ["macro.musiccharts.any"]
    # int_ranking_entries reads stg_charts
    assert VIEWS - in_place(edited) == {
        "stg_charts",
        "stg_genres",
        "stg_track_audience",
        "stg_artist_genres",
        "int_ranking_entries",
    }
    for config in ({"materialized": "table"}, {"full_refresh": True}):  # rebuilt whole
        edited = copy.deepcopy(manifest)
        nodes = {node["name"]: node for node in edited["nodes"].values()}
        nodes["int_ranking_movements"]["config"].update(config)
        assert VIEWS - in_place(edited) == {"int_ranking_entries"}

    if not postgres:  # DuckDB keeps the catalog's name in a view's SQL: a copy needs new views
        wh.execute("CHECKPOINT")
        other = tmp_path / "copied.duckdb"
        shutil.copy(wh.engine.url.database, other)
        copied = Warehouse(f"duckdb:///{other}")
        assert in_place(wh=copied) == set()
        copied.engine.dispose()

    wh.execute("COMMENT ON VIEW analytics.stg_tracks IS NULL")  # as dbt's own view leaves it
    wh.execute("DROP VIEW analytics.stg_artist_streaming")
    # int_ranking_entries and catalogue_songs read stg_tracks
    assert VIEWS - in_place() == {
        "stg_tracks",
        "stg_artist_streaming",
        "int_ranking_entries",
        "catalogue_songs",
    }
    assert _dbt(wh, tmp_path, "run", "--select", "config.materialized:view").is_successful()
    assert in_place() == VIEWS


def test_a_project_file_newer_than_the_manifest_is_found(tmp_path):
    """The sensor leaves no view out while a model, macro or dbt_project.yml is newer than the
    manifest (its checksums would be the old files')."""
    import os
    import shutil

    from musiccharts_pipeline.dbt.views import edited_since

    project = tmp_path / "project"
    shutil.copytree(dbt_project.project_dir, project, ignore=shutil.ignore_patterns("target"))
    manifest = project / "target" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text("{}")
    parsed = manifest.stat().st_mtime
    for path in project.rglob("*"):
        os.utime(path, (parsed - 60, parsed - 60))
    assert edited_since(manifest, project) == []
    model = project / "models" / "staging" / "stg_tracks.sql"
    os.utime(model, (parsed + 1, parsed + 1))
    assert edited_since(manifest, project) == [model]


KEY_INDEX = (
    "SELECT count(*) FROM pg_indexes WHERE schemaname = 'analytics' "
    "AND tablename = 'int_ranking_movements' AND indexdef LIKE 'CREATE UNIQUE INDEX %' "
    "AND indexdef LIKE '%(chart_slug, ranking_date, \"position\")'"
)


def test_large_tests_check_the_latest_load_and_every_row_in_ci(filled, tmp_path):
    """A build's tests on the large incremental models read the rows of the latest load; with
    all_tests (the CI suite, here) they read every row, and the keys' tests run too. The build
    itself enforces each key: on PostgreSQL a unique index refuses a duplicate when written (and
    a build restores a missing index, or fails naming the key); on DuckDB the build fails on a
    duplicate in its latest load."""
    import sqlalchemy as sa

    wh, *_ = filled
    postgres = wh.backend == "postgresql"
    full_history = ("--vars", "{all_tests: true}")
    assert _dbt(wh, tmp_path, "test", *full_history).is_successful()
    # a wrong row that an earlier build would have left, stamped long ago: a duplicate entry
    # with a time-on-chart unit the API does not use
    columns = list(
        wh.read_frame(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "'analytics' AND table_name = 'int_ranking_movements' ORDER BY ordinal_position"
        ).column_name
    )
    wrong = {"loaded_before": "cast('2000-01-01' AS timestamp)", "time_on_chart_unit": "'BAD'"}
    # the first entry of the daily chart's first date (the weekly chart's newest date may be
    # older: the date is the daily chart's own, whatever day the suite runs)
    first_entry = (
        "FROM analytics.int_ranking_movements WHERE chart_slug = 'top-50-fr' AND position = 1 "
        "AND ranking_date = (SELECT min(ranking_date) FROM analytics.int_ranking_movements "
        "WHERE chart_slug = 'top-50-fr')"
    )
    assert wh.scalar(f"SELECT count(*) {first_entry}") == 1
    duplicate = (
        f"INSERT INTO analytics.int_ranking_movements ({', '.join(columns)}) "
        f"SELECT {', '.join(wrong.get(c, c) for c in columns)} {first_entry}"
    )
    if postgres:
        assert wh.scalar(KEY_INDEX) == 1
        with pytest.raises(sa.exc.IntegrityError, match="duplicate key value"):
            wh.execute(duplicate)
        # a warehouse built before the index existed: nothing refuses the duplicate
        name = wh.scalar(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'analytics' "
            "AND tablename = 'int_ranking_movements' AND indexdef LIKE 'CREATE UNIQUE INDEX %'"
        )
        wh.execute(f'DROP INDEX analytics."{name}"')
    wh.execute(duplicate)
    selected = ("--select", "int_ranking_movements int_ranking_entries")
    unit_test = "accepted_values_int_ranking_movements_time_on_chart_unit__DOC__WOC"
    windowed = _dbt(wh, tmp_path, "test", *selected)
    assert windowed.is_successful()
    assert _failed_tests(windowed) == {}
    every_row = _dbt(wh, tmp_path, "test", *selected, *full_history)
    assert not every_row.is_successful()
    assert _failed_tests(every_row) == {
        "unique_combination_int_ranking_movements_chart_slug__ranking_date__position": 1,
        "unique_combination_int_ranking_entries_chart_slug__ranking_date__position": 1,
        unit_test: 1,
    }
    # the same wrong row, as if the latest build had written it: the build's own test sees it
    wh.execute(
        "UPDATE analytics.int_ranking_movements SET loaded_before = "
        "(SELECT max(loaded_before) FROM analytics.int_ranking_movements) "
        "WHERE time_on_chart_unit = 'BAD'"
    )
    assert _failed_tests(_dbt(wh, tmp_path, "test", *selected)) == {unit_test: 1}

    # the next build of the model refuses the duplicate
    refused = _dbt(wh, tmp_path, "run", "--select", "int_ranking_movements")
    assert not refused.is_successful()
    (result,) = refused.get_artifact("run_results.json")["results"]
    if postgres:  # restoring the index fails while the duplicate is stored
        assert "could not create unique index" in result["message"]
        assert '(chart_slug, ranking_date, "position")' in result["message"]
    else:  # DuckDB checks the rows of the latest load
        assert (
            "int_ranking_movements: duplicate key (chart_slug, ranking_date, position) in the "
            "latest load: (top-50-fr, "
        ) in result["message"]
    wh.execute("DELETE FROM analytics.int_ranking_movements WHERE time_on_chart_unit = 'BAD'")
    assert _dbt(wh, tmp_path, "run", "--select", "int_ranking_movements").is_successful()
    if postgres:
        assert wh.scalar(KEY_INDEX) == 1


def test_a_duplicate_key_with_a_null_fails_the_build_that_wrote_it(filled, tmp_path):
    """genre_popularity's key has a nullable column (sub_genre), so no unique index holds it:
    its build checks the rows of its latest load instead, nulls counting as equal."""
    wh, *_ = filled
    wh.execute(
        "INSERT INTO analytics.genre_popularity SELECT * FROM ("
        "SELECT * FROM analytics.genre_popularity WHERE sub_genre IS NULL "
        "AND loaded_before = (SELECT max(loaded_before) FROM analytics.genre_popularity) "
        "LIMIT 1) AS d"
    )
    refused = _dbt(wh, tmp_path, "run", "--select", "genre_popularity")
    assert not refused.is_successful()
    (result,) = refused.get_artifact("run_results.json")["results"]
    assert (
        "genre_popularity: duplicate key (ranking_date, root_genre, sub_genre) in the latest load"
        in result["message"]
    )


def test_dashboard_renders_offline_with_charts_drawn(filled, tmp_path):
    from PIL import ImageStat

    page = tmp_path / "dashboard.html"
    text = page.read_text()
    assert "http://" not in text and "https://" not in text and "<script" not in text
    for chart in ("rankings_fetched", "top_platforms", "genres"):
        assert f'data-chart="{chart}"' in text
    assert "top-50-fr" in text and "tiktok-top-50-weekly" in text
    profile = tmp_path / "profile"
    dom = browser.dump_dom(page.as_uri(), profile)
    assert dom.count("<polyline") >= 1 and dom.count("<rect") >= 3
    image = browser.screenshot(page.as_uri(), tmp_path / "dashboard.png", profile)
    assert image.size == (1400, 1400)
    colors = image.getcolors(maxcolors=1_000_000)
    assert len(colors) > 50  # text, bars and the area chart, not a blank page
    assert max(ImageStat.Stat(image).stddev) > 20
    blue = sum(n for n, (r, g, b) in colors if b > 180 and r < 120)  # the chart's #2563eb
    assert blue > 500


def test_a_subscribed_chart_never_synced_is_unhealthy(filled, pipeline, tmp_path, monkeypatch):
    from musiccharts_pipeline.sync import subscriptions

    wh, instance, _, _ = filled
    subscriptions.add(wh, pipeline["soundcharts"].get(), "apple-music-monthly-global")
    _build(pipeline, instance, tmp_path, monkeypatch)
    health = wh.read_frame("SELECT * FROM analytics.chart_health").set_index("chart_slug")
    never = health.loc["apple-music-monthly-global"]
    assert never.sync_state == "never synced"
    assert bool(never.is_overdue) and not bool(never.is_active)
    assert set(health.index) == {"top-50-fr", "tiktok-top-50-weekly", "apple-music-monthly-global"}
    healthy = int(health.is_active.astype(bool).sum())
    assert float(health.health_pct.iloc[0]) == round(100.0 * healthy / 3, 1) < 100
    page = (tmp_path / "dashboard.html").read_text()
    assert "never synced" in page


def test_every_model_and_source_has_a_description():
    """The catalog shows a model's description, else its raw SQL."""
    import glob
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parent.parent / "dbt_project" / "models"
    described, sources = {}, {}
    for path in glob.glob(str(root / "*" / "*.yml")):
        spec = yaml.safe_load(Path(path).read_text())
        described.update({m["name"]: m.get("description") for m in spec.get("models", [])})
        for source in spec.get("sources", []):
            sources.update({t["name"]: t.get("description") for t in source["tables"]})
    models = {Path(p).stem for p in glob.glob(str(root / "*" / "*.sql"))}
    assert sorted(m for m in models if not described.get(m)) == []
    assert sorted(t for t, d in sources.items() if not d) == []


def test_album_performance_matches_the_raw_tables(filled, pipeline):
    """A view: albums synced after the build are in it at once, with their tracks' entries."""
    from musiccharts_pipeline.sync.albums import sync_albums, tracks_with_metadata

    wh, _, _, _ = filled
    sync_albums(pipeline["soundcharts"].get(), wh, tracks_with_metadata(wh))
    got = wh.read_frame("SELECT * FROM analytics.album_performance").set_index("album_uuid")
    links = wh.read_frame("SELECT track_uuid, album_uuid FROM soundcharts.track_albums")
    entries = wh.read_frame(
        "SELECT chart_slug, position, song_uuid AS track_uuid "
        "FROM soundcharts.chart_ranking_entries"
    )
    joined = links.merge(entries, on="track_uuid")
    want = joined.groupby("album_uuid").agg(
        chart_entries=("position", "size"),
        charts=("chart_slug", "nunique"),
        best_position=("position", "min"),
    )
    assert len(got) == int(wh.scalar("SELECT count(*) FROM soundcharts.albums")) > 0
    charted = got.loc[want.index]
    assert (charted.chart_entries.astype(int) == want.chart_entries).all()
    assert (charted.charts.astype(int) == want.charts).all()
    assert (charted.best_position.astype(int) == want.best_position).all()
    never = got.drop(want.index)
    assert (never.chart_entries.astype(int) == 0).all()
    tracks_stored = links.groupby("album_uuid").size()
    assert (got.tracks_stored.astype(int) == tracks_stored.reindex(got.index).fillna(0)).all()


def test_the_catalogue_mart_and_its_dashboard_section(filled, pipeline):
    """Watched songs (one charting) through the watchlist run; the view shows them at once."""
    from musiccharts_pipeline.assets.watchlist import WATCHLIST_ASSETS
    from musiccharts_pipeline.dashboard.render import load_marts, render
    from musiccharts_pipeline.sync import watchlist

    wh, instance, _, _ = filled
    world = pipeline["soundcharts"].get().simulator.world
    assert "Nothing watched yet" in render(load_marts(wh))
    charting = wh.scalar(
        "SELECT song_uuid FROM soundcharts.chart_ranking_entries ORDER BY position LIMIT 1"
    )
    artist = world.artist_uuid(world.song_artists(5)[0])
    watchlist.add(
        wh,
        [watchlist.Entry("song", charting), watchlist.Entry("artist", artist)],
        "cli",
    )
    result = dg.materialize(WATCHLIST_ASSETS, resources=pipeline, instance=instance)
    assert result.success
    songs = wh.read_frame("SELECT * FROM analytics.catalogue_songs").set_index("track_uuid")
    assert set(songs.index) == set(watchlist.watched_songs(wh))
    entries = wh.read_frame(
        "SELECT position FROM soundcharts.chart_ranking_entries WHERE song_uuid = :s",
        {"s": charting},
    )
    assert int(songs.loc[charting, "chart_entries"]) == len(entries)
    assert int(songs.loc[charting, "best_position"]) == int(entries.position.min())
    page = render(load_marts(wh))
    assert 'data-table="catalogue_growth"' in page and 'data-table="catalogue_charted"' in page
