{{ config(
    materialized='incremental',
    unique_key=['chart_slug', 'month_start'],
    incremental_strategy='replace_by_key',
    indexes=postgres_indexes(['loaded_before']),
    post_hook="{{ enforce_unique_key(['chart_slug', 'month_start', 'artist_uuid']) }}",
) }}
-- Each artist's chart days and best position in each chart and month, over the artists each
-- track credits now: the per-period aggregate artist_analytics rolls up (chart days add up
-- across periods, as a chart day lies in one). A build recomputes the (chart, month) periods
-- with a ranking fetched in the load window and the periods in which a track whose credited
-- artists (or genre) changed had charted.
{% set track_months = ref('int_chart_track_months') %}
{% set changed = changed_since_last_build(ref('int_track_attributes'), 'track_uuid') %}
with periods as (
    select distinct chart_slug, {{ month_start('ranking_date') }} as month_start
    from {{ ref('stg_chart_rankings') }}
    where {{ in_load_window('fetched_at') }}
    {% if changed %}
        union
        select chart_slug, month_start
        from {{ track_months }}
        where track_uuid in ({{ changed }})
    {% endif %}
),

rankings as (
    -- the periods' rankings: their entries are then read by key
    select r.chart_slug, r.ranking_date, p.month_start
    from {{ ref('stg_chart_rankings') }} as r
    inner join periods as p
        on r.chart_slug = p.chart_slug and {{ month_start('r.ranking_date') }} = p.month_start
),

artist_days as (
    select e.chart_slug, p.month_start, ta.artist_uuid, e.ranking_date, min(e.position) as position
    from {{ ref('stg_chart_ranking_entries') }} as e
    inner join rankings as p on e.chart_slug = p.chart_slug and e.ranking_date = p.ranking_date
    inner join {{ ref('stg_track_artists') }} as ta on e.track_uuid = ta.track_uuid
    group by e.chart_slug, p.month_start, ta.artist_uuid, e.ranking_date
)

select
    chart_slug,
    month_start,
    artist_uuid,
    count(*) as chart_days,
    min(position) as best_position,
    {{ load_window_end() }} as loaded_before
from artist_days
group by chart_slug, month_start, artist_uuid
