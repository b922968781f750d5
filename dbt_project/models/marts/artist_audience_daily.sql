{{ config(
    materialized='incremental',
    unique_key=['artist_uuid', 'platform', 'audience_date'],
    incremental_strategy='replace_by_key',
    indexes=postgres_indexes(['loaded_before']),
    post_hook="{{ enforce_unique_key(['artist_uuid', 'platform', 'audience_date']) }}",
) }}
-- Daily follower deltas per artist and platform; incremental like track_audience_daily (each
-- fetched artist's series recomputed, its new or changed days written).
with artists_in_window as (
    select artist_uuid
    from {{ ref('stg_artists') }}
    where {{ in_load_window('audience_fetched_at') }}
),

deltas as (
    select
        f.artist_uuid,
        f.platform,
        f.audience_date,
        f.follower_count,
        f.follower_count - lag(f.follower_count) over (
            partition by f.artist_uuid, f.platform order by f.audience_date
        ) as daily_followers
    from {{ ref('stg_artist_audience') }} as f
    inner join artists_in_window as w on f.artist_uuid = w.artist_uuid
)

select d.*, {{ load_window_end() }} as loaded_before
from deltas as d
{{ only_new_or_changed(
    'd', ['artist_uuid', 'platform', 'audience_date'], ['follower_count', 'daily_followers']
) }}
