{{ config(
    materialized='incremental',
    unique_key='ranking_date',
    incremental_strategy='replace_by_key',
    indexes=postgres_indexes(['ranking_date'], ['loaded_before']),
    post_hook="{{ enforce_unique_key(['ranking_date', 'root_genre', 'sub_genre'], nullable=true) }}",
) }}
-- Chart presence by root and sub genre over time (each entry counted under its primary genre).
-- Incremental by day: a build recomputes the days with a ranking fetched in the load window and
-- the days on which a track whose genre (or credited artists) changed had charted. The days are
-- listed before the model runs, so their entries are read by key.
{% set entries = ref('stg_chart_ranking_entries') %}
{% set changed = changed_since_last_build(ref('int_track_attributes'), 'track_uuid') %}
{% set days %}
    select ranking_date from {{ ref('stg_chart_rankings') }} where {{ in_load_window('fetched_at') }}
    {% if changed %}
        union
        select ranking_date from {{ entries }} where track_uuid in ({{ changed }})
    {% endif %}
{% endset %}

select
    e.ranking_date,
    g.root_genre,
    case when g.genre_level = 1 then g.genre_name end as sub_genre,
    count(*) as chart_entries,
    count(distinct e.track_uuid) as tracks,
    {{ load_window_end() }} as loaded_before
from {{ ref('stg_chart_rankings') }} as r
inner join {{ entries }} as e
    on r.chart_slug = e.chart_slug and r.ranking_date = e.ranking_date
inner join {{ ref('stg_track_genres') }} as tg
    on e.track_uuid = tg.track_uuid and tg.is_primary
inner join {{ ref('stg_genres') }} as g on tg.genre_id = g.genre_id
{% if is_incremental() %}
    where r.ranking_date in ({{ inlined(days) }})
{% endif %}
group by e.ranking_date, g.root_genre, case when g.genre_level = 1 then g.genre_name end
