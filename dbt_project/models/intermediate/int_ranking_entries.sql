-- Ranking entries with their track, primary artist and genre, and the movement against the
-- chart's previous stored ranking (the API's own oldPosition when no earlier ranking is stored).
with entries as (
    select * from {{ ref('stg_chart_ranking_entries') }}
),

rankings as (
    select
        chart_slug,
        ranking_date,
        lag(ranking_date) over (partition by chart_slug order by ranking_date) as previous_ranking_date
    from {{ ref('stg_chart_rankings') }}
),

history as (
    select
        e.*,
        r.previous_ranking_date,
        count(*) over (
            partition by e.chart_slug, e.track_uuid order by e.ranking_date
            rows between unbounded preceding and current row
        ) as appearances_to_date,
        min(e.position) over (
            partition by e.chart_slug, e.track_uuid order by e.ranking_date
            rows between unbounded preceding and current row
        ) as peak_position
    from entries as e
    inner join rankings as r
        on e.chart_slug = r.chart_slug and e.ranking_date = r.ranking_date
),

with_previous as (
    select
        h.*,
        p.position as stored_previous_position
    from history as h
    left join entries as p
        on h.chart_slug = p.chart_slug
        and h.previous_ranking_date = p.ranking_date
        and h.track_uuid = p.track_uuid
),

classified as (
    select
        *,
        case
            when previous_ranking_date is not null then stored_previous_position
            else old_position
        end as previous_position
    from with_previous
)

select
    c.chart_slug,
    ch.platform,
    ch.frequency,
    c.ranking_date,
    c.position,
    c.track_uuid,
    coalesce(t.track_name, c.track_name) as track_name,
    coalesce(t.credit_name, c.credit_name) as credit_name,
    t.primary_artist_uuid,
    a.artist_name as primary_artist_name,
    t.primary_genre,
    c.metric,
    c.previous_position,
    c.previous_position - c.position as position_change,
    case
        when c.previous_position is null
            and (c.appearances_to_date > 1 or c.entry_state = 'RE_ENTRY') then 're-entry'
        when c.previous_position is null then 'new'
        when c.previous_position > c.position then 'up'
        when c.previous_position < c.position then 'down'
        else 'same'
    end as movement,
    c.time_on_chart,
    c.time_on_chart_unit,
    c.appearances_to_date,
    c.peak_position
from classified as c
left join {{ ref('stg_charts') }} as ch on c.chart_slug = ch.chart_slug
left join {{ ref('stg_tracks') }} as t on c.track_uuid = t.track_uuid
left join {{ ref('stg_artists') }} as a on t.primary_artist_uuid = a.artist_uuid
