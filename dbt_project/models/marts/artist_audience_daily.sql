{{ config(
    materialized='incremental',
    unique_key='artist_uuid',
    incremental_strategy='replace_by_key',
    indexes=postgres_indexes(['artist_uuid'], ['loaded_before']),
) }}
-- Daily follower deltas per artist and platform; incremental like track_audience_daily.
with artists_in_window as (
    select artist_uuid
    from {{ ref('stg_artists') }}
    where {{ in_load_window('audience_fetched_at') }}
)

select
    f.artist_uuid,
    f.platform,
    f.audience_date,
    f.follower_count,
    f.follower_count - lag(f.follower_count) over (
        partition by f.artist_uuid, f.platform order by f.audience_date
    ) as daily_followers,
    {{ load_window_end() }} as loaded_before
from {{ ref('stg_artist_audience') }} as f
inner join artists_in_window as w on f.artist_uuid = w.artist_uuid
