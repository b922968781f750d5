select
    track_uuid,
    artist_uuid,
    position as artist_position,
    is_primary
from {{ source('soundcharts', 'track_artists') }}
