select
    uuid as album_uuid,
    name as album_name,
    album_type,
    upc,
    cast(release_date as date) as release_date,
    label,
    total_tracks,
    cast(metadata_fetched_at as timestamp) as metadata_fetched_at
from {{ source('soundcharts', 'albums') }}
