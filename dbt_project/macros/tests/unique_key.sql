{#
  The key of an incremental model: no two rows share `columns`. A build checks the rows of the
  model's latest load (its loaded_before), and where a unique index over exactly these columns
  exists (unique_key_index, on PostgreSQL) the database already refuses a duplicate in any row,
  so the scan is skipped (a one-time condition evaluated before it). The complete suite
  (--vars '{all_tests: true}', as CI runs it) scans every row regardless.
#}
{% test unique_key(model, columns) %}
{%- set complete = var('all_tests', false) -%}
select {{ columns | join(', ') }}
from {{ model }}
{%- if not complete %}
where loaded_before = (select max(loaded_before) from {{ model }})
    and not {{ unique_key_enforced(model, columns) }}
{%- endif %}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
