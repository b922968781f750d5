"""The simulator's world: deterministic, and its rankings are internally consistent."""

from __future__ import annotations

import datetime as dt

import pytest

from musiccharts_pipeline.soundcharts import platforms
from musiccharts_pipeline.soundcharts.simulator import World, catalogue, parse_faults
from musiccharts_pipeline.sync.audience import DEFAULT_PRIORITY_PLATFORMS

TODAY = dt.date(2026, 6, 1)


def test_same_seed_same_world_other_seed_other_world():
    a, b, c = World(seed=1, today=TODAY), World(seed=1, today=TODAY), World(seed=2, today=TODAY)
    chart = a.charts["global-28"]
    assert a.ranking(chart, TODAY).songs == b.ranking(chart, TODAY).songs
    assert a.song_object(10) == b.song_object(10)
    assert a.song_audience(10, "spotify", TODAY - dt.timedelta(days=5), TODAY) == b.song_audience(
        10, "spotify", TODAY - dt.timedelta(days=5), TODAY
    )
    assert a.ranking(chart, TODAY).songs != c.ranking(chart, TODAY).songs
    assert a.song_uuid(10) != c.song_uuid(10)


def test_catalogue_shape():
    world = World(seed=7, today=TODAY)
    assert len(world.charts) >= 60
    assert len({c.country_code for c in world.charts.values()} - {None}) >= 12
    assert {c.frequency for c in world.charts.values()} == {"daily", "weekly", "monthly"}
    assert len({c.platform for c in world.charts.values()}) >= 5
    assert world.start <= TODAY - dt.timedelta(days=730)
    assert world.n_songs >= 2000 and world.n_artists >= 1000


@pytest.mark.parametrize(
    "slug", ["global-28", "top-50-fr", "weekly-top-200-global", "apple-music-monthly-global"]
)
def test_rankings_are_consistent_over_time(slug):
    world = World(seed=7, today=TODAY)
    chart = world.charts[slug]
    dates = world.chart_dates(chart)[-30:]
    previous = None
    churn = []
    for date in dates:
        r = world.ranking(chart, date)
        n = len(r.songs)
        assert n == chart.size and len(set(r.songs)) == n  # positions 1..n, one song each
        if previous is not None:
            prev_pos = {s: k + 1 for k, s in enumerate(previous.songs)}
            prev_toc = dict(zip(previous.songs, previous.times_on_chart, strict=True))
            for k, song in enumerate(r.songs):
                assert r.old_positions[k] == prev_pos.get(song)
                if song in prev_pos:
                    assert r.entry_states[k] == ""
                    assert r.times_on_chart[k] == prev_toc[song] + 1
                else:
                    assert r.entry_states[k] in ("NEW", "RE_ENTRY")
                if r.entry_states[k] == "NEW":
                    assert r.times_on_chart[k] == 1 and r.entry_dates[k] == date
            churn.append(len(set(r.songs) - set(previous.songs)) / n)
        previous = r
    # realistic churn: something moves, most of the chart stays
    assert 0 < sum(churn) / len(churn) < 0.35


def test_weekly_and_monthly_publication_dates():
    world = World(seed=7, today=TODAY)
    weekly = world.chart_dates(world.charts["weekly-top-200-global"])
    assert all(d.weekday() == 4 for d in weekly)
    assert all((b - a).days == 7 for a, b in zip(weekly, weekly[1:], strict=False))
    monthly = world.chart_dates(world.charts["apple-music-monthly-global"])
    assert all(d.day == 1 for d in monthly) and monthly[-1] == dt.date(2026, 6, 1)
    assert world.ranking(world.charts["weekly-top-200-global"], dt.date(2026, 5, 31)) is None


