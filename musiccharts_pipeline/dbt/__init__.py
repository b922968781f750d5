"""dbt: the dashboard aggregates, as Dagster assets downstream of the SoundCharts assets.

``dbt_cli``, ``dbt_project`` and ``invoke`` need no manifest; the assets (``musiccharts_dbt``,
``defs``) are loaded when first named, so `python -m musiccharts_pipeline.dbt prepare` can make
the manifest they read."""

from musiccharts_pipeline.dbt.project import dbt_cli, dbt_project, invoke

__all__ = ["dbt_cli", "dbt_project", "defs", "invoke", "musiccharts_dbt"]


def __getattr__(name: str):
    if name in ("defs", "musiccharts_dbt"):
        from musiccharts_pipeline.dbt import assets

        return getattr(assets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
