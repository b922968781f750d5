"""@dbt_assets over dbt_project/, with sources mapped to the SoundCharts assets."""

import gc
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from musiccharts_pipeline.dbt.environment import dbt_env
from musiccharts_pipeline.dbt.project import dbt_cli, dbt_project, invoke, prepare
from musiccharts_pipeline.dbt.views import edited_since
from musiccharts_pipeline.resources import WarehouseResource


def manifest_path() -> Path:
    """The prepared manifest. Under `dagster dev` (``prepare_if_dev``) a project edited since is
    prepared again, so the assets follow the files; anywhere else the build prepared it, and no
    process parses dbt when it imports the definitions."""
    path = dbt_project.manifest_path
    if not path.exists() or edited_since(path, dbt_project.project_dir):
        prepare(dev_only=True)
    if not path.exists():
        raise FileNotFoundError(
            "the dbt manifest is missing: run `make install` (or "
            "`python -m musiccharts_pipeline.dbt prepare`) to prepare the dbt project"
        )
    return path


def side_table_writers(manifest: Mapping[str, Any]) -> dict[dg.AssetKey, dg.AssetKey]:
    """{side table's source key: the asset that writes the table}, from the sources' meta
    (``written_by``): the one place that says which asset writes which table."""
    writers = {}
    for source in manifest["sources"].values():
        writer = source.get("meta", {}).get("written_by")
        if writer:
            key = source["meta"]["dagster"]["asset_key"]
            writers[dg.AssetKey(key)] = dg.AssetKey(writer)
    return writers


class Translator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if unique_id.startswith("source."):
            return spec
        writers = side_table_writers(manifest)
        deps = {}
        for dep in spec.deps:
            key = writers.get(dep.asset_key, dep.asset_key)
            deps[key] = dg.AssetDep(key)
        return spec.replace_attributes(group_name="analytics", deps=list(deps.values()))


@dbt_assets(
    manifest=manifest_path(),
    project=dbt_project,
    dagster_dbt_translator=Translator(),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=10),
)
def musiccharts_dbt(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    """dbt build: models and their tests (as asset checks), incremental where it pays."""
    url = warehouse.get().url
    if dbt_env(url)["MUSICCHARTS_DBT_TARGET"] == "duckdb":
        # dbt opens the DuckDB file from another process: drop any connection of ours that
        # only awaits garbage collection, or its file lock would refuse dbt
        gc.collect()
    # dbt's artifacts (manifest, run results, compiled SQL: megabytes per run) go to a directory
    # removed after the run, instead of one more directory under target/ per run forever; the
    # prepared partial-parse cache is still copied in, and errors reach the run's own log
    # (a dbt process that failed may still be flushing its logs there: cleaning up must not turn
    # the step's own error into an OSError, or the step retry would fail the same way)
    with tempfile.TemporaryDirectory(
        prefix="musiccharts-dbt-", ignore_cleanup_errors=True
    ) as target:
        yield from invoke(["build"], url, dbt, context=context, target_path=Path(target)).stream()


defs = dg.Definitions(
    assets=[musiccharts_dbt],
    resources={"dbt": dbt_cli},
)
