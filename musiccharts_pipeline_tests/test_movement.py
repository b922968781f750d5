"""The movement rule is defined once (sync/movement.py): its SQL for the read API and the dbt
macro give the same label as the Python rule for every case, on DuckDB and PostgreSQL, and
every label set in the project is the rule's."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from jinja2 import Environment

from musiccharts_pipeline.dashboard.render import MOVES
from musiccharts_pipeline.serve.charts import MOVE_LABELS
from musiccharts_pipeline.sync.movement import MOVEMENTS, classify, move_text, sql_case
from musiccharts_pipeline.sync.rankings import RankingOutcome, movement, preview_markdown
from musiccharts_pipeline.warehouse import Warehouse

DBT = Path(__file__).resolve().parents[1] / "dbt_project"

#: (position, previous_position, seen_before, entry_state) -> movement: every branch of the
#: rule, and the edges where the API's flag and the stored history disagree.
CASES = [
    ((1, None, False, None), "new"),
    ((1, None, False, "NEW"), "new"),
    ((7, None, False, ""), "new"),
    ((3, None, True, None), "re_entry"),
    ((3, None, True, "NEW"), "re_entry"),
    ((3, None, False, "RE_ENTRY"), "re_entry"),
    ((3, None, True, "RE_ENTRY"), "re_entry"),
    ((2, 5, False, None), "up"),
    ((2, 5, True, ""), "up"),
    ((1, 50, False, "NEW"), "up"),
    ((5, 2, True, None), "down"),
    ((50, 1, False, "RE_ENTRY"), "down"),
    ((4, 4, True, None), "same"),
    ((4, 4, False, "RE_ENTRY"), "same"),
]


def test_the_rule_over_every_case():
    assert [classify(*case) for case, _ in CASES] == [label for _, label in CASES]
    assert {label for _, label in CASES} == set(MOVEMENTS)


def _dbt_macro(*columns: str) -> str:
    """The dbt macro movement_label rendered as dbt renders it (plain Jinja)."""
    source = (DBT / "macros" / "movement.sql").read_text()
    call = "{{ movement_label(" + ", ".join(f"'{c}'" for c in columns) + ") }}"
    return Environment().from_string(source + call).render().strip()


@pytest.mark.parametrize("which", ["serve query", "dbt macro"])
def test_the_sql_says_what_the_rule_says(warehouse_url, which):
    columns = ("position", "previous_position", "seen_before", "entry_state")
    case_sql = sql_case(*columns) if which == "serve query" else _dbt_macro(*columns)
    cases = " UNION ALL ".join(
        f"SELECT {i} AS i, CAST(:p{i} AS integer) AS position, "
        f"CAST(:pp{i} AS integer) AS previous_position, CAST(:s{i} AS boolean) AS seen_before, "
        f"CAST(:e{i} AS varchar) AS entry_state"
        for i in range(len(CASES))
    )
    params = {}
    for i, ((position, previous, seen, state), _) in enumerate(CASES):
        params |= {f"p{i}": position, f"pp{i}": previous, f"s{i}": seen, f"e{i}": state}
    wh = Warehouse(warehouse_url)
    try:
        with wh.connect() as conn:
            got = conn.execute(
                sa.text(f"SELECT {case_sql} AS movement FROM ({cases}) AS c ORDER BY i"), params
            ).scalars()
            assert list(got) == [classify(*case) for case, _ in CASES]
    finally:
        wh.engine.dispose()


def _accepted_values(path: Path) -> list[list[str]]:
    """The accepted values of every ``movement`` column of a dbt properties file."""
    return [
        test["accepted_values"]["arguments"]["values"]
        for model in yaml.safe_load(path.read_text())["models"]
        for column in model.get("columns", [])
        if column["name"] == "movement"
        for test in column.get("data_tests", [])
        if isinstance(test, dict) and "accepted_values" in test
    ]


def test_every_label_set_is_the_rules():
    models = DBT / "models"
    accepted = _accepted_values(models / "intermediate" / "_intermediate.yml")
    accepted += _accepted_values(models / "marts" / "_marts.yml")
    assert accepted == [list(MOVEMENTS), list(MOVEMENTS)]
    assert list(MOVES) == list(MOVEMENTS)  # the dashboard's symbols
    assert list(MOVE_LABELS) == list(MOVEMENTS)  # the pages' labels, in display order
    latest = (models / "marts" / "chart_latest_rankings.sql").read_text()
    assert all(f"e.movement = '{label}'" in latest for label in MOVEMENTS)


def test_the_preview_shows_the_rules_label_with_the_change():
    texts = [move_text(label, None if pp is None else pp - p) for (p, pp, _, _), label in CASES]
    assert texts == [
        "new", "new", "new", "re-entry", "re-entry", "re-entry", "re-entry",
        "+3", "+3", "+49", "-3", "-49", "=", "=",
    ]  # fmt: skip
    rows = [
        {"position": 1, "song": "a|b", "artist": "x", "old_position": 4, "entry_state": ""},
        {"position": 2, "song": "c", "artist": None, "old_position": None, "entry_state": "NEW"},
        {
            "position": 3,
            "song": "d",
            "artist": "y",
            "old_position": None,
            "entry_state": "RE_ENTRY",
        },
        {"position": 4, "song": "e", "artist": "z", "old_position": 2, "entry_state": ""},
        {"position": 5, "song": "f", "artist": "w", "old_position": 5, "entry_state": ""},
    ]
    assert [movement(r) for r in rows] == ["+3", "new", "re-entry", "-2", "="]
    outcome = RankingOutcome("top-50-fr", None, "synced", 5, rows)
    assert preview_markdown(outcome).splitlines()[4] == "| 1 | a\\|b | x | +3 |"
