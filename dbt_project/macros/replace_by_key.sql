{#
  The incremental models' strategy: dbt's delete+insert (the rows of the recomputed keys are
  deleted, the new rows inserted), with planner statistics on PostgreSQL where dbt leaves none:
  - on the rows the build computed (dbt's temporary table): without them, the delete of an
    unknown number of keys is planned as a scan of the whole target table;
  - (analyze_new_table, in every incremental model's post-hook: macros/unique_key.sql) on a
    table dbt has just created, once: until autovacuum analyzes it, if it runs at all, every
    lookup into it by key is planned as a full scan too.
  DuckDB plans these by itself. Measured at 20x: see the README's Performance section.
#}
{% macro get_incremental_replace_by_key_sql(arg_dict) -%}
    {%- if target.type == 'postgres' -%}
        {%- do run_query('analyze ' ~ arg_dict['temp_relation']) -%}
    {%- endif -%}
    {{- return(get_incremental_delete_insert_sql(arg_dict)) -}}
{%- endmacro %}

{# PostgreSQL: analyze a table dbt has just created, once (a statement for a DO block). #}
{% macro analyze_new_table() -%}
    if not exists (
        select from pg_stats
        where schemaname = '{{ this.schema }}' and tablename = '{{ this.identifier }}'
    ) then
        analyze {{ this }};
    end if;
{%- endmacro %}
