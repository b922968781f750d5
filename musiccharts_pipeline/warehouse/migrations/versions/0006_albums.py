"""Albums and the track -> album relation (a track may be on several releases; the original is
marked), and when each track's releases were last listed.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCHEMA = "soundcharts"


def upgrade() -> None:
    op.create_table(
        "albums",
        sa.Column("uuid", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("album_type", sa.Text()),  # album | single | compil (as the API says)
        sa.Column("upc", sa.Text()),
        sa.Column("release_date", sa.Date()),
        sa.Column("label", sa.Text()),
        sa.Column("total_tracks", sa.Integer()),
        sa.Column("metadata_fetched_at", sa.DateTime()),
        sa.Column("raw_json", sa.Text()),
        schema=SCHEMA,
    )
    op.create_table(
        "track_albums",
        sa.Column("track_uuid", sa.Text(), primary_key=True),
        sa.Column("album_uuid", sa.Text(), primary_key=True),
        sa.Column("is_original", sa.Boolean(), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_track_albums_album", "track_albums", ["album_uuid"], schema=SCHEMA)
    op.add_column("tracks", sa.Column("albums_fetched_at", sa.DateTime()), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("tracks", "albums_fetched_at", schema=SCHEMA)
    op.drop_index("ix_track_albums_album", table_name="track_albums", schema=SCHEMA)
    op.drop_table("track_albums", schema=SCHEMA)
    op.drop_table("albums", schema=SCHEMA)
