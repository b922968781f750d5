select
    track_uuid,
    platform,
    identifier,
    cast(date as date) as audience_date,
    value as cumulative_value
from {{ source('soundcharts', 'track_audience') }}
