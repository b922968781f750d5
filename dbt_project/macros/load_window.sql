{#
  The load window of an incremental model: what changed since its last build.

  Every incremental model stamps its rows with `loaded_before`: the start of the build that
  computed them, to the second (load_window_end). Its next build reads
  - source rows by their fetch time, half-open: [the model's newest stamp, this build's start).
    Rows fetched while a build runs wait for the next one; none is skipped, none read twice;
  - an upstream model's rows by their stamp: (the model's newest stamp, this build's start],
    the rows that upstream recomputed in the builds since (this one included).
  A full build (first run, --full-refresh) reads every source row fetched before it started
  and every upstream row. The newest stamp is read once, before the model's SQL is compiled,
  and inlined as a constant, so the planner sees (and an index on it serves) a plain range.
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

{% macro in_load_window(column, stamped=false) -%}
    {%- set start = load_window_start() -%}
    {%- if stamped -%}
        {{ column }} > {{ start if start is not none else "cast('1900-01-01' as timestamp)" }}
    {%- else -%}
        {% if start is not none %}{{ column }} >= {{ start }} and {% endif %}{{ column }} < {{ load_window_end() }}
    {%- endif -%}
{%- endmacro %}
