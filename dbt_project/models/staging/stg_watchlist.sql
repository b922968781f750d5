select
    kind,
    ident,
    song_uuid,
    status,
    cast(added_at as timestamp) as added_at
from {{ source('soundcharts', 'watchlist') }}
