-- Rankings fetched per day over the last 7 days, and this week against the week before.
with days as (
    select cast(current_date - day_offset as date) as fetched_date, day_offset
    from ({{ day_offsets(14) }}) as offsets
),

fetched as (
    select fetched_date, count(*) as rankings_fetched
    from {{ ref('stg_chart_rankings') }}
    where fetched_date >= current_date - 13
    group by fetched_date
),

daily as (
    select d.fetched_date, d.day_offset, coalesce(f.rankings_fetched, 0) as rankings_fetched
    from days as d
    left join fetched as f on d.fetched_date = f.fetched_date
),

weeks as (
    select
        sum(case when day_offset < 7 then rankings_fetched else 0 end) as this_week,
        sum(case when day_offset >= 7 then rankings_fetched else 0 end) as previous_week
    from daily
)

select
    daily.fetched_date,
    daily.rankings_fetched,
    weeks.this_week,
    weeks.previous_week,
    case
        when weeks.previous_week = 0 then null
        else round(cast(100.0 * (weeks.this_week - weeks.previous_week) / weeks.previous_week as numeric), 1)
    end as week_over_week_pct
from daily
cross join weeks
where daily.day_offset < 7
