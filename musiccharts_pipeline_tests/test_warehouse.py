from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from musiccharts_pipeline.warehouse import SCHEMA, Warehouse, WarehouseError
from musiccharts_pipeline.warehouse.migrations import (
    current_revision,
    head_revision,
    upgrade_to_head,
)
from musiccharts_pipeline_tests.helpers import DATA_TABLES

EXPECTED_TABLES = {*DATA_TABLES, "chart_sync_log", "chart_subscriptions"}

HOSTILE = [
    'it\'s "quoted"',
    "'; drop table soundcharts.tracks; --",
    "tab\there\nnewline\r\\N back\\slash",
    "Beyoncé – Ñandú 東京 😀🎶",
    "",
    "   ",
    'comma, "quote" and\nnewline',
]


def _entries(n: int, song_prefix: str = "s") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "chart_slug": "global-28",
            "ranking_date": dt.date(2026, 5, 30),
            "position": range(1, n + 1),
            "song_uuid": [f"{song_prefix}{i}" for i in range(n)],
            "old_position": [None if i % 3 == 0 else i + 2 for i in range(n)],
            "metric": [1000.5 * i for i in range(n)],
            "entry_state": "",
            "entry_date": "2026-05-01",
            "time_on_chart": 3,
            "time_on_chart_unit": "DOC",
        }
    )


def _tables(wh: Warehouse) -> set[str]:
    frame = wh.read_frame(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = :s",
        {"s": SCHEMA},
    )
    return set(frame.table_name)


def test_migrate_creates_every_table_idempotently(warehouse_url):
    wh = Warehouse(warehouse_url)
    assert wh.migrate() == head_revision()
    assert EXPECTED_TABLES <= _tables(wh)
    # a second process-level migration finds nothing to do and keeps the tables
    with wh.transaction() as conn:
        assert upgrade_to_head(conn) == head_revision()
    assert EXPECTED_TABLES <= _tables(wh)
    assert set(wh.columns("chart_ranking_entries")) >= {
        "chart_slug",
        "ranking_date",
        "position",
        "song_uuid",
        "old_position",
        "position_evolution",
        "metric",
        "entry_state",
        "entry_date",
        "time_on_chart",
        "time_on_chart_unit",
    }


def test_older_schema_migrates_forward_keeping_rows(warehouse_url):
    wh = Warehouse(warehouse_url)
    with wh.transaction() as conn:
        assert upgrade_to_head(conn, "0001") == "0001"
    assert "chart_subscriptions" not in _tables(wh)
    wh.upsert(pd.DataFrame({"uuid": ["t1"], "name": ["kept"]}), "tracks", ["uuid"])

    with wh.transaction() as conn:
        assert upgrade_to_head(conn) == head_revision()
        assert current_revision(conn) == head_revision()
    assert "chart_subscriptions" in _tables(wh)
    assert wh.scalar(f"SELECT name FROM {SCHEMA}.tracks WHERE uuid = 't1'") == "kept"


def test_movements_stored_under_the_old_label_are_relabelled(warehouse_url):
    """dbt stored `re-entry` before the label became `re_entry`; its incremental model keeps
    old rows, so the migration relabels them (and nothing else)."""
    wh = Warehouse(warehouse_url)
    with wh.transaction() as conn:
        assert upgrade_to_head(conn, "0003") == "0003"
    wh.execute("CREATE SCHEMA IF NOT EXISTS analytics")
    wh.execute("CREATE TABLE analytics.int_ranking_movements (position integer, movement text)")
    wh.execute(
        "INSERT INTO analytics.int_ranking_movements VALUES (1, 're-entry'), (2, 'up'), (3, 'new')"
    )
    with wh.transaction() as conn:
        assert upgrade_to_head(conn) == head_revision()
    moves = wh.read_frame("SELECT movement FROM analytics.int_ranking_movements ORDER BY position")
    assert list(moves.movement) == ["re_entry", "up", "new"]


