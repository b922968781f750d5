{#
  The key of an incremental model: no two rows share `columns`. A build checks the rows of the
  model's latest load (its loaded_before); the complete suite (--vars '{all_tests: true}', as CI
  runs it) reads every row. Models whose build enforces their key (macros/unique_key.sql) run
  it in the complete suite only.
#}
{% test unique_key(model, columns) %}
select {{ columns | join(', ') }}
from {{ model }}
{%- if not var('all_tests', false) %}
where loaded_before = (select max(loaded_before) from {{ model }})
{%- endif %}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
