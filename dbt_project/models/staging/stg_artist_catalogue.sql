select
    artist_uuid,
    song_uuid as track_uuid,
    song_name as track_name,
    cast(release_date as date) as release_date,
    cast(first_listed_at as timestamp) as first_listed_at
from {{ source('soundcharts', 'artist_catalogue') }}
