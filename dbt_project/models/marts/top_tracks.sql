-- Tracks by number of chart appearances, with their primary artist.
select
    track_uuid,
    max(track_name) as track_name,
    max(coalesce(primary_artist_name, credit_name)) as artist_name,
    count(*) as chart_appearances,
    count(distinct chart_slug) as charts,
    min(position) as best_position,
    max(ranking_date) as last_seen
from {{ ref('int_ranking_entries') }}
group by track_uuid
