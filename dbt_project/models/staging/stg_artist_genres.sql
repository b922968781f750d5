select artist_uuid, genre_id, is_primary
from {{ source('soundcharts', 'artist_genres') }}
