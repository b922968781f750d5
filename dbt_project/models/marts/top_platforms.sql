-- Platforms by ranking volume over the last month.
select
    c.platform,
    count(distinct r.chart_slug) as charts,
    count(*) as rankings,
    sum(r.entry_count) as entries
from {{ ref('stg_chart_rankings') }} as r
inner join {{ ref('stg_charts') }} as c on r.chart_slug = c.chart_slug
where r.ranking_date >= current_date - 30
group by c.platform
