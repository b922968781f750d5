{{ config(
    materialized='incremental',
    unique_key='ranking_date',
    incremental_strategy='delete+insert',
    indexes=postgres_indexes(['ranking_date'], ['loaded_before']),
) }}
-- Chart presence by root and sub genre over time (each entry counted under its primary genre).
-- Incremental: a build recomputes the days with a ranking fetched in the load window and the
-- days on which a track whose genre (or credited artists) changed had charted.
with days as (
    select ranking_date
    from {{ ref('stg_chart_rankings') }}
    where {{ in_load_window('fetched_at') }}
    union
    select e.ranking_date
    from {{ ref('stg_chart_ranking_entries') }} as e
    inner join {{ ref('int_track_attributes') }} as a on e.track_uuid = a.track_uuid
    where {{ in_load_window('a.loaded_before', stamped=true) }}
),

entries as (
    select e.ranking_date, e.track_uuid
    from days as d
    inner join {{ ref('stg_chart_rankings') }} as r on d.ranking_date = r.ranking_date
    inner join {{ ref('stg_chart_ranking_entries') }} as e
        on r.chart_slug = e.chart_slug and r.ranking_date = e.ranking_date
)

select
    e.ranking_date,
    g.root_genre,
    case when g.genre_level = 1 then g.genre_name end as sub_genre,
    count(*) as chart_entries,
    count(distinct e.track_uuid) as tracks,
    {{ load_window_end() }} as loaded_before
from entries as e
inner join {{ ref('stg_track_genres') }} as tg
    on e.track_uuid = tg.track_uuid and tg.is_primary
inner join {{ ref('stg_genres') }} as g on tg.genre_id = g.genre_id
group by e.ranking_date, g.root_genre, case when g.genre_level = 1 then g.genre_name end
