select
    slug as chart_slug,
    name as chart_name,
    platform,
    lower(frequency) as frequency,
    country_code,
    max_results_count,
    metric_type
from {{ source('soundcharts', 'charts') }}
