"""Materialize one chart's date or date range in one run: the CLI, the bench and the tests."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from musiccharts_pipeline.partitions import charts, partition_request


def materialize_chart(
    resources: dict,
    instance: dg.DagsterInstance,
    slug: str,
    start: dt.date,
    end: dt.date | None = None,
    selection=None,
    raise_on_error: bool = True,
    **kwargs,
) -> dg.ExecuteInProcessResult:
    """One run over the chart's dates ``start..end``, as a single-run backfill runs them."""
    from musiccharts_pipeline.assets import CASCADE_ASSETS

    if not instance.has_dynamic_partition(charts.name, slug):
        instance.add_dynamic_partitions(charts.name, [slug])
    request = partition_request(slug, start, end or start)
    return dg.materialize(
        CASCADE_ASSETS,
        resources=resources,
        instance=instance,
        selection=selection,
        raise_on_error=raise_on_error,
        partition_key=request.get("partition_key"),
        tags=request["tags"],
        **kwargs,
    )


def materialize_analytics(
    resources: dict, instance: dg.DagsterInstance, **kwargs
) -> dg.ExecuteInProcessResult:
    """The dbt build (models and their tests) and the dashboard in one run, as the analytics
    job runs them; ``resources`` are the warehouse's and the API's (dbt's own is added)."""
    from musiccharts_pipeline.dashboard import dashboard
    from musiccharts_pipeline.dbt import dbt_cli, musiccharts_dbt

    return dg.materialize(
        [musiccharts_dbt, dashboard],
        instance=instance,
        resources={**resources, "dbt": dbt_cli},
        raise_on_error=False,
        **kwargs,
    )
