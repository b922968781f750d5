"""A ranking entry's movement: the one rule and its labels.

Python code classifies with :func:`classify`; the read API's query embeds :func:`sql_case`, the
same rule as SQL. The dbt macro ``movement_label`` (``dbt_project/macros/movement.sql``) is
tested against :func:`classify` on both warehouses, and the dbt models' accepted values against
:data:`MOVEMENTS` (``test_movement.py``).
"""

from __future__ import annotations

#: Every label, in display order: the read API documents these.
MOVEMENTS = ("new", "re_entry", "up", "down", "same")

#: The API's flag for a track back on the chart: counts as seen before.
RE_ENTRY_STATE = "RE_ENTRY"


def classify(
    position: int,
    previous_position: int | None,
    seen_before: bool,
    entry_state: str | None = None,
) -> str:
    """The movement of an entry at ``position`` against the chart's previous ranking.

    ``previous_position`` is the track's position there (``None``: it was not on it);
    ``seen_before``: it was on the chart at some earlier date; ``entry_state`` is the API's
    own ``RE_ENTRY`` flag, which says the same when no history is stored.
    """
    if previous_position is None:
        return "re_entry" if seen_before or entry_state == RE_ENTRY_STATE else "new"
    if previous_position > position:
        return "up"
    if previous_position < position:
        return "down"
    return "same"


def sql_case(position: str, previous_position: str, seen_before: str, entry_state: str) -> str:
    """:func:`classify` as a SQL ``CASE`` over four column expressions (``seen_before`` a
    boolean expression), on DuckDB and PostgreSQL."""
    return (
        f"CASE WHEN {previous_position} IS NULL AND ({seen_before} "
        f"OR {entry_state} = '{RE_ENTRY_STATE}') THEN 're_entry' "
        f"WHEN {previous_position} IS NULL THEN 'new' "
        f"WHEN {previous_position} > {position} THEN 'up' "
        f"WHEN {previous_position} < {position} THEN 'down' "
        "ELSE 'same' END"
    )


def move_text(movement: str, position_change: int | None) -> str:
    """Compact text for a movement: ``+3`` up, ``-2`` down, ``=`` same, else the label
    (``re_entry`` as ``re-entry``). ``position_change`` is previous position - position."""
    if movement in ("up", "down"):
        return f"{position_change:+d}"
    if movement == "same":
        return "="
    return movement.replace("_", "-")
