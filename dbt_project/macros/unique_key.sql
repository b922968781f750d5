{#
  Every incremental model's post-hook: enforce_unique_key(its key). On PostgreSQL it first
  analyzes a table dbt has just created (analyze_new_table, macros/replace_by_key.sql). The key
  is enforced by the build that writes the rows instead of a test node of its own in every
  build (a dbt node costs about 20 ms whatever it does; see the README's Performance section):
  - PostgreSQL: a unique index over the key, created when the table has none (after the first
    build's or a full refresh's bulk insert, and once on a warehouse built before the index
    existed). Every insert is then checked against every stored row; the index also serves the
    delete of the recomputed keys (its leading columns are the model's unique_key).
  - DuckDB (no index is kept there), and a key with a nullable column (a unique index tells
    nulls apart): the rows of the model's latest load are checked, and a duplicate fails the
    build (DuckDB's error(), PostgreSQL's raise).
  A duplicate fails the model, naming it and the key. The key's unique_combination test still
  reads every row in the complete suite (--vars '{all_tests: true}', as CI runs it). A
  PostgreSQL warehouse built before keeps its earlier non-unique indexes until a full refresh.
#}

{% macro enforce_unique_key(columns, nullable=false) -%}
    {%- set key = columns | join(', ') -%}
    {%- set duplicates -%}
        select {{ key }}
        from {{ this }}
        where loaded_before = (select max(loaded_before) from {{ this }})
        group by {{ key }}
        having count(*) > 1
    {%- endset -%}
    {%- set message = this.identifier ~ ': duplicate key (' ~ key ~ ') in the latest load' -%}
    {%- if target.type == 'postgres' and not nullable -%}
        do $$ begin
            {{ analyze_new_table() }}
            if not {{ unique_key_index_exists(this, columns) }} then
                create unique index on {{ this.include(database=False) }} ({{ key }});
            end if;
        end $$
    {%- elif target.type == 'postgres' -%}
        {#- a unique index would tell nulls apart (before PostgreSQL 15, always) -#}
        do $$ begin
            {{ analyze_new_table() }}
            if exists ({{ duplicates }}) then
                raise exception '{{ message }}';
            end if;
        end $$
    {%- else -%}
        select error('{{ message }}: (' || concat_ws(', ', {{ key }}) || ')')
        from ({{ duplicates }}) as d
        limit 1
    {%- endif -%}
{%- endmacro %}

{# "A valid unique index over exactly these columns (no expression, no predicate) exists", as a
   SQL condition (PostgreSQL). #}
{% macro unique_key_index_exists(relation, columns) -%}
    {%- set quoted = [] -%}
    {%- for column in columns -%}{%- do quoted.append("'" ~ column ~ "'") -%}{%- endfor -%}
    exists (
        select from pg_index as i
        where i.indrelid = to_regclass('{{ relation.include(database=False) }}')
            and i.indisunique and i.indisvalid and i.indpred is null and i.indexprs is null
            and i.indnkeyatts = {{ columns | length }}
            and array(
                select a.attname::text
                from unnest(i.indkey::int2[]) with ordinality as k(attnum, n)
                inner join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.attnum
                order by k.n
            ) = array[{{ quoted | join(', ') }}]::text[]
    )
{%- endmacro %}
