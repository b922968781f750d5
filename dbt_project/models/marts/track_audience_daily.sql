{{ config(
    materialized='incremental',
    unique_key=['track_uuid', 'platform', 'audience_date'],
    incremental_strategy='replace_by_key',
    indexes=postgres_indexes(['loaded_before']),
    post_hook="{{ enforce_unique_key(['track_uuid', 'platform', 'audience_date']) }}",
) }}
-- Daily deltas of each track's cumulative audience (identifiers summed). Incremental: the
-- series of every track whose audience was fetched in the load window is recomputed whole, so
-- a late or backfilled point is never missed, and only its new or changed days are written (a
-- refetch a week after the last brings a week of points: a week of rows, not the series again).
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
),

deltas as (
    select
        track_uuid,
        platform,
        audience_date,
        cumulative_value,
        cumulative_value - lag(cumulative_value) over (
            partition by track_uuid, platform order by audience_date
        ) as daily_value
    from points
)

select d.*, {{ load_window_end() }} as loaded_before
from deltas as d
{{ only_new_or_changed(
    'd', ['track_uuid', 'platform', 'audience_date'], ['cumulative_value', 'daily_value']
) }}
