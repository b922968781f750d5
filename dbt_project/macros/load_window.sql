{#
  The load window of an incremental model: what changed since its last build.

  Every incremental model stamps its rows with `loaded_before`: the start of the build that
  computed them, to the second (load_window_end). Its next build reads
  - source rows by their fetch time, half-open: [the model's newest stamp, this build's start)
    (in_load_window). Rows fetched while a build runs wait for the next one; none is skipped;
  - the keys of an upstream model's rows stamped after the model's newest stamp, up to this
    build (changed_since_last_build): what that upstream recomputed in the builds since.
  A full build (first run, --full-refresh) reads every source row fetched before it started.
  The newest stamp is read once per use, before the model's SQL runs, and inlined as a
  constant (and upstream keys as a list), so the planner sees plain ranges and short lists: a
  table just created, with no statistics yet, still gets index lookups, not full scans.
#}

{% macro load_window_end() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
{%- endmacro %}

{% macro load_window_start() -%}
    {%- if execute and is_incremental() -%}
        {%- set newest = run_query("select max(loaded_before) from " ~ this).columns[0].values()[0] -%}
        {%- if newest is not none -%}
            {{ return("cast('" ~ newest ~ "' as timestamp)") }}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{% macro in_load_window(column) -%}
    {%- set start = load_window_start() -%}
    {% if start is not none %}{{ column }} >= {{ start }} and {% endif %}{{ column }} < {{ load_window_end() }}
{%- endmacro %}

{# The values of a one-column query, run before the model's SQL, as a quoted SQL list: the
   planner then sees a short list of constants ("null", matching nothing, when it is empty). #}
{% macro inlined(query) -%}
    {%- set quoted = [] -%}
    {%- for value in run_query(query).columns[0].values() | unique -%}
        {%- do quoted.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {{ return(quoted | join(', ') if quoted else 'null') }}
{%- endmacro %}

{# The keys of the rows of `relation` stamped since this model's newest stamp (what that
   upstream model recomputed in the builds since), inlined; none on a full build, which
   recomputes everything anyway. #}
{% macro changed_since_last_build(relation, key) -%}
    {%- set start = load_window_start() -%}
    {%- if start is none -%}{{ return(none) }}{%- endif -%}
    {{ return(inlined("select " ~ key ~ " from " ~ relation ~ " where loaded_before > " ~ start)) }}
{%- endmacro %}

{# On an incremental run, keeps the rows of `alias` that are new or differ from this model's
   stored row with the same `key` in one of `values` (a join and a where clause, placed after
   the from clause): a build writes what changed, not what it recomputed. #}
{% macro only_new_or_changed(alias, key, values) -%}
    {%- if is_incremental() %}
    left join {{ this }} as stored
        on {% for column in key %}{{ alias }}.{{ column }} = stored.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %}
    where stored.{{ key[0] }} is null
        {%- for column in values %}
        or {{ alias }}.{{ column }} is distinct from stored.{{ column }}
        {%- endfor %}
    {%- endif %}
{%- endmacro %}
