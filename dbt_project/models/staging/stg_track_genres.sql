select track_uuid, genre_id, is_primary
from {{ source('soundcharts', 'track_genres') }}
