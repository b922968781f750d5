select
    chart_slug,
    cast(ranking_date as date) as ranking_date,
    position,
    song_uuid as track_uuid,
    song_name as track_name,
    credit_name,
    old_position,
    position_evolution,
    metric,
    coalesce(entry_state, '') as entry_state,
    cast(entry_date as date) as entry_date,
    time_on_chart,
    time_on_chart_unit
from {{ source('soundcharts', 'chart_ranking_entries') }}
