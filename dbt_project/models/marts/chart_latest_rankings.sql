-- Each chart's newest ranking, with movement and the counts of each kind of move.
with latest as (
    select chart_slug, max(ranking_date) as ranking_date
    from {{ ref('stg_chart_rankings') }}
    group by chart_slug
)

select
    e.chart_slug,
    e.platform,
    e.ranking_date,
    e.position,
    e.track_uuid,
    e.track_name,
    coalesce(e.primary_artist_name, e.credit_name) as artist_name,
    e.movement,
    e.position_change,
    e.peak_position,
    sum(case when e.movement = 'new' then 1 else 0 end) over (partition by e.chart_slug) as new_entries,
    sum(case when e.movement = 're_entry' then 1 else 0 end) over (partition by e.chart_slug) as re_entries,
    sum(case when e.movement = 'up' then 1 else 0 end) over (partition by e.chart_slug) as moving_up,
    sum(case when e.movement = 'down' then 1 else 0 end) over (partition by e.chart_slug) as moving_down,
    sum(case when e.movement = 'same' then 1 else 0 end) over (partition by e.chart_slug) as unchanged
from {{ ref('int_ranking_entries') }} as e
inner join latest as l on e.chart_slug = l.chart_slug and e.ranking_date = l.ranking_date
