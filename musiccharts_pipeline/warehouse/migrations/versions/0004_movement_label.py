"""The movement label `re-entry` is `re_entry`, as the read API documents it (one rule:
sync/movement.py). dbt's incremental int_ranking_movements recomputes only the charts that get
new data, so rows it stored before the rename are relabelled here, where a table exists.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: dbt's schema (profiles.yml) and its incremental model that stores movement labels
ANALYTICS, MOVEMENTS = "analytics", "int_ranking_movements"


def _relabel(old: str, new: str) -> None:
    if sa.inspect(op.get_bind()).has_table(MOVEMENTS, schema=ANALYTICS):
        op.execute(
            sa.text(
                f"UPDATE {ANALYTICS}.{MOVEMENTS} SET movement = :new WHERE movement = :old"
            ).bindparams(old=old, new=new)
        )


def upgrade() -> None:
    _relabel("re-entry", "re_entry")


def downgrade() -> None:
    _relabel("re_entry", "re-entry")
