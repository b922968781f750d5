{# The first day of a date's month, as a date, on any adapter. #}
{% macro month_start(date) -%}
    cast({{ dbt.date_trunc('month', date) }} as date)
{%- endmacro %}