def test_upsert_twice_gives_same_rows_and_updates(warehouse):
    frame = _entries(250)
    assert (
        warehouse.upsert(frame, "chart_ranking_entries", ["chart_slug", "ranking_date", "position"])
        == 250
    )
    first = warehouse.read_frame(f"SELECT * FROM {SCHEMA}.chart_ranking_entries ORDER BY position")
    warehouse.upsert(frame, "chart_ranking_entries", ["chart_slug", "ranking_date", "position"])
    second = warehouse.read_frame(f"SELECT * FROM {SCHEMA}.chart_ranking_entries ORDER BY position")
    pd.testing.assert_frame_equal(first, second)
    assert len(second) == 250
    assert second.old_position.isna().sum() == 84
    assert second.loc[1, "old_position"] == 3

    changed = frame.assign(song_uuid=frame.song_uuid + "-new")
    warehouse.upsert(changed, "chart_ranking_entries", ["chart_slug", "ranking_date", "position"])
    third = warehouse.read_frame(
        f"SELECT song_uuid FROM {SCHEMA}.chart_ranking_entries ORDER BY position"
    )
    assert len(third) == 250 and third.song_uuid.str.endswith("-new").all()


def test_upsert_collapses_duplicate_keys_within_a_frame(warehouse):
    frame = pd.DataFrame({"uuid": ["a", "a", "b"], "name": ["first", "last", "b"]})
    assert warehouse.upsert(frame, "tracks", ["uuid"]) == 2
    rows = warehouse.read_frame(f"SELECT uuid, name FROM {SCHEMA}.tracks ORDER BY uuid")
    assert rows.values.tolist() == [["a", "last"], ["b", "b"]]


PARTITION = ["chart_slug", "ranking_date"]


def test_replace_partitions_is_idempotent_and_scoped(warehouse):
    keys = ["chart_slug", "ranking_date", "position"]
    other = _entries(5).assign(chart_slug="other-chart")
    warehouse.upsert(other, "chart_ranking_entries", keys)
    for _ in range(2):
        assert warehouse.replace_partitions(_entries(10), "chart_ranking_entries", PARTITION) == 10
    counts = warehouse.read_frame(
        f"SELECT chart_slug, count(*) AS n FROM {SCHEMA}.chart_ranking_entries "
        "GROUP BY chart_slug ORDER BY chart_slug"
    )
    assert counts.values.tolist() == [["global-28", 10], ["other-chart", 5]]
    # a shorter ranking replaces the longer one entirely
    warehouse.replace_partitions(_entries(4), "chart_ranking_entries", PARTITION)
    assert (
        warehouse.scalar(
            f"SELECT count(*) FROM {SCHEMA}.chart_ranking_entries WHERE chart_slug = 'global-28'"
        )
        == 4
    )


def test_error_mid_write_leaves_tables_as_before(warehouse):
    keys = ["chart_slug", "ranking_date", "position"]
    warehouse.upsert(_entries(3), "chart_ranking_entries", keys)
    before = warehouse.read_frame(f"SELECT * FROM {SCHEMA}.chart_ranking_entries ORDER BY position")
    broken = _entries(3).assign(song_uuid=None)  # violates NOT NULL after the delete ran
    with pytest.raises(Exception, match="song_uuid"):
        with warehouse.transaction() as conn:
            warehouse.upsert(
                pd.DataFrame({"uuid": ["x"], "name": ["x"]}), "tracks", ["uuid"], conn=conn
            )
            warehouse.replace_partitions(broken, "chart_ranking_entries", PARTITION, conn=conn)
    after = warehouse.read_frame(f"SELECT * FROM {SCHEMA}.chart_ranking_entries ORDER BY position")
    pd.testing.assert_frame_equal(before, after)
    assert warehouse.scalar(f"SELECT count(*) FROM {SCHEMA}.tracks") == 0


def test_hostile_strings_round_trip_exactly(warehouse):
    frame = pd.DataFrame(
        {
            "uuid": [f"u{i}" for i in range(len(HOSTILE))],
            "name": HOSTILE,
            "credit_name": list(reversed(HOSTILE)),
            "label": None,
        }
    )
    warehouse.upsert(frame, "tracks", ["uuid"])
    back = warehouse.read_frame(
        f"SELECT uuid, name, credit_name, label FROM {SCHEMA}.tracks ORDER BY uuid"
    )
    assert back.name.tolist() == HOSTILE
    assert back.credit_name.tolist() == list(reversed(HOSTILE))
    assert back.label.isna().all()  # NULL stays NULL, "" stays ""
    assert back.name.iloc[HOSTILE.index("")] == ""


