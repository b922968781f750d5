select
    track_uuid,
    album_uuid,
    is_original
from {{ source('soundcharts', 'track_albums') }}
