-- Tracks by number of chart appearances, with their primary artist: a roll-up of the
-- per-chart, per-month appearances, named from the track's current metadata (the entries'
-- own names when it has none).
with totals as (
    select
        track_uuid,
        cast(sum(appearances) as bigint) as chart_appearances,
        count(distinct chart_slug) as charts,
        min(best_position) as best_position,
        max(last_seen) as last_seen,
        max(track_name) as entry_track_name,
        max(credit_name) as entry_credit_name
    from {{ ref('int_chart_track_months') }}
    group by track_uuid
)

select
    s.track_uuid,
    coalesce(t.track_name, s.entry_track_name) as track_name,
    coalesce(a.artist_name, t.credit_name, s.entry_credit_name) as artist_name,
    s.chart_appearances,
    s.charts,
    s.best_position,
    s.last_seen
from totals as s
left join {{ ref('stg_tracks') }} as t on s.track_uuid = t.track_uuid
left join {{ ref('stg_artists') }} as a on t.primary_artist_uuid = a.artist_uuid
