{#
  Index configs for a model on PostgreSQL, none elsewhere: each argument is a list of columns.
  dbt creates them when it creates the table (first build, full refresh). DuckDB gets none: it
  prunes by each row group's min/max (zonemaps), and its incremental models append in load
  order, so recent stamps and dates sit together at the end of the table.
#}
{% macro postgres_indexes() -%}
    {%- set out = [] -%}
    {%- if target.type == 'postgres' -%}
        {%- for columns in varargs -%}{%- do out.append({'columns': columns}) -%}{%- endfor -%}
    {%- endif -%}
    {{ return(out) }}
{%- endmacro %}
