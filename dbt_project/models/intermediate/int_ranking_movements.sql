{{ config(
    materialized='incremental',
    unique_key=['chart_slug', 'ranking_date'],
    incremental_strategy='delete+insert',
    indexes=postgres_indexes(
        ['chart_slug', 'ranking_date'], ['chart_slug', 'track_uuid'], ['loaded_before']
    ),
) }}
-- Each ranking entry's movement against the chart's previous stored ranking (the API's own
-- oldPosition when no earlier ranking is stored), appearances and peak so far.
-- Incremental: for every chart with a ranking fetched in the load window, the rankings from the
-- oldest such date on are recomputed, since a late or backfilled ranking changes the ones after
-- it too. What came before that date is read from this model's own rows (appearances and peak
-- of the tracks concerned) and from the chart's previous ranking, so a new day costs that day's
-- entries, not the chart's history.
with changed as (
    select chart_slug, min(ranking_date) as recompute_from
    from {{ ref('stg_chart_rankings') }}
    where {{ in_load_window('fetched_at') }}
    group by chart_slug
),

bounds as (
    -- the stored ranking just before recompute_from: the first rankings' previous positions
    select c.chart_slug, c.recompute_from, max(r.ranking_date) as previous_date
    from changed as c
    left join {{ ref('stg_chart_rankings') }} as r
        on c.chart_slug = r.chart_slug and r.ranking_date < c.recompute_from
    group by c.chart_slug, c.recompute_from
),

rankings as (
    select
        r.chart_slug,
        r.ranking_date,
        lag(r.ranking_date) over (partition by r.chart_slug order by r.ranking_date)
            as previous_ranking_date
    from {{ ref('stg_chart_rankings') }} as r
    inner join bounds as b
        on r.chart_slug = b.chart_slug
        and r.ranking_date >= coalesce(b.previous_date, b.recompute_from)
),

entries as (
    select e.*
    from {{ ref('stg_chart_ranking_entries') }} as e
    inner join bounds as b
        on e.chart_slug = b.chart_slug
        and e.ranking_date >= coalesce(b.previous_date, b.recompute_from)
),

history as (
    select
        e.*,
        r.previous_ranking_date,
        count(*) over (
            partition by e.chart_slug, e.track_uuid order by e.ranking_date
            rows between unbounded preceding and current row
        ) as appearances_since,
        min(e.position) over (
            partition by e.chart_slug, e.track_uuid order by e.ranking_date
            rows between unbounded preceding and current row
        ) as peak_since
    from entries as e
    inner join rankings as r
        on e.chart_slug = r.chart_slug and e.ranking_date = r.ranking_date
    inner join bounds as b
        on e.chart_slug = b.chart_slug and e.ranking_date >= b.recompute_from
),

{% if is_incremental() %}
before_window as (
    -- appearances and peak before recompute_from, of the tracks recomputed
    select m.chart_slug, m.track_uuid,
        max(m.appearances_to_date) as appearances_before,
        min(m.peak_position) as peak_before
    from {{ this }} as m
    inner join (select distinct chart_slug, track_uuid from history) as h
        on m.chart_slug = h.chart_slug and m.track_uuid = h.track_uuid
    inner join bounds as b
        on m.chart_slug = b.chart_slug and m.ranking_date < b.recompute_from
    group by m.chart_slug, m.track_uuid
),
{% endif %}

classified as (
    select
        h.*,
        case
            when h.previous_ranking_date is not null then p.position
            else h.old_position
        end as previous_position,
        {% if is_incremental() %}
            coalesce(w.appearances_before, 0) + h.appearances_since as appearances_to_date,
            case
                when w.peak_before < h.peak_since then w.peak_before else h.peak_since
            end as peak_position
        {% else %}
            h.appearances_since as appearances_to_date,
            h.peak_since as peak_position
        {% endif %}
    from history as h
    left join entries as p
        on h.chart_slug = p.chart_slug
        and h.previous_ranking_date = p.ranking_date
        and h.track_uuid = p.track_uuid
    {% if is_incremental() %}
        left join before_window as w
            on h.chart_slug = w.chart_slug and h.track_uuid = w.track_uuid
    {% endif %}
)

select
    chart_slug,
    ranking_date,
    position,
    track_uuid,
    track_name,
    credit_name,
    metric,
    previous_position,
    previous_position - position as position_change,
    case
        when previous_position is null
            and (appearances_to_date > 1 or entry_state = 'RE_ENTRY') then 're-entry'
        when previous_position is null then 'new'
        when previous_position > position then 'up'
        when previous_position < position then 'down'
        else 'same'
    end as movement,
    time_on_chart,
    time_on_chart_unit,
    appearances_to_date,
    peak_position,
    {{ load_window_end() }} as loaded_before
from classified
