{#
  Tests on large incremental models carry `where: "loaded_before = __latest_load__"`: a build
  checks the rows the model's latest build wrote (its load window), not all history again.
  The stamp is read before the test runs and inlined as a constant: compared with a subquery's
  value, unknown when the query is planned, PostgreSQL expects a large share of the table (a
  full build stamps every row alike) and scans it. The complete suite (`--vars '{all_tests:
  true}'`, as CI runs it) checks every row. Any other `where` is applied as dbt applies it.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and '__latest_load__' in where -%}
        {%- if var('all_tests', false) -%}
            {%- set where = none -%}
        {%- else -%}
            {%- set where = where | replace('__latest_load__', latest_load_constant(relation)) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{# The stamp of a model's latest build (its loaded_before: what that build wrote), read when
   the test runs, as a constant. #}
{% macro latest_load_constant(relation) -%}
    {%- set newest = none -%}
    {%- if execute and load_relation(relation) is not none -%}
        {%- set newest = run_query('select max(loaded_before) from ' ~ relation).columns[0].values()[0] -%}
    {%- endif -%}
    {{ return("cast('" ~ newest ~ "' as timestamp)" if newest is not none else 'null') }}
{%- endmacro %}
