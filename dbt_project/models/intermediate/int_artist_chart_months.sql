{{ config(
    materialized='incremental',
    unique_key=['chart_slug', 'month_start'],
    incremental_strategy='delete+insert',
    indexes=postgres_indexes(['chart_slug', 'month_start'], ['loaded_before']),
) }}
-- Each artist's chart days and best position in each chart and month, over the artists each
-- track credits now: the per-period aggregate artist_analytics rolls up (chart days add up
-- across periods, as a chart day lies in one). A build recomputes the (chart, month) periods
-- with a ranking fetched in the load window and the periods in which a track whose credited
-- artists (or genre) changed had charted.
with periods as (
    select distinct chart_slug, {{ month_start('ranking_date') }} as month_start
    from {{ ref('stg_chart_rankings') }}
    where {{ in_load_window('fetched_at') }}
    union
    select m.chart_slug, m.month_start
    from {{ ref('int_chart_track_months') }} as m
    inner join {{ ref('int_track_attributes') }} as a on m.track_uuid = a.track_uuid
    where {{ in_load_window('a.loaded_before', stamped=true) }}
)

select
    e.chart_slug,
    p.month_start,
    ta.artist_uuid,
    count(distinct e.ranking_date) as chart_days,
    min(e.position) as best_position,
    {{ load_window_end() }} as loaded_before
from {{ ref('stg_chart_ranking_entries') }} as e
inner join periods as p
    on e.chart_slug = p.chart_slug
    and e.ranking_date >= p.month_start
    and e.ranking_date < {{ dbt.dateadd('month', 1, 'p.month_start') }}
inner join {{ ref('stg_track_artists') }} as ta on e.track_uuid = ta.track_uuid
group by e.chart_slug, p.month_start, ta.artist_uuid
