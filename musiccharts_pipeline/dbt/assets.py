"""@dbt_assets over dbt_project/, with sources mapped to the SoundCharts assets."""

import gc
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from musiccharts_pipeline.dbt.environment import (
    DBT_EXECUTABLE,
    DBT_PROJECT_DIR,
    apply_dbt_env,
    dbt_env,
    patched_environ,
)
from musiccharts_pipeline.dbt.views import edited_since
from musiccharts_pipeline.resources import WarehouseResource

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)
#: The dbt CLI every caller uses: this project, the running interpreter's dbt.
dbt_cli = DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


def prepare_manifest() -> Path:
    """The manifest @dbt_assets reads. `make install` prepares it (`dbt parse`); a checkout that
    skipped make gets it here, with the same dbt, so the definitions always load, and so does
    one whose models, macros or dbt_project.yml changed since (a pull, an edit): the assets,
    and the views the analytics run leaves out, follow the project's files."""
    path = dbt_project.manifest_path
    if not path.exists() or edited_since(path, dbt_project.project_dir):
        # parsed for the configured warehouse, as runs will see it: dbt keys its partial-parse
        # cache on the profile, so a run reuses the cache instead of parsing everything again
        with patched_environ(dbt_env()):
            dbt_cli.cli(["--quiet", "parse"], target_path=dbt_project.target_path).wait()
    return dbt_project.manifest_path


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
    manifest=prepare_manifest(),
    project=dbt_project,
    dagster_dbt_translator=Translator(),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=10),
)
def musiccharts_dbt(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    """dbt build: models and their tests (as asset checks), incremental where it pays."""
    env = apply_dbt_env(warehouse.get().url)
    if env["MUSICCHARTS_DBT_TARGET"] == "duckdb":
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
        yield from dbt.cli(["build"], context=context, target_path=Path(target)).stream()


defs = dg.Definitions(
    assets=[musiccharts_dbt],
    resources={"dbt": dbt_cli},
)
