"""Alerts: incidents (opened, resolved, what was sent) and the alert evaluation's cursors.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "soundcharts"


def upgrade() -> None:
    op.create_table(
        "alert_incidents",
        sa.Column("incident_key", sa.Text(), primary_key=True),
        sa.Column("opened_at", sa.DateTime(), primary_key=True),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("link", sa.Text()),
        sa.Column("resolved_at", sa.DateTime()),
        sa.Column("resolution", sa.Text()),
        sa.Column("open_sent_at", sa.DateTime()),
        sa.Column("resolved_sent_at", sa.DateTime()),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text()),
        schema=SCHEMA,
    )
    op.create_table(
        "alert_state",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime()),
        schema=SCHEMA,
    )
    # the slow-sync rule reads only the syncs finished since its last evaluation
    op.create_index("ix_sync_log_finished", "chart_sync_log", ["finished_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_sync_log_finished", "chart_sync_log", schema=SCHEMA)
    op.drop_table("alert_state", schema=SCHEMA)
    op.drop_table("alert_incidents", schema=SCHEMA)
