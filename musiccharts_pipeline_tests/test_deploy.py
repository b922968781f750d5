"""deploy/, validated offline: Docker and Kubernetes cannot run on this machine.

What is checked: the YAML of every file parses into the structure its tool expects (the gRPC
workspace through Dagster's own workspace schema; the Helm values against the keys of the
chart's schema that they use); the image's build context holds every file the Dockerfile copies
and its ignore file lets them through; every environment variable the code reads is set or
defaulted in compose and Helm, secrets only from the environment or Kubernetes secrets, and the
values compose resolves to are accepted by the code's own parsers; the compose and Helm instance
settings are the root dagster.yaml's. What is not: building the image, starting compose, rendering
the chart (no Docker engine, no helm binary, no cluster here).
"""

from __future__ import annotations

import ast
import fnmatch
import os
import re
import shlex
import subprocess
from pathlib import Path

import dagster as dg
import pytest
import yaml

from musiccharts_pipeline import settings
from musiccharts_pipeline.instance_storage import PoolSafePostgresEventLogStorage

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PACKAGE = ROOT / "musiccharts_pipeline"
VARIABLE = re.compile(r"^(MUSICCHARTS|SOUNDCHARTS|DAGSTER)_[A-Z0-9_]*[A-Z0-9]$")
#: Calls whose first argument is the name of an environment variable the code reads.
READERS = {"env", "_env", "getenv", "get", "EnvVar"}
#: Variables the code sets itself (dbt's profile, derived from the warehouse URL) for dbt.
SET_BY_THE_CODE = {
    "MUSICCHARTS_DBT_TARGET",
    "MUSICCHARTS_DUCKDB_PATH",
    "MUSICCHARTS_PG_HOST",
    "MUSICCHARTS_PG_PORT",
    "MUSICCHARTS_PG_USER",
    "MUSICCHARTS_PG_PASSWORD",
    "MUSICCHARTS_PG_DB",
}
INSTANCE_VARIABLES = {
    "DAGSTER_POSTGRES_HOST",
    "DAGSTER_POSTGRES_PORT",
    "DAGSTER_POSTGRES_USER",
    "DAGSTER_POSTGRES_PASSWORD",
    "DAGSTER_POSTGRES_DB",
}
WORKSPACE_VARIABLES = {"MUSICCHARTS_CODE_SERVER_HOST", "MUSICCHARTS_CODE_SERVER_PORT"}


