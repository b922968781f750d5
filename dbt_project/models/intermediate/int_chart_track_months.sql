{{ config(
    materialized='incremental',
    unique_key=['chart_slug', 'month_start'],
    incremental_strategy='replace_by_key',
    indexes=postgres_indexes(['track_uuid'], ['loaded_before']),
    post_hook="{{ enforce_unique_key(['chart_slug', 'month_start', 'track_uuid']) }}",
) }}
-- Each track's appearances in each chart and month: the per-period aggregate top_tracks rolls
-- up (about a tenth of the entries' rows). A build recomputes the (chart, month) periods with a
-- ranking fetched in the load window, from their entries alone: a new day costs its month.
with periods as (
    select distinct chart_slug, {{ month_start('ranking_date') }} as month_start
    from {{ ref('stg_chart_rankings') }}
    where {{ in_load_window('fetched_at') }}
),

rankings as (
    -- the periods' rankings: their entries are then read by key
    select r.chart_slug, r.ranking_date, p.month_start
    from {{ ref('stg_chart_rankings') }} as r
    inner join periods as p
        on r.chart_slug = p.chart_slug and {{ month_start('r.ranking_date') }} = p.month_start
)

select
    e.chart_slug,
    p.month_start,
    e.track_uuid,
    count(*) as appearances,
    min(e.position) as best_position,
    max(e.ranking_date) as last_seen,
    max(e.track_name) as track_name,
    max(e.credit_name) as credit_name,
    {{ load_window_end() }} as loaded_before
from {{ ref('stg_chart_ranking_entries') }} as e
inner join rankings as p on e.chart_slug = p.chart_slug and e.ranking_date = p.ranking_date
group by e.chart_slug, p.month_start, e.track_uuid
