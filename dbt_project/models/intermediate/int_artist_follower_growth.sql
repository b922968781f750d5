{{ config(
    materialized='incremental',
    unique_key='artist_uuid',
    incremental_strategy='replace_by_key',
    indexes=postgres_indexes(['loaded_before']),
    post_hook="{{ enforce_unique_key(['artist_uuid', 'platform']) }}",
) }}
-- Follower growth of each artist on each platform over its whole series: artist_analytics'
-- growth columns. Recomputed for the artists whose audience was fetched in the load window,
-- from their daily series (which artist_audience_daily brought up to date in the same build).
with artists_in_window as (
    select artist_uuid
    from {{ ref('stg_artists') }}
    where {{ in_load_window('audience_fetched_at') }}
)

select
    d.artist_uuid,
    d.platform,
    min(d.audience_date) as first_date,
    max(d.audience_date) as last_date,
    sum(d.daily_followers) as follower_growth,
    {{ load_window_end() }} as loaded_before
from {{ ref('artist_audience_daily') }} as d
inner join artists_in_window as w on d.artist_uuid = w.artist_uuid
group by d.artist_uuid, d.platform
