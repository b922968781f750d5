-- The label's own songs (its watched artists' catalogues, watched songs, resolved ISRCs) with
-- their audience gained over the last 7 days and whether they entered any chart. A view: read
-- by the dashboard's Catalogue section, nothing to rebuild when a sync lands.
with watched as (
    select c.track_uuid, c.artist_uuid
    from {{ ref('stg_artist_catalogue') }} as c
    inner join {{ ref('stg_watchlist') }} as w on w.kind = 'artist' and w.ident = c.artist_uuid
    union all
    select ident as track_uuid, null as artist_uuid
    from {{ ref('stg_watchlist') }}
    where kind = 'song'
    union all
    select song_uuid as track_uuid, null as artist_uuid
    from {{ ref('stg_watchlist') }}
    where kind = 'isrc' and status = 'ok' and song_uuid is not null
),
songs as (
    select track_uuid, max(artist_uuid) as watched_artist_uuid
    from watched
    group by track_uuid
),
growth as (
    select d.track_uuid, sum(d.daily_value) as growth_7d
    from {{ ref('track_audience_daily') }} as d
    inner join songs as s on d.track_uuid = s.track_uuid
    where d.audience_date > current_date - 7
    group by d.track_uuid
),
charted as (
    select
        e.track_uuid,
        count(*) as chart_entries,
        count(distinct e.chart_slug) as charts,
        min(e.position) as best_position,
        min(e.ranking_date) as first_charted
    from {{ ref('stg_chart_ranking_entries') }} as e
    inner join songs as s on e.track_uuid = s.track_uuid
    group by e.track_uuid
)

select
    s.track_uuid,
    t.track_name,
    coalesce(a.artist_name, t.credit_name) as artist_name,
    t.release_date,
    coalesce(g.growth_7d, 0) as growth_7d,
    coalesce(c.chart_entries, 0) as chart_entries,
    coalesce(c.charts, 0) as charts,
    c.best_position,
    c.first_charted
from songs as s
left join {{ ref('stg_tracks') }} as t on s.track_uuid = t.track_uuid
left join {{ ref('stg_artists') }} as a
    on a.artist_uuid = coalesce(s.watched_artist_uuid, t.primary_artist_uuid)
left join growth as g on s.track_uuid = g.track_uuid
left join charted as c on s.track_uuid = c.track_uuid
