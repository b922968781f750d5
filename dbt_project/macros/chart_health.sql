{#
  A chart's sync state: never synced / paused / not subscribed / overdue / late / healthy. The
  rule is musiccharts_pipeline.sync.health.chart_state; this is its SQL, tested against it on
  DuckDB and PostgreSQL (test_health.py). age_days: whole days since the newest stored ranking
  (null when none); subscribed, active: booleans.
#}
{% macro chart_period_days(frequency, custom_hours) -%}
    case {{ frequency }}
        when 'weekly' then 7
        when 'monthly' then 31
        when 'custom' then coalesce({{ custom_hours }}, 24) / 24.0
        else 1
    end
{%- endmacro %}

{% macro chart_sync_state(age_days, frequency, custom_hours, subscribed, active) -%}
    case
        when {{ age_days }} is null then 'never synced'
        when {{ subscribed }} and not {{ active }} then 'paused'
        when not {{ subscribed }} then 'not subscribed'
        when {{ age_days }} > {{ chart_period_days(frequency, custom_hours) }} + 2 then 'overdue'
        when {{ age_days }} <= {{ chart_period_days(frequency, custom_hours) }} then 'healthy'
        else 'late'
    end
{%- endmacro %}
