{#
  A ranking entry's movement: new / re_entry / up / down / same. The rule is
  musiccharts_pipeline.sync.movement.classify; this is its SQL, tested against it on DuckDB and
  PostgreSQL (test_movement.py). seen_before is a boolean expression: the track was on the
  chart at an earlier date; entry_state the API's own flag ('RE_ENTRY' says the same).
#}
{% macro movement_label(position, previous_position, seen_before, entry_state) -%}
    case
        when {{ previous_position }} is null
            and ({{ seen_before }} or {{ entry_state }} = 'RE_ENTRY') then 're_entry'
        when {{ previous_position }} is null then 'new'
        when {{ previous_position }} > {{ position }} then 'up'
        when {{ previous_position }} < {{ position }} then 'down'
        else 'same'
    end
{%- endmacro %}
