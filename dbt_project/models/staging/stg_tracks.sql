select
    uuid as track_uuid,
    name as track_name,
    credit_name,
    cast(release_date as date) as release_date,
    duration as duration_seconds,
    isrc,
    label,
    primary_artist_uuid,
    primary_genre,
    cast(metadata_fetched_at as timestamp) as metadata_fetched_at,
    cast(audience_fetched_at as timestamp) as audience_fetched_at
from {{ source('soundcharts', 'tracks') }}
