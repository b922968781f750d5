"""dbt on both targets over a warehouse filled by the real assets; marts checked against numbers
computed here from the raw tables; incremental runs equal a full refresh."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pandas as pd
import pytest

from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.dashboard import dashboard
from musiccharts_pipeline.dbt import dbt_cli, dbt_project, musiccharts_dbt
from musiccharts_pipeline.dbt.environment import apply_dbt_env
from musiccharts_pipeline_tests import browser


def _sync(pipeline, instance, slug, start, end):
    assert materialize_chart(pipeline, instance, slug, start, end).success


def _build(pipeline, instance, tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICCHARTS_DASHBOARD_PATH", str(tmp_path / "dashboard.html"))
    target = dbt_project.project_dir / dbt_project.target_path
    before = set(target.iterdir())
    result = dg.materialize(
        [musiccharts_dbt, dashboard],
        instance=instance,
        raise_on_error=False,
        resources={**pipeline, "dbt": dbt_cli},
    )
    assert result.success
    assert set(target.iterdir()) == before  # the run's dbt artifacts leave with the run
    return result


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
    assert len(checks) >= 30
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
    moves = {"new": 0, "re-entry": 0, "up": 0, "down": 0, "same": 0}
    for song, pos in now[["song_uuid", "position"]].values:
        old = before.get(song)
        kind = (
            ("re-entry" if song in seen else "new")
            if old is None
            else ("up" if old > pos else "down" if old < pos else "same")
        )
        moves[kind] += 1
    first = latest.iloc[0]
    assert (
        first.new_entries,
        first.re_entries,
        first.moving_up,
        first.moving_down,
        first.unchanged,
    ) == (moves["new"], moves["re-entry"], moves["up"], moves["down"], moves["same"])
    assert latest.movement.value_counts().to_dict() == {k: v for k, v in moves.items() if v}

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


def test_incremental_run_equals_full_refresh(filled, pipeline, tmp_path, monkeypatch):
    wh, instance, _, today = filled
    _sync(pipeline, instance, "top-50-fr", today, today)  # a new day: new tracks, new audience
    _build(pipeline, instance, tmp_path, monkeypatch)
    # a ranking backfilled before the stored ones changes the movement of those after it
    _sync(
        pipeline, instance, "top-50-fr", today - dt.timedelta(days=6), today - dt.timedelta(days=5)
    )
    _build(pipeline, instance, tmp_path, monkeypatch)
    marts = ("int_ranking_movements", "track_audience_daily", "artist_audience_daily")

    def snapshot():
        out = {}
        for name in marts:
            frame = wh.read_frame(f"SELECT * FROM analytics.{name}").drop(columns=["loaded_before"])
            out[name] = frame.sort_values(list(frame.columns[:3])).reset_index(drop=True)
        assert len(out["int_ranking_movements"]) == 6 * 50 + 50  # every stored ranking entry
        return out

    incremental = snapshot()
    apply_dbt_env(wh.url)
    dbt_cli.cli(
        ["build", "--full-refresh", "--select", " ".join(marts)],
        raise_on_error=True,
        target_path=tmp_path / "dbt-target",
    ).wait()
    full = snapshot()
    for name in marts:
        assert len(full[name]) > 0
        pd.testing.assert_frame_equal(incremental[name], full[name], obj=name)


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
