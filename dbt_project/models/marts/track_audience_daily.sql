{{ config(
    materialized='incremental',
    unique_key=['track_uuid', 'platform', 'audience_date'],
    incremental_strategy='delete+insert',
) }}
-- Daily deltas of each track's cumulative audience (identifiers summed). Incremental over the
-- half-open load window [last build, this build): every track whose audience was fetched in it
-- is recomputed whole, so late or backfilled points are never missed.
with tracks_in_window as (
    select track_uuid
    from {{ ref('stg_tracks') }}
    where audience_fetched_at < cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
    {% if is_incremental() %}
        and audience_fetched_at >= (select coalesce(max(loaded_before), cast('1900-01-01' as timestamp)) from {{ this }})
    {% endif %}
),

points as (
    select a.track_uuid, a.platform, a.audience_date, sum(a.cumulative_value) as cumulative_value
    from {{ ref('stg_track_audience') }} as a
    inner join tracks_in_window as w on a.track_uuid = w.track_uuid
    group by a.track_uuid, a.platform, a.audience_date
)

select
    track_uuid,
    platform,
    audience_date,
    cumulative_value,
    cumulative_value - lag(cumulative_value) over (
        partition by track_uuid, platform order by audience_date
    ) as daily_value,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as loaded_before
from points
