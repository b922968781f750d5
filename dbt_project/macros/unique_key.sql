{#
  The key of a large incremental model, enforced by PostgreSQL instead of re-tested per build.
  `unique_key_index(columns)` (a post-hook) creates a unique index over the key when the table
  has none: after the first build's or a full refresh's bulk insert, and once on a warehouse
  built before the index existed (on duplicates the build fails, naming the key). Every later
  insert is checked against every stored row, which the per-build test (rows of the latest
  load only) never did. The index also serves the delete of the recomputed keys (its leading
  columns are the model's unique_key). DuckDB gets none and keeps the test.
  `unique_key_enforced(relation, columns)` is the SQL condition "a unique index over exactly
  these columns exists": the unique_combination test's scan runs only when it is false.
#}

{% macro unique_key_index(columns) -%}
    {%- if target.type == 'postgres' -%}
        do $$ begin
            if not {{ unique_key_enforced(this, columns) }} then
                create unique index on {{ this.include(database=False) }} ({{ columns | join(', ') }});
            end if;
        end $$
    {%- endif -%}
{%- endmacro %}

{% macro unique_key_enforced(relation, columns) -%}
    {%- if target.type != 'postgres' or relation is string -%}
        {{ return('false') }}
    {%- endif -%}
    {%- set quoted = [] -%}
    {%- for column in columns -%}{%- do quoted.append("'" ~ column ~ "'") -%}{%- endfor -%}
    exists (
        select from pg_index as i
        where i.indrelid = to_regclass('{{ relation.include(database=False) }}')
            and i.indisunique and i.indpred is null
            and array(
                select a.attname::text
                from unnest(i.indkey::int2[]) with ordinality as k(attnum, n)
                inner join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.attnum
                order by k.n
            ) = array[{{ quoted | join(', ') }}]::text[]
    )
{%- endmacro %}
