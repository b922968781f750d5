"""The dbt project as dagster-dbt sees it (``DbtProject``), its CLI, and how it is prepared and
invoked against a warehouse. No asset here: preparing the project must not need its manifest."""

import os
from pathlib import Path

from dagster_dbt import DbtCliInvocation, DbtCliResource, DbtProject

from musiccharts_pipeline.dbt.environment import (
    DBT_EXECUTABLE,
    DBT_PROJECT_DIR,
    dbt_env,
    patched_environ,
)

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)
#: The dbt CLI every caller uses: this project, the running interpreter's dbt.
dbt_cli = DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


def prepare(dev_only: bool = False) -> Path:
    """dagster-dbt's preparation of the project (``dbt parse`` into target/manifest.json), run by
    `make install`, by the Dockerfile and by `make test` when a model changed: the manifest is
    parsed for the configured warehouse, as runs will see it, because dbt keys its partial-parse
    cache on the profile (a run then reuses the cache instead of parsing everything again).
    The preparer runs the ``dbt`` on PATH: this interpreter's comes first. ``dev_only``: only
    under `dagster dev` (dagster-dbt's ``prepare_if_dev``)."""
    bin_dir = str(Path(DBT_EXECUTABLE).parent)
    path = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    with patched_environ({**dbt_env(), "PATH": path}):
        if dev_only:
            dbt_project.prepare_if_dev()
        else:
            dbt_project.preparer.prepare(dbt_project)
    return dbt_project.manifest_path


def invoke(
    args: list[str], warehouse_url: str, cli: DbtCliResource | None = None, **kwargs
) -> DbtCliInvocation:
    """Start ``dbt args`` against ``warehouse_url``. profiles.yml reads the connection from the
    environment, and dagster-dbt starts dbt with a copy of this process's environment (it takes
    none of its own): the warehouse's variables are set around the start only, not for the
    process."""
    with patched_environ(dbt_env(warehouse_url)):
        return (cli or dbt_cli).cli(list(args), **kwargs)
