select
    artist_uuid,
    platform,
    cast(date as date) as audience_date,
    value as listeners
from {{ source('soundcharts', 'artist_streaming') }}
