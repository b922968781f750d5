"""@dbt_assets over dbt_project/, with sources mapped to the SoundCharts assets."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from musiccharts_pipeline.dbt.environment import DBT_PROJECT_DIR, apply_dbt_env
from musiccharts_pipeline.resources import WarehouseResource

apply_dbt_env()
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)
if not dbt_project.manifest_path.exists():
    # a fresh clone has no manifest yet: prepare it here so the definitions always load
    dbt_project.preparer.prepare(dbt_project)
dbt_project.prepare_if_dev()

#: Rebuild after any upstream update, once per automation tick. Unlike eager(), it does not
#: wait for "missing" upstream partitions: the raw assets are chart x day partitioned and most
#: of those partitions are never materialized.
DBT_CONDITION = (
    dg.AutomationCondition.eager()
    .without(~dg.AutomationCondition.any_deps_missing())
    .with_label("eager_after_any_upstream")
)


class Translator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if unique_id.startswith("source."):
            return spec
        return spec.replace_attributes(group_name="analytics", automation_condition=DBT_CONDITION)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=Translator(),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=10),
)
def musiccharts_dbt(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    """dbt build: models and their tests (as asset checks), incremental where it pays."""
    apply_dbt_env(warehouse.get().url)
    yield from dbt.cli(["build"], context=context).stream()


chart_subscriptions = dg.AssetSpec(
    "chart_subscriptions",
    group_name="soundcharts",
    description="Which charts are synced; managed with `musiccharts charts ...`.",
)

#: Side tables written by the SoundCharts assets, shown in the lineage under their writer.
SIDE_TABLES = {
    "charts": "chart_rankings",
    "chart_rankings": "chart_rankings",
    "chart_sync_log": "chart_rankings",
    "track_artists": "tracks",
    "track_genres": "genres",
    "artist_genres": "genres",
    "artist_streaming": "artist_audience",
}
side_tables = [
    dg.AssetSpec(
        ["soundcharts", table],
        deps=[writer],
        group_name="soundcharts",
        description=f"Table soundcharts.{table}, written by {writer}.",
    )
    for table, writer in SIDE_TABLES.items()
]

defs = dg.Definitions(
    assets=[musiccharts_dbt, chart_subscriptions, *side_tables],
    resources={"dbt": DbtCliResource(project_dir=dbt_project)},
)