def test_cumulative_series_never_decrease():
    world = World(seed=7, today=TODAY)
    points = world.song_audience(3, "spotify", TODAY - dt.timedelta(days=60), TODAY)
    for ident in world.song_identifiers(3)["spotify"]:
        values = [
            p["value"] for q in reversed(points) for p in q["plots"] if p["identifier"] == ident
        ]
        assert values == sorted(values)
    followers = world.artist_followers(5, "spotify", TODAY - dt.timedelta(days=60), TODAY)
    counts = [p["followerCount"] for p in followers]
    assert counts == sorted(counts)


def test_fault_spec_parsing():
    assert parse_faults("rate_limit=0.1, server_error=0.05") == {
        "rate_limit": 0.1,
        "server_error": 0.05,
    }
    with pytest.raises(ValueError, match="unknown fault kind"):
        parse_faults("meteor=1")


def test_the_simulator_serves_a_subset_of_each_api_platform_set():
    """The API's sets (soundcharts.platforms) are the one definition: the simulator serves no
    platform the API does not, and every default priority platform the API serves."""
    for served, api in [
        (catalogue.SONG_AUDIENCE_PLATFORMS, platforms.SONG_AUDIENCE_PLATFORMS),
        (catalogue.SOCIAL_PLATFORMS, platforms.SOCIAL_PLATFORMS),
        (catalogue.STREAMING_PLATFORMS, platforms.STREAMING_PLATFORMS),
    ]:
        assert set(served) <= api
        assert set(served) <= set(catalogue.PLATFORMS)
        assert api & set(DEFAULT_PRIORITY_PLATFORMS) <= set(served)


def test_on_the_clock_a_ranking_is_listed_from_its_publication_time_and_corrections_replace_it():
    from musiccharts_pipeline import clock
    from musiccharts_pipeline.soundcharts.simulator import Simulator, schedule

    sim = Simulator(seed=7, today=TODAY, publish_on_clock=True)
    chart = sim.world.charts["global-28"]
    day = TODAY - dt.timedelta(days=40)
    pub = sim.world.publication(chart, day)
    assert pub.published_at.date() == day
    hours = {schedule.chart_hour(7, slug) for slug in sim.world.charts}
    assert len(hours) > 5  # charts publish at their own hours
    with clock.simulated(pub.published_at - dt.timedelta(minutes=1)):
        assert day not in [d for d, _ in sim.world.listed(chart)]
        assert sim.world.listed(chart)[0][0] == day - dt.timedelta(days=1)
        assert sim.world.published_ranking(chart, day) is None
        assert sim.world.horizon() == day
    with clock.simulated(pub.published_at):
        assert sim.world.listed(chart)[0] == (day, f"{day}T12:00:00+00:00")
    # somewhere in a year a chart republishes a corrected ranking, listed at its correction time
    fixed = next(
        d
        for d in sim.world.chart_dates(chart)[-365:]
        if sim.world.publication(chart, d).corrected_at is not None
    )
    fix = sim.world.publication(chart, fixed)
    original = sim.world.ranking(chart, fixed)
    with clock.simulated(fix.corrected_at):
        listed = dict(sim.world.listed(chart))
        ranking, stamp = sim.world.published_ranking(chart, fixed)
    assert listed[fixed] == stamp == f"{fixed}T{fix.corrected_at:%H:%M}:01+00:00"
    assert sorted(ranking.songs) == sorted(original.songs) and ranking.songs != original.songs


def test_publication_schedule_has_late_rankings_and_jitter_within_the_hour():
    from musiccharts_pipeline.soundcharts.simulator import schedule

    days = [TODAY - dt.timedelta(days=k) for k in range(400)]
    pubs = [schedule.publication(7, "top-50-fr", d) for d in days]
    hour = schedule.chart_hour(7, "top-50-fr")
    minutes = [
        (p.published_at - dt.datetime.combine(p.date, dt.time(hour))).seconds // 60 for p in pubs
    ]
    on_time = [m for m in minutes if m < 60]
    assert len(set(on_time)) > 30  # jitter over the hour
    late = len(pubs) - len(on_time)
    assert 5 <= late <= 40  # about one in 20 is hours late
