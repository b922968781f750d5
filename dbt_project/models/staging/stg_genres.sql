select
    id as genre_id,
    name as genre_name,
    parent_id as parent_genre_id,
    level as genre_level,
    soundcharts_root as root_genre
from {{ source('soundcharts', 'genres') }}
