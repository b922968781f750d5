"""The counting and lookup queries the assets and the CLI ask (warehouse/counts.py,
sync/rankings.songs_in), on DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from musiccharts_pipeline.sync.rankings import songs_in
from musiccharts_pipeline.warehouse import SCHEMA
from musiccharts_pipeline.warehouse.counts import (
    decreasing_points,
    table_counts,
    tracks_with_metadata,
)

DAY = dt.date(2024, 3, 1)


def test_table_counts_in_one_query(warehouse):
    for uuid, fetched in (("t1", dt.datetime(2024, 3, 1)), ("t2", None), ("t3", None)):
        warehouse.execute(
            f"INSERT INTO {SCHEMA}.tracks (uuid, metadata_fetched_at) VALUES (:u, :f)",
            {"u": uuid, "f": fetched},
        )
    assert table_counts(warehouse, ["tracks", "artists", "charts"]) == {
        "tracks": 3,
        "artists": 0,
        "charts": 0,
    }
    assert table_counts(warehouse, []) == {}
    with pytest.raises(ValueError, match="not a table name"):
        table_counts(warehouse, ["tracks; DROP TABLE tracks"])

    assert tracks_with_metadata(warehouse, ["t1", "t2", "nope"]) == 1
    assert tracks_with_metadata(warehouse, ["t2"]) == 0
    assert tracks_with_metadata(warehouse, []) == 0


def test_songs_in_a_charts_rankings(warehouse):
    rows = [
        ("top", DAY, 1, "a"),
        ("top", DAY, 2, "b"),
        ("top", DAY + dt.timedelta(days=1), 1, "b"),
        ("top", DAY + dt.timedelta(days=1), 2, "c"),
        ("top", DAY + dt.timedelta(days=2), 1, "d"),
        ("other", DAY, 1, "e"),
    ]
    for slug, day, position, song in rows:
        warehouse.execute(
            f"INSERT INTO {SCHEMA}.chart_ranking_entries "
            "(chart_slug, ranking_date, position, song_uuid) VALUES (:s, :d, :p, :u)",
            {"s": slug, "d": day, "p": position, "u": song},
        )
    assert songs_in(warehouse, "top", [DAY, DAY + dt.timedelta(days=1)]) == ["a", "b", "c"]
    assert songs_in(warehouse, "top", [DAY - dt.timedelta(days=1)]) == []
    assert songs_in(warehouse, "other", [DAY]) == ["e"]


def test_decreasing_points_per_track_platform_and_identifier(warehouse):
    series = {
        ("t1", "spotify", "x"): [10, 12, 11, 15],  # one drop
        ("t1", "spotify", "y"): [5, 6],  # another identifier starts lower: not a drop
        ("t1", "youtube", "x"): [100, 90, 80],  # two drops
        ("t2", "spotify", "x"): [3, 1],  # a drop on a track not asked about
    }
    for (track, platform, identifier), values in series.items():
        for k, value in enumerate(values):
            warehouse.execute(
                f"INSERT INTO {SCHEMA}.track_audience "
                "(track_uuid, platform, identifier, date, value) VALUES (:t, :p, :i, :d, :v)",
                {
                    "t": track,
                    "p": platform,
                    "i": identifier,
                    "d": DAY + dt.timedelta(days=k),
                    "v": value,
                },
            )
    assert decreasing_points(warehouse, ["t1"]) == 3
    assert decreasing_points(warehouse, ["t1", "t2"]) == 4
    assert decreasing_points(warehouse, ["none"]) == 0
    assert decreasing_points(warehouse, []) == 0
