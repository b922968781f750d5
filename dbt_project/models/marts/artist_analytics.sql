-- Per artist and audience platform: charting tracks, best position, chart days, growth.
-- A roll-up of the per-chart, per-month artist aggregates and the per-artist growth.
with charting as (
    select
        artist_uuid,
        min(best_position) as best_position,
        cast(sum(chart_days) as bigint) as chart_days
    from {{ ref('int_artist_chart_months') }}
    group by artist_uuid
),

tracks as (
    select ta.artist_uuid, count(distinct ta.track_uuid) as tracks_charting
    from {{ ref('stg_track_artists') }} as ta
    inner join {{ ref('top_tracks') }} as t on ta.track_uuid = t.track_uuid
    group by ta.artist_uuid
)

select
    a.artist_uuid,
    a.artist_name,
    t.tracks_charting,
    c.best_position,
    c.chart_days,
    g.platform,
    g.first_date,
    g.last_date,
    g.follower_growth
from charting as c
inner join {{ ref('stg_artists') }} as a on c.artist_uuid = a.artist_uuid
inner join tracks as t on c.artist_uuid = t.artist_uuid
left join {{ ref('int_artist_follower_growth') }} as g on c.artist_uuid = g.artist_uuid