def test_a_literal_null_marker_string_stays_a_string(warehouse):
    frame = pd.DataFrame({"uuid": ["a", "b", "c"], "name": ["\\N", None, ""]})
    warehouse.upsert(frame, "tracks", ["uuid"])
    back = warehouse.read_frame(f"SELECT name FROM {SCHEMA}.tracks ORDER BY uuid")
    assert back.name[0] == "\\N" and back.name[1] is None and back.name[2] == ""


def test_replace_partitions_replaces_each_partition_in_the_frame(warehouse):
    keys = ["chart_slug", "ranking_date"]
    day = dt.date(2026, 5, 30)
    other = _entries(5).assign(chart_slug="other-chart")
    warehouse.upsert(other, "chart_ranking_entries", [*keys, "position"])
    two_days = pd.concat(
        [_entries(10), _entries(3).assign(ranking_date=day - dt.timedelta(days=1))]
    )
    for _ in range(2):
        assert warehouse.replace_partitions(two_days, "chart_ranking_entries", keys) == 13
    shorter = _entries(4)  # only the 30th: the 29th stays as it was
    warehouse.replace_partitions(shorter, "chart_ranking_entries", keys)
    counts = warehouse.read_frame(
        f"SELECT chart_slug, ranking_date, count(*) AS n FROM {SCHEMA}.chart_ranking_entries "
        "GROUP BY chart_slug, ranking_date ORDER BY chart_slug, ranking_date"
    )
    assert counts.n.tolist() == [3, 4, 5]


def test_types_are_conformed(warehouse):
    frame = pd.DataFrame(
        {
            "uuid": ["a", "b"],
            "duration": [194.0, None],
            "explicit": [True, None],
            "release_date": ["2019-03-29T00:00:00+01:00", None],
            "metadata_fetched_at": ["2024-01-01T10:00:00+02:00", None],
        }
    )
    warehouse.upsert(frame, "tracks", ["uuid"])
    row = warehouse.read_frame(
        "SELECT duration, explicit, release_date, metadata_fetched_at "
        f"FROM {SCHEMA}.tracks WHERE uuid = 'a'"
    ).iloc[0]
    assert row.duration == 194
    assert bool(row.explicit) is True
    assert row.release_date == dt.date(2019, 3, 29)
    assert pd.Timestamp(row.metadata_fetched_at) == pd.Timestamp("2024-01-01 08:00:00")


def test_unknown_column_is_a_clear_error(warehouse):
    with pytest.raises(WarehouseError, match="no column"):
        warehouse.upsert(pd.DataFrame({"uuid": ["a"], "nope": [1]}), "tracks", ["uuid"])


def test_unsupported_backend_is_a_clear_error():
    with pytest.raises(WarehouseError, match="unsupported warehouse backend"):
        Warehouse("sqlite:///x.db")


def test_broken_positions_finds_gaps_and_a_missing_first_position_in_one_query(warehouse):
    from musiccharts_pipeline.sync.rankings import broken_positions

    good = _entries(5)
    gap = _entries(4).assign(ranking_date=dt.date(2026, 5, 31), position=[1, 2, 3, 5])
    late = _entries(3).assign(ranking_date=dt.date(2026, 6, 1), position=[2, 3, 4])
    frame = pd.concat([good, gap, late], ignore_index=True)
    warehouse.replace_partitions(frame, "chart_ranking_entries", ["chart_slug", "ranking_date"])
    keys = [("global-28", d) for d in (dt.date(2026, 5, d) for d in (30, 31))]
    keys.append(("global-28", dt.date(2026, 6, 1)))
    assert broken_positions(warehouse, keys) == keys[1:]
    assert broken_positions(warehouse, keys[:1]) == []
    assert broken_positions(warehouse, []) == []
