{{ config(
    materialized='incremental',
    unique_key=['artist_uuid', 'platform', 'audience_date'],
    incremental_strategy='delete+insert',
) }}
-- Daily follower deltas per artist and platform; incremental like track_audience_daily.
with artists_in_window as (
    select artist_uuid
    from {{ ref('stg_artists') }}
    where audience_fetched_at < cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
    {% if is_incremental() %}
        and audience_fetched_at >= (select coalesce(max(loaded_before), cast('1900-01-01' as timestamp)) from {{ this }})
    {% endif %}
)

select
    f.artist_uuid,
    f.platform,
    f.audience_date,
    f.follower_count,
    f.follower_count - lag(f.follower_count) over (
        partition by f.artist_uuid, f.platform order by f.audience_date
    ) as daily_followers,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as loaded_before
from {{ ref('stg_artist_audience') }} as f
inner join artists_in_window as w on f.artist_uuid = w.artist_uuid
