"""The raw SoundCharts tables: charts, rankings, tracks, artists, genres, audience.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "soundcharts"


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "charts",
        sa.Column("slug", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("platform", sa.Text()),
        sa.Column("chart_type", sa.Text()),
        sa.Column("frequency", sa.Text()),
        sa.Column("country_code", sa.Text()),
        sa.Column("country_name", sa.Text()),
        sa.Column("max_results_count", sa.Integer()),
        sa.Column("metric_type", sa.Text()),
        sa.Column("raw_json", sa.Text()),
        _ts("updated_at"),
        schema=SCHEMA,
    )
    op.create_table(
        "chart_rankings",
        sa.Column("chart_slug", sa.Text(), primary_key=True),
        sa.Column("ranking_date", sa.Date(), primary_key=True),
        sa.Column("ranking_datetime", sa.Text()),
        sa.Column("entry_count", sa.Integer()),
        _ts("fetched_at"),
        schema=SCHEMA,
    )
    op.create_table(
        "chart_ranking_entries",
        sa.Column("chart_slug", sa.Text(), primary_key=True),
        sa.Column("ranking_date", sa.Date(), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("song_uuid", sa.Text(), nullable=False),
        sa.Column("song_name", sa.Text()),
        sa.Column("credit_name", sa.Text()),
        sa.Column("old_position", sa.Integer()),
        sa.Column("position_evolution", sa.Integer()),
        sa.Column("metric", sa.Float()),
        sa.Column("entry_state", sa.Text()),
        sa.Column("entry_date", sa.Date()),
        sa.Column("time_on_chart", sa.Integer()),
        sa.Column("time_on_chart_unit", sa.Text()),
        sa.Column("raw_json", sa.Text()),
        schema=SCHEMA,
    )
    op.create_index("ix_entries_song", "chart_ranking_entries", ["song_uuid"], schema=SCHEMA)
    op.create_table(
        "tracks",
        sa.Column("uuid", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("slug", sa.Text()),
        sa.Column("credit_name", sa.Text()),
        sa.Column("image_url", sa.Text()),
        sa.Column("app_url", sa.Text()),
        sa.Column("release_date", sa.Date()),
        sa.Column("duration", sa.Integer()),
        sa.Column("isrc", sa.Text()),
        sa.Column("label", sa.Text()),
        sa.Column("explicit", sa.Boolean()),
        sa.Column("language_code", sa.Text()),
        sa.Column("primary_artist_uuid", sa.Text()),
        sa.Column("primary_genre", sa.Text()),
        _ts("metadata_fetched_at"),
        _ts("audience_fetched_at"),
        sa.Column("raw_json", sa.Text()),
        schema=SCHEMA,
    )
    op.create_index("ix_tracks_isrc", "tracks", ["isrc"], schema=SCHEMA)
    op.create_table(
        "track_artists",
        sa.Column("track_uuid", sa.Text(), primary_key=True),
        sa.Column("artist_uuid", sa.Text(), primary_key=True),
        sa.Column("position", sa.Integer()),
        sa.Column("is_primary", sa.Boolean()),
        schema=SCHEMA,
    )
    op.create_index("ix_track_artists_artist", "track_artists", ["artist_uuid"], schema=SCHEMA)
    op.create_table(
        "artists",
        sa.Column("uuid", sa.Text(), primary_key=True),
        sa.Column("slug", sa.Text()),
        sa.Column("name", sa.Text()),
        sa.Column("app_url", sa.Text()),
        sa.Column("image_url", sa.Text()),
        sa.Column("country_code", sa.Text()),
        sa.Column("gender", sa.Text()),
        sa.Column("artist_type", sa.Text()),
        sa.Column("career_stage", sa.Text()),
        _ts("metadata_fetched_at"),
        _ts("audience_fetched_at"),
        sa.Column("raw_json", sa.Text()),
        schema=SCHEMA,
    )
    op.create_table(
        "genres",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.Text()),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("soundcharts_root", sa.Text(), nullable=False),
        schema=SCHEMA,
    )
    for owner in ("track", "artist"):
        op.create_table(
            f"{owner}_genres",
            sa.Column(f"{owner}_uuid", sa.Text(), primary_key=True),
            sa.Column("genre_id", sa.Text(), primary_key=True),
            sa.Column("is_primary", sa.Boolean()),
            schema=SCHEMA,
        )
    op.create_table(
        "track_audience",
        sa.Column("track_uuid", sa.Text(), primary_key=True),
        sa.Column("platform", sa.Text(), primary_key=True),
        sa.Column("identifier", sa.Text(), primary_key=True),
        sa.Column("date", sa.Date(), primary_key=True),
        sa.Column("value", sa.BigInteger()),
        schema=SCHEMA,
    )
    op.create_table(
        "artist_audience",
        sa.Column("artist_uuid", sa.Text(), primary_key=True),
        sa.Column("platform", sa.Text(), primary_key=True),
        sa.Column("date", sa.Date(), primary_key=True),
        sa.Column("follower_count", sa.BigInteger()),
        sa.Column("like_count", sa.BigInteger()),
        sa.Column("following_count", sa.BigInteger()),
        sa.Column("post_count", sa.BigInteger()),
        sa.Column("view_count", sa.BigInteger()),
        schema=SCHEMA,
    )
    op.create_table(
        "artist_streaming",
        sa.Column("artist_uuid", sa.Text(), primary_key=True),
        sa.Column("platform", sa.Text(), primary_key=True),
        sa.Column("date", sa.Date(), primary_key=True),
        sa.Column("value", sa.BigInteger()),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in (
        "artist_streaming",
        "artist_audience",
        "track_audience",
        "artist_genres",
        "track_genres",
        "genres",
        "artists",
        "track_artists",
        "tracks",
        "chart_ranking_entries",
        "chart_rankings",
        "charts",
    ):
        op.drop_table(table, schema=SCHEMA)
