"""Sync management: chart subscriptions and the per-partition sync log.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "soundcharts"


def upgrade() -> None:
    op.create_table(
        "chart_subscriptions",
        sa.Column("chart_slug", sa.Text(), primary_key=True),
        sa.Column("platform", sa.Text()),
        sa.Column("frequency", sa.Text(), nullable=False),
        sa.Column("custom_interval_hours", sa.Integer()),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sync_historical_data", sa.Boolean(), nullable=False),
        sa.Column("auto_fetch_metadata", sa.Boolean(), nullable=False),
        sa.Column("auto_fetch_audience", sa.Boolean(), nullable=False),
        sa.Column("priority_platforms", sa.Text()),
        sa.Column("historical_backfill_id", sa.Text()),
        sa.Column("created_at", sa.DateTime()),
        sa.Column("updated_at", sa.DateTime()),
        schema=SCHEMA,
    )
    op.create_table(
        "chart_sync_log",
        sa.Column("run_id", sa.Text(), primary_key=True),
        sa.Column("chart_slug", sa.Text(), primary_key=True),
        sa.Column("ranking_date", sa.Date(), primary_key=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("published", sa.Boolean()),
        sa.Column("entry_count", sa.Integer()),
        sa.Column("api_calls", sa.Integer()),
        sa.Column("started_at", sa.DateTime()),
        sa.Column("finished_at", sa.DateTime()),
        sa.Column("duration_seconds", sa.Float()),
        sa.Column("error", sa.Text()),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_sync_log_chart_date", "chart_sync_log", ["chart_slug", "ranking_date"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_table("chart_sync_log", schema=SCHEMA)
    op.drop_table("chart_subscriptions", schema=SCHEMA)
