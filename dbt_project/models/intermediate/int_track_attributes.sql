{{ config(
    materialized='incremental',
    unique_key='track_uuid',
    incremental_strategy='replace_by_key',
    indexes=postgres_indexes(['loaded_before']),
    post_hook="{{ enforce_unique_key(['track_uuid']) }}",
) }}
-- What a track's history-wide aggregates read from its metadata: the artists it credits and
-- its primary genre. Links and genres are rewritten when the track's metadata is fetched, so
-- the tracks fetched in the load window are compared with their stored attributes and only
-- new or changed ones are written: a row's loaded_before is when its attributes last changed.
-- The marts that aggregate history by artist or by genre recompute exactly those tracks'
-- periods, and a routine metadata refetch that changes nothing costs them nothing.
with fetched as (
    select track_uuid
    from {{ ref('stg_tracks') }}
    where {{ in_load_window('metadata_fetched_at') }}
),

artists as (
    select
        ta.track_uuid,
        {{ dbt.listagg('ta.artist_uuid', "'|'", 'order by ta.artist_uuid') }} as artist_uuids
    from {{ ref('stg_track_artists') }} as ta
    inner join fetched as f on ta.track_uuid = f.track_uuid
    group by ta.track_uuid
),

genres as (
    select tg.track_uuid, max(tg.genre_id) as primary_genre_id
    from {{ ref('stg_track_genres') }} as tg
    inner join fetched as f on tg.track_uuid = f.track_uuid
    where tg.is_primary
    group by tg.track_uuid
),

attributes as (
    select f.track_uuid, a.artist_uuids, g.primary_genre_id
    from fetched as f
    left join artists as a on f.track_uuid = a.track_uuid
    left join genres as g on f.track_uuid = g.track_uuid
)

select n.track_uuid, n.artist_uuids, n.primary_genre_id, {{ load_window_end() }} as loaded_before
from attributes as n
{{ only_new_or_changed('n', ['track_uuid'], ['artist_uuids', 'primary_genre_id']) }}
