{{ config(
    materialized='incremental',
    unique_key='artist_uuid',
    incremental_strategy='delete+insert',
    indexes=postgres_indexes(['artist_uuid'], ['loaded_before']),
) }}
-- Follower growth of each artist on each platform over its whole series: artist_analytics'
-- growth columns. artist_audience_daily recomputes an artist's whole series when its audience
-- is fetched, so the rows it wrote since this model's last build are whole series too.
select
    artist_uuid,
    platform,
    min(audience_date) as first_date,
    max(audience_date) as last_date,
    sum(daily_followers) as follower_growth,
    {{ load_window_end() }} as loaded_before
from {{ ref('artist_audience_daily') }}
where {{ in_load_window('loaded_before', stamped=true) }}
group by artist_uuid, platform
