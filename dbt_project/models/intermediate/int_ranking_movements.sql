{{ config(
    materialized='incremental',
    unique_key=['chart_slug', 'ranking_date'],
    incremental_strategy='replace_by_key',
    indexes=postgres_indexes(['chart_slug', 'track_uuid', 'ranking_date'], ['loaded_before']),
    post_hook="{{ enforce_unique_key(['chart_slug', 'ranking_date', 'position']) }}",
) }}
-- Each ranking entry's movement against the chart's previous stored ranking (the API's own
-- oldPosition when no earlier ranking is stored), appearances and peak so far.
-- Incremental: for every chart with a ranking fetched in the load window, the rankings from the
-- oldest such date on are recomputed, since a late or backfilled ranking changes the ones after
-- it too. What came before that date is read from this model's own rows: the chart's previous
-- ranking (position, appearances and peak of its tracks) and, for the other tracks recomputed,
-- their last stored state. A new day costs that day's entries, not the chart's history; every
-- lookup into history goes through an index, and the rows are combined by window functions.
with changed as (
    select chart_slug, min(ranking_date) as recompute_from
    from {{ ref('stg_chart_rankings') }}
    where {{ in_load_window('fetched_at') }}
    group by chart_slug
),

bounds as (
    -- the stored ranking just before recompute_from
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

recomputed as (
    select e.*, r.previous_ranking_date
    from {{ ref('stg_chart_ranking_entries') }} as e
    inner join rankings as r
        on e.chart_slug = r.chart_slug and e.ranking_date = r.ranking_date
    inner join bounds as b
        on e.chart_slug = b.chart_slug and e.ranking_date >= b.recompute_from
),

timeline as (
    -- the recomputed entries, and before them what is stored (state_* columns)
    select
        chart_slug, track_uuid, ranking_date, position, previous_ranking_date,
        track_name, credit_name, metric, old_position, entry_state, time_on_chart,
        time_on_chart_unit,
        1 as is_recomputed,
        cast(null as bigint) as state_appearances,
        cast(null as integer) as state_peak
    from recomputed
    {% if is_incremental() %}
        union all
        -- each chart's previous ranking as stored: the state of the tracks on it
        select
            m.chart_slug, m.track_uuid, m.ranking_date, m.position, null, null, null, null,
            null, null, null, null, 0, m.appearances_to_date, m.peak_position
        from {{ this }} as m
        inner join bounds as b
            on m.chart_slug = b.chart_slug and m.ranking_date = b.previous_date
        union all
        -- the other tracks recomputed: their last stored state, if any
        select
            n.chart_slug, n.track_uuid, null, null, null, null, null, null, null, null, null,
            null, 0, max(m.appearances_to_date), min(m.peak_position)
        from (
            -- the short list first (offset 0 keeps PostgreSQL from reading the history of
            -- every recomputed track before dropping those on the previous ranking)
            select distinct r.chart_slug, r.track_uuid, b.recompute_from
            from recomputed as r
            inner join bounds as b on r.chart_slug = b.chart_slug
            where not exists (
                select 1
                from {{ this }} as s
                where s.chart_slug = r.chart_slug
                    and s.track_uuid = r.track_uuid
                    and s.ranking_date = b.previous_date
            )
            offset 0
        ) as n
        inner join {{ this }} as m
            on n.chart_slug = m.chart_slug
            and n.track_uuid = m.track_uuid
            and m.ranking_date < n.recompute_from
        group by n.chart_slug, n.track_uuid
    {% endif %}
),

classified as (
    select
        *,
        coalesce(max(state_appearances) over (partition by chart_slug, track_uuid), 0)
        + sum(is_recomputed) over (
            partition by chart_slug, track_uuid order by ranking_date nulls first
            rows between unbounded preceding and current row
        ) as appearances_to_date,
        min(coalesce(state_peak, position)) over (
            partition by chart_slug, track_uuid order by ranking_date nulls first
            rows between unbounded preceding and current row
        ) as peak_position,
        lag(ranking_date) over (
            partition by chart_slug, track_uuid order by ranking_date nulls first
        ) as last_seen,
        lag(position) over (
            partition by chart_slug, track_uuid order by ranking_date nulls first
        ) as last_position
    from timeline
),

moved as (
    select
        *,
        case
            when previous_ranking_date is null then old_position
            when last_seen = previous_ranking_date then last_position
        end as previous_position
    from classified
    where is_recomputed = 1
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
    {{ movement_label('position', 'previous_position', 'appearances_to_date > 1', 'entry_state') }}
        as movement,
    time_on_chart,
    time_on_chart_unit,
    cast(appearances_to_date as bigint) as appearances_to_date,
    peak_position,
    {{ load_window_end() }} as loaded_before
from moved
