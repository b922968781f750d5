select
    run_id,
    chart_slug,
    cast(ranking_date as date) as ranking_date,
    status,
    published,
    entry_count,
    api_calls,
    cast(started_at as timestamp) as started_at,
    cast(finished_at as timestamp) as finished_at,
    duration_seconds
from {{ source('soundcharts', 'chart_sync_log') }}
