-- Each album's chart life and audience growth: the chart entries of its tracks (how many, on
-- how many charts, the best position) and their audience gained over the last 30 days. A view:
-- nothing to rebuild when a sync lands, computed when a page reads one album.
with tracks as (
    select album_uuid, track_uuid from {{ ref('stg_track_albums') }}
),
entries as (
    select
        t.album_uuid,
        count(*) as chart_entries,
        count(distinct e.chart_slug) as charts,
        min(e.position) as best_position,
        max(e.ranking_date) as last_charted
    from tracks as t
    inner join {{ ref('stg_chart_ranking_entries') }} as e on e.track_uuid = t.track_uuid
    group by t.album_uuid
),
growth as (
    select t.album_uuid, sum(d.daily_value) as audience_growth_30d
    from tracks as t
    inner join {{ ref('track_audience_daily') }} as d on d.track_uuid = t.track_uuid
    where d.audience_date > current_date - 30
    group by t.album_uuid
)

select
    a.album_uuid,
    a.album_name,
    a.album_type,
    a.upc,
    a.release_date,
    a.label,
    a.total_tracks,
    (select count(*) from tracks as t where t.album_uuid = a.album_uuid) as tracks_stored,
    coalesce(e.chart_entries, 0) as chart_entries,
    coalesce(e.charts, 0) as charts,
    e.best_position,
    e.last_charted,
    coalesce(g.audience_growth_30d, 0) as audience_growth_30d
from {{ ref('stg_albums') }} as a
left join entries as e on a.album_uuid = e.album_uuid
left join growth as g on a.album_uuid = g.album_uuid
