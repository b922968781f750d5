-- Ranking entries with their movement, chart platform, track, primary artist and genre. A view:
-- the history-dependent part is the incremental int_ranking_movements; metadata that arrives
-- after the ranking (tracks, artists, genres) is joined at read time, so it is never stale.
-- loaded_before is the movement's: the tests check the rows of the latest build.
select
    m.chart_slug,
    ch.platform,
    ch.frequency,
    m.ranking_date,
    m.position,
    m.track_uuid,
    coalesce(t.track_name, m.track_name) as track_name,
    coalesce(t.credit_name, m.credit_name) as credit_name,
    t.primary_artist_uuid,
    a.artist_name as primary_artist_name,
    t.primary_genre,
    m.metric,
    m.previous_position,
    m.position_change,
    m.movement,
    m.time_on_chart,
    m.time_on_chart_unit,
    m.appearances_to_date,
    m.peak_position,
    m.loaded_before
from {{ ref('int_ranking_movements') }} as m
left join {{ ref('stg_charts') }} as ch on m.chart_slug = ch.chart_slug
left join {{ ref('stg_tracks') }} as t on m.track_uuid = t.track_uuid
left join {{ ref('stg_artists') }} as a on t.primary_artist_uuid = a.artist_uuid
