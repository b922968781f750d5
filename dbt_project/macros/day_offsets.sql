{# A one-column relation of the integers 0..n-1, for date spines on any adapter. #}
{% macro day_offsets(n) -%}
    {% for i in range(n) %}select {{ i }} as day_offset{% if not loop.last %} union all {% endif %}{% endfor %}
{%- endmacro %}
