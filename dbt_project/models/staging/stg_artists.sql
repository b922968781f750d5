select
    uuid as artist_uuid,
    name as artist_name,
    slug as artist_slug,
    country_code,
    career_stage,
    cast(metadata_fetched_at as timestamp) as metadata_fetched_at,
    cast(audience_fetched_at as timestamp) as audience_fetched_at
from {{ source('soundcharts', 'artists') }}
