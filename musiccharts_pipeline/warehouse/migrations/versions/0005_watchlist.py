"""The label's own catalogue: what it watches (artists, songs, ISRCs) and each watched artist's
songs as the API lists them.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHEMA = "soundcharts"


def upgrade() -> None:
    op.create_table(
        "watchlist",
        # artist | song | isrc; ``ident`` is the uuid (lowercase) or the ISRC (uppercase)
        sa.Column("kind", sa.Text(), primary_key=True),
        sa.Column("ident", sa.Text(), primary_key=True),
        sa.Column("song_uuid", sa.Text()),  # an ISRC's song, once resolved
        sa.Column("status", sa.Text(), nullable=False),  # pending | ok | unknown | blacklisted
        sa.Column("source", sa.Text()),  # cli | api | import
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime()),
        sa.Column("listed_at", sa.DateTime()),  # an artist's catalogue, last listed
        sa.Column("songs_listed", sa.Integer()),
        schema=SCHEMA,
    )
    op.create_table(
        "artist_catalogue",
        sa.Column("artist_uuid", sa.Text(), primary_key=True),
        sa.Column("song_uuid", sa.Text(), primary_key=True),
        sa.Column("song_name", sa.Text()),
        sa.Column("release_date", sa.Date()),
        sa.Column("first_listed_at", sa.DateTime(), nullable=False),
        sa.Column("listed_at", sa.DateTime(), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_catalogue_song", "artist_catalogue", ["song_uuid"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_catalogue_song", table_name="artist_catalogue", schema=SCHEMA)
    op.drop_table("artist_catalogue", schema=SCHEMA)
    op.drop_table("watchlist", schema=SCHEMA)
