{{ config(
    materialized='incremental',
    unique_key=['chart_slug', 'ranking_date'],
    incremental_strategy='delete+insert',
) }}
-- Each ranking entry's movement against the chart's previous stored ranking (the API's own
-- oldPosition when no earlier ranking is stored), appearances and peak so far.
-- Incremental over the half-open load window [last build, this build): for every chart with a
-- ranking fetched in it, the rankings from the oldest such date on are recomputed (over the
-- chart's whole history), since a late or backfilled ranking changes the ones after it too.
{% set built_before = "cast('" ~ run_started_at.strftime("%Y-%m-%d %H:%M:%S") ~ "' as timestamp)" %}
with changed as (
    select chart_slug, min(ranking_date) as recompute_from
    from {{ ref('stg_chart_rankings') }}
    where fetched_at < {{ built_before }}
    {% if is_incremental() %}
        and fetched_at >= (
            select coalesce(max(loaded_before), cast('1900-01-01' as timestamp)) from {{ this }}
        )
    {% endif %}
    group by chart_slug
),

entries as (
    select e.*
    from {{ ref('stg_chart_ranking_entries') }} as e
    inner join changed as c on e.chart_slug = c.chart_slug
),

rankings as (
    select
        r.chart_slug,
        r.ranking_date,
        lag(r.ranking_date) over (partition by r.chart_slug order by r.ranking_date)
            as previous_ranking_date
    from {{ ref('stg_chart_rankings') }} as r
    inner join changed as c on r.chart_slug = c.chart_slug
),

history as (
    select
        e.*,
        r.previous_ranking_date,
        count(*) over (
            partition by e.chart_slug, e.track_uuid order by e.ranking_date
            rows between unbounded preceding and current row
        ) as appearances_to_date,
        min(e.position) over (
            partition by e.chart_slug, e.track_uuid order by e.ranking_date
            rows between unbounded preceding and current row
        ) as peak_position
    from entries as e
    inner join rankings as r
        on e.chart_slug = r.chart_slug and e.ranking_date = r.ranking_date
),

with_previous as (
    select
        h.*,
        p.position as stored_previous_position
    from history as h
    left join entries as p
        on h.chart_slug = p.chart_slug
        and h.previous_ranking_date = p.ranking_date
        and h.track_uuid = p.track_uuid
),

classified as (
    select
        *,
        case
            when previous_ranking_date is not null then stored_previous_position
            else old_position
        end as previous_position
    from with_previous
)

select
    c.chart_slug,
    c.ranking_date,
    c.position,
    c.track_uuid,
    c.track_name,
    c.credit_name,
    c.metric,
    c.previous_position,
    c.previous_position - c.position as position_change,
    case
        when c.previous_position is null
            and (c.appearances_to_date > 1 or c.entry_state = 'RE_ENTRY') then 're-entry'
        when c.previous_position is null then 'new'
        when c.previous_position > c.position then 'up'
        when c.previous_position < c.position then 'down'
        else 'same'
    end as movement,
    c.time_on_chart,
    c.time_on_chart_unit,
    c.appearances_to_date,
    c.peak_position,
    {{ built_before }} as loaded_before
from classified as c
inner join changed on c.chart_slug = changed.chart_slug and c.ranking_date >= changed.recompute_from