def code_variables() -> set[str]:
    """Every variable the package reads: names in settings.py (the one place variables are
    read), plus any name passed to a reading call elsewhere (a resource's EnvVar, the
    simulator's knobs)."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if path.name == "settings.py" and isinstance(node, ast.Constant):
                if isinstance(node.value, str) and VARIABLE.match(node.value):
                    found.add(node.value)
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                first = node.args[0]
                if (
                    name in READERS
                    and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)
                    and VARIABLE.match(first.value)
                ):
                    found.add(first.value)
    return found - SET_BY_THE_CODE


def instance_variables(path: Path) -> set[str]:
    """The `env:` references of a Dagster YAML file."""
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if set(node) == {"env"}:
                found.add(node["env"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(path.read_text()))
    return found


def is_secret(name: str) -> bool:
    return any(part in name for part in settings.SECRET_NAME_PARTS) or name in {
        "MUSICCHARTS_WAREHOUSE_URL"  # a PostgreSQL URL holds its password
    }


def test_the_scan_finds_the_variables_the_code_reads():
    found = code_variables()
    assert {
        "MUSICCHARTS_WAREHOUSE_URL",
        "MUSICCHARTS_PARTITION_START",
        "MUSICCHARTS_DASHBOARD_PATH",
        "SOUNDCHARTS_API_URL",
        "SOUNDCHARTS_API_KEY",
        "SOUNDCHARTS_MAX_RPS",
        "DAGSTER_HOME",
        "SOUNDCHARTS_SIMULATOR_LATENCY_MS",
    } <= found
    assert not found & SET_BY_THE_CODE
    assert instance_variables(ROOT / "dagster.yaml") == INSTANCE_VARIABLES
    assert instance_variables(DEPLOY / "workspace.yaml") == WORKSPACE_VARIABLES


# --- compose -----------------------------------------------------------------------------------

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?\}", re.S)


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, nested
    in defaults, and $$ for a literal $."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            depth, j = 0, i
            while True:
                if text.startswith("${", j):
                    depth, j = depth + 1, j + 2
                    continue
                if text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            name, op, arg = _REFERENCE.fullmatch(text[i : j + 1]).groups()
            value = env.get(name)
            missing = value is None or (op and op.startswith(":") and value == "")
            if op in (":-", "-") and missing:
                value = interpolate(arg, env)
            elif op in (":?", "?") and missing:
                raise KeyError(f"{name}: {arg}")
            out.append(value or "")
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def service_env(service: str, env: dict[str, str]) -> dict[str, str]:
    return {
        k: interpolate(str(v), env)
        for k, v in compose()["services"][service]["environment"].items()
    }


def raw_env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in compose()["services"][service]["environment"].items()}


def test_compose_has_the_topology():
    services = compose()["services"]
    assert {"postgresql", "code-server", "webserver", "daemon"} <= set(services)
    build = services["code-server"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert context == ROOT and (context / build["dockerfile"]).is_file()
    workspace = "/opt/musiccharts/deploy/workspace.yaml"
    assert services["webserver"]["command"][-2:] == ["-w", workspace]
    assert services["daemon"]["command"][-2:] == ["-w", workspace]
    assert "musiccharts_pipeline.definitions" in services["code-server"]["command"]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).is_file(), f"{name} mounts missing {source}"
    # the daemon and the webserver start only once the code server answers
    for name in ("webserver", "daemon"):
        assert services[name]["depends_on"]["code-server"]["condition"] == "service_healthy"


def test_compose_sets_every_variable_the_code_reads():
    wanted = code_variables() - {"DAGSTER_HOME"}  # set by the image (ENV)
    for service in ("code-server", "daemon"):
        env = raw_env(service)
        assert wanted | INSTANCE_VARIABLES | WORKSPACE_VARIABLES <= set(env), service
    # the webserver gets the instance and the workspace, and none of the pipeline's secrets
    assert set(raw_env("webserver")) == INSTANCE_VARIABLES | WORKSPACE_VARIABLES
    assert "DAGSTER_HOME" in dockerfile_env()


def test_compose_secrets_come_from_the_environment_only():
    for service in ("code-server", "daemon", "webserver", "init"):
        for name, value in raw_env(service).items():
            if is_secret(name):
                assert value.startswith("${"), f"{service}: {name} is written in the file"
    with pytest.raises(KeyError, match="DAGSTER_POSTGRES_PASSWORD"):
        service_env("code-server", {})


def test_compose_values_are_accepted_by_the_code(monkeypatch):
    """Resolved with nothing but the required password set, every value parses."""
    from musiccharts_pipeline.soundcharts.simulator.app import SimulatorConfig

    env = service_env("code-server", {"DAGSTER_POSTGRES_PASSWORD": "s3cret-pw"})
    for name in [n for n in os.environ if VARIABLE.match(n)]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert settings.warehouse_url() == (
        "postgresql+psycopg2://musiccharts:s3cret-pw@postgresql:5432/warehouse"
    )
    assert settings.partition_start() == "2025-01-01"
    assert settings.max_rps() is None and settings.env("SOUNDCHARTS_API_URL") is None
    assert str(settings.dashboard_path()).startswith("/opt/musiccharts/output/")
    SimulatorConfig.from_env()  # the simulator's knobs, used while no API URL is set
    assert "s3cret-pw" in settings.secret_values()


def test_instance_files_are_valid_dagster_instance_config(pg_database, tmp_path, monkeypatch):
    """The root dagster.yaml, and the compose one but for its launcher (dagster-docker is not
    installed here), make working instances through Dagster's own loader, on a fresh database."""
    values = {"HOST": "127.0.0.1", "PORT": "5432", "USER": "postgres", "PASSWORD": ""}
    for name in INSTANCE_VARIABLES:
        monkeypatch.setenv(name, values.get(name.rsplit("_", 1)[-1], pg_database))
    for source in (ROOT / "dagster.yaml", DEPLOY / "dagster.docker.yaml"):
        config = yaml.safe_load(source.read_text())
        config.pop("run_launcher", None)
        home = tmp_path / source.stem
        home.mkdir()
        (home / "dagster.yaml").write_text(yaml.safe_dump(config))
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
            assert isinstance(instance.event_log_storage, PoolSafePostgresEventLogStorage)


def test_docker_instance_is_the_root_one_plus_the_docker_run_launcher():
    root = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    docker = yaml.safe_load((DEPLOY / "dagster.docker.yaml").read_text())
    launcher = docker.pop("run_launcher")
    assert docker == root
    assert (launcher["module"], launcher["class"]) == ("dagster_docker", "DockerRunLauncher")
    config = launcher["config"]
    spec = compose()
    assert config["network"] == spec["networks"]["default"]["name"]
    (volume,) = config["container_kwargs"]["volumes"]
    assert volume.split(":")[0] == spec["volumes"]["output"]["name"]
    assert volume.split(":")[1] == str(
        Path(raw_env("code-server")["MUSICCHARTS_DASHBOARD_PATH"]).parent
    )
    # every variable a run needs is handed over, and the daemon (the launcher) has it
    handed = set(config["env_vars"])
    assert (code_variables() - {"DAGSTER_HOME"}) | INSTANCE_VARIABLES == handed
    assert handed <= set(raw_env("daemon"))


