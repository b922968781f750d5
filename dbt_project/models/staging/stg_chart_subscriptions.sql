select
    chart_slug,
    platform,
    frequency,
    custom_interval_hours,
    active as is_active,
    sync_historical_data,
    auto_fetch_metadata,
    auto_fetch_audience
from {{ source('soundcharts', 'chart_subscriptions') }}
