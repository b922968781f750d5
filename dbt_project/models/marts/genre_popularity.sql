-- Chart presence by root and sub genre over time (each entry counted under its primary genre).
select
    e.ranking_date,
    g.root_genre,
    case when g.genre_level = 1 then g.genre_name end as sub_genre,
    count(*) as chart_entries,
    count(distinct e.track_uuid) as tracks
from {{ ref('int_ranking_entries') }} as e
inner join {{ ref('stg_track_genres') }} as tg
    on e.track_uuid = tg.track_uuid and tg.is_primary
inner join {{ ref('stg_genres') }} as g on tg.genre_id = g.genre_id
group by e.ranking_date, g.root_genre, case when g.genre_level = 1 then g.genre_name end
