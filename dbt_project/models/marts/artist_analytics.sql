-- Per artist and audience platform: charting tracks, best position, chart days, growth.
with appearances as (
    select ta.artist_uuid, e.track_uuid, e.chart_slug, e.ranking_date, e.position
    from {{ ref('int_ranking_entries') }} as e
    inner join {{ ref('stg_track_artists') }} as ta on e.track_uuid = ta.track_uuid
),

charting as (
    select
        artist_uuid,
        count(distinct track_uuid) as tracks_charting,
        min(position) as best_position,
        count(distinct {{ dbt.concat(['chart_slug', "'|'", 'cast(ranking_date as varchar)']) }}) as chart_days
    from appearances
    group by artist_uuid
),

growth as (
    select
        artist_uuid,
        platform,
        min(audience_date) as first_date,
        max(audience_date) as last_date,
        sum(daily_followers) as follower_growth
    from {{ ref('artist_audience_daily') }}
    group by artist_uuid, platform
)

select
    a.artist_uuid,
    a.artist_name,
    c.tracks_charting,
    c.best_position,
    c.chart_days,
    g.platform,
    g.first_date,
    g.last_date,
    g.follower_growth
from charting as c
inner join {{ ref('stg_artists') }} as a on c.artist_uuid = a.artist_uuid
left join growth as g on c.artist_uuid = g.artist_uuid
