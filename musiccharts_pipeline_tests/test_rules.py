"""Pure functions: freshness, windows, due dates, genre hierarchy, partition keys."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from musiccharts_pipeline.partitions import chart_day_key, split_key
from musiccharts_pipeline.soundcharts import models as m
from musiccharts_pipeline.sync import rules
from musiccharts_pipeline.sync.batching import fetch_concurrently
from musiccharts_pipeline.sync.genres import genre_rows

TODAY = dt.date(2026, 6, 15)
NOW = dt.datetime(2026, 6, 15, 12, 0)


def test_staleness_boundaries():
    assert rules.is_stale(None, NOW, rules.METADATA_MAX_AGE)
    assert not rules.is_stale(NOW - dt.timedelta(days=29), NOW, rules.METADATA_MAX_AGE)
    assert rules.is_stale(NOW - dt.timedelta(days=31), NOW, rules.METADATA_MAX_AGE)
    aware = dt.datetime(2026, 6, 8, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert not rules.is_stale(aware, NOW, rules.AUDIENCE_MAX_AGE)  # 12:00 UTC: exactly 7 days
    assert rules.is_stale(aware - dt.timedelta(seconds=1), NOW, rules.AUDIENCE_MAX_AGE)


def test_audience_window_fetches_only_missing_dates():
    assert rules.audience_window(None, TODAY) == (TODAY - dt.timedelta(days=89), TODAY)
    assert rules.audience_window(TODAY - dt.timedelta(days=3), TODAY) == (
        TODAY - dt.timedelta(days=2),
        TODAY,
    )
    assert rules.audience_window(TODAY, TODAY) is None


def test_due_dates_and_history_range():
    available = [TODAY - dt.timedelta(days=k) for k in range(400)]
    stored = {TODAY - dt.timedelta(days=1), TODAY - dt.timedelta(days=200)}
    first = dt.date(2025, 1, 1)
    due = rules.due_dates(available, stored, TODAY, first)
    assert due == [TODAY - dt.timedelta(days=k) for k in (7, 6, 5, 4, 3, 2, 0)]
    assert rules.history_range(available, stored, TODAY, first) == (
        TODAY - dt.timedelta(days=365),
        TODAY,
    )
    assert rules.history_range(available, stored, TODAY, dt.date(2026, 6, 1)) == (
        dt.date(2026, 6, 1),
        TODAY,
    )
    assert rules.history_range([TODAY], {TODAY}, TODAY, first) is None


def test_overdue_and_check_interval_per_frequency():
    assert rules.overdue("daily", None, TODAY)
    assert not rules.overdue("daily", TODAY - dt.timedelta(days=3), TODAY)
    assert rules.overdue("daily", TODAY - dt.timedelta(days=4), TODAY)
    assert not rules.overdue("weekly", TODAY - dt.timedelta(days=9), TODAY)
    assert rules.overdue("weekly", TODAY - dt.timedelta(days=10), TODAY)
    assert rules.check_interval("custom", 6) == dt.timedelta(hours=6)
    assert rules.check_interval("custom", None) == dt.timedelta(hours=24)


def test_genre_hierarchy_from_strings_and_objects():
    genres = [
        m.Genre.model_validate(g)
        for g in [
            {"root": "Hip Hop", "sub": ["trap", "hip hop"]},
            "pop",
            {"root": "r&b", "sub": []},
        ]
    ]
    rows, ids = genre_rows(genres)
    by_id = {r["id"]: r for r in rows}
    assert ids == ["hip-hop/trap", "hip-hop", "pop", "r-b"]  # payload order: primary first
    assert by_id["hip-hop"]["level"] == 0 and by_id["hip-hop"]["parent_id"] is None
    assert by_id["hip-hop/trap"] == {
        "id": "hip-hop/trap",
        "name": "trap",
        "slug": "trap",
        "parent_id": "hip-hop",
        "level": 1,
        "soundcharts_root": "Hip Hop",
    }


def test_partition_keys_round_trip():
    key = chart_day_key("global-28", dt.date(2026, 1, 2))
    assert str(key) == "global-28|2026-01-02"
    assert split_key(key) == ("global-28", dt.date(2026, 1, 2))
    assert split_key("top-50-fr|2026-03-04") == ("top-50-fr", dt.date(2026, 3, 4))
    with pytest.raises(rules.InvalidChartSlug):
        rules.validate_slug("x" * 200)


def test_fetch_concurrently_keeps_order_and_stops_at_the_first_failure():
    assert fetch_concurrently(lambda i: i * i, list(range(50)), workers=4) == [
        (i, i * i) for i in range(50)
    ]
    started, lock = [], threading.Lock()

    def fetch(i: int) -> int:
        with lock:
            started.append(i)
        if i == 0:
            time.sleep(0.3)  # a slow answer ahead of the failures, as in a real batch
            return i
        raise RuntimeError("quota is spent")  # a spent quota refuses at once, every time

    with pytest.raises(RuntimeError, match="quota is spent"):
        fetch_concurrently(fetch, list(range(500)), workers=4)
    # the first refusal stops the batch: only calls already running when it came are made,
    # not the 500 a pool draining its queue would make while waiting on the slow item
    assert len(started) <= 1 + 4, started


def test_due_dates_make_one_range_unless_a_stored_ranking_lies_between():
    d = [dt.date(2026, 11, k) for k in range(1, 31)]
    assert rules.date_ranges([d[0], d[1], d[6]], stored=set()) == [(d[0], d[6])]
    assert rules.date_ranges([d[0], d[1], d[6]], stored={d[3]}) == [(d[0], d[1]), (d[6], d[6])]
    assert rules.date_ranges([d[5], d[0]], stored={d[0] - dt.timedelta(days=1)}) == [(d[0], d[5])]
    assert rules.date_ranges([], stored={d[2]}) == []


def test_consecutive_ranges_split_on_any_missing_day():
    d = [dt.date(2026, 11, k) for k in range(1, 31)]
    assert rules.consecutive_ranges([d[2], d[0], d[1], d[5], d[5]]) == [(d[0], d[2]), (d[5], d[5])]


@pytest.mark.parametrize(
    ("frequency", "hours", "days"),
    [("daily", None, 7), ("weekly", None, 9), ("monthly", None, 33), ("custom", 240, 12)],
)
def test_lookback_covers_at_least_one_period_plus_grace(frequency, hours, days):
    assert rules.lookback_days(frequency, hours) == days


def test_a_runs_partitions_are_read_from_its_tags():
    from musiccharts_pipeline.partitions import chart_dates_of_run, partition_request

    day, later = dt.date(2026, 11, 1), dt.date(2026, 11, 9)
    single = partition_request("top-50-fr", day, day)
    assert chart_dates_of_run({"dagster/partition": single["partition_key"]}) == {
        "top-50-fr": (day, day)
    }
    assert chart_dates_of_run(partition_request("top-50-fr", day, later)["tags"]) == {
        "top-50-fr": (day, later)
    }
    assert chart_dates_of_run({}) == {}
