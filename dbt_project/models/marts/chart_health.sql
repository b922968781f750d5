-- Per chart: whether it received a ranking within its frequency, overdue, sync success and speed.
-- Every chart that was synced or is subscribed: a subscription with no ranking yet is
-- "never synced", and counts as unhealthy. The state is the chart_sync_state macro
-- (musiccharts_pipeline/sync/health.py's rule, tested against it).
with charts as (
    select
        coalesce(c.chart_slug, s.chart_slug) as chart_slug,
        c.chart_name,
        coalesce(c.platform, s.platform) as platform,
        coalesce(s.frequency, c.frequency) as frequency,
        s.custom_interval_hours,
        s.chart_slug is not null as has_subscription,
        coalesce(s.is_active, false) as is_subscribed
    from {{ ref('stg_charts') }} as c
    full outer join {{ ref('stg_chart_subscriptions') }} as s on c.chart_slug = s.chart_slug
),

latest as (
    select chart_slug, max(ranking_date) as latest_ranking_date, count(*) as rankings
    from {{ ref('stg_chart_rankings') }}
    group by chart_slug
),

syncs as (
    select
        chart_slug,
        sum(case when status = 'success' then 1 else 0 end) as successful_syncs,
        sum(case when status in ('success', 'failed') then 1 else 0 end) as attempted_syncs,
        avg(case when status = 'success' then duration_seconds end) as mean_sync_seconds,
        max(case when status = 'success' then finished_at end) as last_success_at
    from {{ ref('stg_chart_sync_log') }}
    group by chart_slug
),

scored as (
    select
        charts.*,
        latest.latest_ranking_date,
        coalesce(latest.rankings, 0) as rankings,
        {{ days_between('latest.latest_ranking_date', 'current_date') }} as days_since_latest,
        {{ chart_period_days('charts.frequency', 'charts.custom_interval_hours') }} as period_days,
        syncs.successful_syncs,
        syncs.attempted_syncs,
        syncs.mean_sync_seconds,
        syncs.last_success_at
    from charts
    left join latest on charts.chart_slug = latest.chart_slug
    left join syncs on charts.chart_slug = syncs.chart_slug
)

select
    chart_slug,
    chart_name,
    platform,
    frequency,
    is_subscribed,
    latest_ranking_date,
    rankings,
    days_since_latest,
    coalesce(days_since_latest <= period_days, false) as is_active,
    coalesce(days_since_latest > period_days + 2, true) as is_overdue,
    {{ chart_sync_state(
        'days_since_latest', 'frequency', 'custom_interval_hours', 'has_subscription',
        'is_subscribed'
    ) }} as sync_state,
    case when attempted_syncs > 0
        then round(cast(100.0 * successful_syncs / attempted_syncs as numeric), 1) end
        as sync_success_pct,
    round(cast(mean_sync_seconds as numeric), 3) as mean_sync_seconds,
    last_success_at,
    round(cast(100.0 * sum(case when days_since_latest <= period_days then 1 else 0 end) over ()
        / count(*) over () as numeric), 1) as health_pct
from scored
