{{ config(
    materialized='incremental',
    unique_key='track_uuid',
    incremental_strategy='replace_by_key',
    indexes=postgres_indexes(['track_uuid'], ['loaded_before']),
) }}
-- Daily deltas of each track's cumulative audience (identifiers summed). Incremental: every
-- track whose audience was fetched in the load window is recomputed whole, so late or
-- backfilled points are never missed.
with tracks_in_window as (
    select track_uuid
    from {{ ref('stg_tracks') }}
    where {{ in_load_window('audience_fetched_at') }}
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
    {{ load_window_end() }} as loaded_before
from points