# --- workspace and the local topology ----------------------------------------------------------


def test_workspace_points_at_the_code_server_over_grpc():
    """Its structure; test_topology's webserver loads it against a running code server."""
    config = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    (entry,) = config["load_from"]
    grpc = entry["grpc_server"]
    assert grpc["host"] == {"env": "MUSICCHARTS_CODE_SERVER_HOST"}
    assert grpc["port"] == {"env": "MUSICCHARTS_CODE_SERVER_PORT"}
    assert grpc["location_name"] == "musiccharts"


def test_topology_script_parses():
    subprocess.run(["bash", "-n", str(DEPLOY / "topology.sh")], check=True)
    assert os.access(DEPLOY / "topology.sh", os.X_OK)


# --- the image ---------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def dockerfile_env() -> dict[str, str]:
    env = {}
    for keyword, rest in dockerfile_instructions():
        if keyword == "ENV":
            for item in shlex.split(rest):
                name, _, value = item.partition("=")
                env[name] = value
    return env


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    verdict = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            if fnmatch.fnmatch(prefix, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatch(parts[i - 1], pattern[3:])
            ):
                verdict = not negate
                break
    return verdict


def test_image_build_context_holds_what_the_dockerfile_copies():
    patterns = [
        line.strip()
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copies = [
        shlex.split(rest)[:-1] for keyword, rest in dockerfile_instructions() if keyword == "COPY"
    ]
    assert copies
    for sources in copies:
        for source in sources:
            path = ROOT / source
            assert path.exists(), f"COPY {source}: not in the build context"
            assert not ignored(source, patterns), f"COPY {source}: excluded by the ignore file"
            files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
            kept = [p for p in files if not ignored(str(p.relative_to(ROOT)), patterns)]
            assert kept, f"COPY {source}: every file excluded"
    # what must never reach the image
    for private in (
        ".venv/bin/python",
        ".musiccharts/warehouse.duckdb",
        "deploy/.env",
        "dbt_project/target/manifest.json",
        ".git/config",
        "musiccharts_pipeline/__pycache__/settings.cpython-311.pyc",
    ):
        assert ignored(private, patterns), private


def test_image_prepares_the_manifest_and_keeps_no_secret():
    instructions = dockerfile_instructions()
    runs = " ".join(rest for keyword, rest in instructions if keyword == "RUN")
    assert "pip install -e '.[deploy]'" in runs
    assert "python -m musiccharts_pipeline.dbt prepare" in runs
    assert not [name for name in dockerfile_env() if is_secret(name)]
    assert not [rest for keyword, rest in instructions if keyword == "ARG" and is_secret(rest)]
    cmd = next(rest for keyword, rest in instructions if keyword == "CMD")
    assert "musiccharts_pipeline.definitions" in cmd
    # the launchers the image installs are pinned to dagster's release line
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert sorted(extras["deploy"]) == ["dagster-docker>=0.29,<0.30", "dagster-k8s>=0.29,<0.30"]


# --- Helm --------------------------------------------------------------------------------------

#: Top-level keys of the chart's values schema (dagster/helm/dagster/schema, DagsterHelmValues).
CHART_KEYS = {
    "dagsterWebserver",
    "dagster-user-deployments",
    "postgresql",
    "generatePostgresqlPasswordSecret",
    "generateCeleryConfigSecret",
    "rabbitmq",
    "redis",
    "flower",
    "ingress",
    "imagePullSecrets",
    "computeLogManager",
    "scheduler",
    "runLauncher",
    "pythonLogs",
    "dagsterDaemon",
    "busybox",
    "migrate",
    "telemetry",
    "serviceAccount",
    "global",
    "retention",
    "concurrency",
    "additionalInstanceConfig",
}
K8S_LAUNCHER_REQUIRED = {
    "imagePullPolicy",
    "loadInclusterConfig",
    "envConfigMaps",
    "envSecrets",
    "envVars",
    "volumeMounts",
    "volumes",
}
#: Not set in Helm, and why: the chart renders its own instance (its `postgresql` values, the
#: password from global.postgresqlSecretName) and sets DAGSTER_HOME; the simulator's knobs are
#: read only while SOUNDCHARTS_API_URL is unset, and Helm sets it.
NOT_IN_HELM = INSTANCE_VARIABLES | {"DAGSTER_HOME"}


def helm() -> dict:
    return yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())


