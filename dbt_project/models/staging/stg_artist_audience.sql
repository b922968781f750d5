select
    artist_uuid,
    platform,
    cast(date as date) as audience_date,
    follower_count
from {{ source('soundcharts', 'artist_audience') }}
