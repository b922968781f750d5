select
    chart_slug,
    cast(ranking_date as date) as ranking_date,
    entry_count,
    cast(fetched_at as timestamp) as fetched_at,
    cast(fetched_at as date) as fetched_date
from {{ source('soundcharts', 'chart_rankings') }}