def test_helm_values_use_the_charts_keys():
    values = helm()
    assert set(values) <= CHART_KEYS
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert K8S_LAUNCHER_REQUIRED <= set(values["runLauncher"]["config"]["k8sRunLauncher"])
    user = values["dagster-user-deployments"]
    assert user["enabled"] and user["enableSubchart"]
    (deployment,) = user["deployments"]
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", deployment["name"])
    assert deployment["image"]["repository"] and deployment["image"]["tag"] not in ("", "latest")
    assert deployment["codeServerArgs"] == ["-m", "musiccharts_pipeline.definitions"]
    assert isinstance(deployment["port"], int)
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    mounts = {m["name"] for m in deployment["volumeMounts"]}
    assert mounts == {v["name"] for v in deployment["volumes"]}
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["type"] == "CustomRunCoordinator"
    custom = coordinator["config"]["customRunCoordinator"]
    assert (custom["module"], custom["class"]) == (
        "dagster.core.run_coordinator",
        "QueuedRunCoordinator",
    )
    postgresql = values["postgresql"]
    assert postgresql["postgresqlPassword"] == "" and values["global"]["postgresqlSecretName"]
    assert values["generatePostgresqlPasswordSecret"] is False


def test_helm_instance_settings_are_the_root_dagster_yaml():
    root = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    values = helm()
    coordinator = values["dagsterDaemon"]["runCoordinator"]["config"]["customRunCoordinator"]
    assert {k: coordinator[k] for k in ("module", "class", "config")} == root["run_coordinator"]
    # run limits only under `concurrency` (Dagster refuses them in both places)
    assert not {"max_concurrent_runs", "tag_concurrency_limits"} & set(coordinator["config"])
    concurrency = values["concurrency"]
    assert concurrency["enabled"] is True
    assert concurrency["pools"]["defaultLimit"] == root["concurrency"]["pools"]["default_limit"]
    assert (
        concurrency["runs"]["maxConcurrentRuns"]
        == root["concurrency"]["runs"]["max_concurrent_runs"]
    )
    monitoring = values["dagsterDaemon"]["runMonitoring"]
    assert monitoring["enabled"] == root["run_monitoring"]["enabled"]
    assert monitoring["startTimeoutSeconds"] == root["run_monitoring"]["start_timeout_seconds"]
    assert monitoring["pollIntervalSeconds"] == root["run_monitoring"]["poll_interval_seconds"]
    assert monitoring["maxResumeRunAttempts"] == root["run_monitoring"]["max_resume_run_attempts"]
    assert (
        monitoring["freeSlotsAfterRunEndSeconds"]
        == root["run_monitoring"]["free_slots_after_run_end_seconds"]
    )
    retries = values["dagsterDaemon"]["runRetries"]
    assert retries == {
        "enabled": root["run_retries"]["enabled"],
        "maxRetries": root["run_retries"]["max_retries"],
        "retryOnAssetOrOpFailure": root["run_retries"]["retry_on_asset_or_op_failure"],
    }
    sensor = values["retention"]["sensor"]["purgeAfterDays"]
    assert sensor == root["retention"]["sensor"]["purge_after_days"]
    assert values["telemetry"]["enabled"] == root["telemetry"]["enabled"]


def test_helm_sets_every_variable_the_code_reads_secrets_from_secrets(monkeypatch):
    (deployment,) = helm()["dagster-user-deployments"]["deployments"]
    env = {item["name"]: item for item in deployment["env"]}
    assert len(env) == len(deployment["env"])
    simulator = {n for n in code_variables() if n.startswith("SOUNDCHARTS_SIMULATOR_")}
    assert env["SOUNDCHARTS_API_URL"]["value"].startswith("https://")  # so no simulator
    assert set(env) == code_variables() - NOT_IN_HELM - simulator
    for name, item in env.items():
        if is_secret(name):
            assert "value" not in item and item["valueFrom"]["secretKeyRef"]["name"], name
    # the literal values parse
    for name in [n for n in os.environ if VARIABLE.match(n)]:
        monkeypatch.delenv(name)
    for name, item in env.items():
        monkeypatch.setenv(name, item.get("value", "postgresql+psycopg2://u:p@db:5432/w"))
    assert settings.partition_start() == "2025-01-01"
    assert settings.max_rps() == 10
    assert settings.dashboard_path().parent == Path(deployment["volumeMounts"][0]["mountPath"])
