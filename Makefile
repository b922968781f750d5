VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# Runs over a date range plan one event per asset, not one per partition (docs/operations.md)
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS ?= true

.PHONY: install run dev serve test test-fast lint bench soak drill dagster-home browser topology

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# dagster-dbt's preparation (DbtProject: `dbt parse` into the manifest the definitions read), done
# here, not when a process imports the definitions; again whenever a model, macro or the project
# file changed (`make dev` also prepares an edited project when its code location loads).
DBT_MANIFEST := dbt_project/target/manifest.json
$(DBT_MANIFEST): $(VENV)/.installed dbt_project/dbt_project.yml dbt_project/profiles.yml \
  $(shell find dbt_project/models dbt_project/macros -type f 2>/dev/null)
	$(BIN)/python -m musiccharts_pipeline.dbt prepare
	touch $@

install: $(VENV)/.installed $(DBT_MANIFEST)

# The pool limit is set explicitly: left to the first runs, Dagster creates it lazily and two
# runs racing to do so collide (seen in test_concurrency).
dagster-home: install
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || cp deploy/dagster.local.yaml $(DAGSTER_HOME)/dagster.yaml
	test -f $(DAGSTER_HOME)/.pool-set || { $(BIN)/dagster instance concurrency set soundcharts_api 4 \
	  && touch $(DAGSTER_HOME)/.pool-set; }

run: install dagster-home
	$(BIN)/musiccharts run

# Started from inside DAGSTER_HOME: `dagster dev` warns about (and ignores) a dagster.yaml in its
# working directory, and the root one is the production instance. exec: Ctrl-C and SIGTERM
# reach dagster dev itself, which stops the webserver, daemon and code server; the launcher
# gives it SIGINT and SIGTERM at their defaults even when a script started it in the background
# with them ignored (musiccharts_pipeline/launch.py). Its notice that
# `dg dev` supersedes it is silenced: this project's workspace is what `dagster dev` loads.
# `make dev PORT=3001` moves the UI (default 3000; PORT alone defaults to 8000 for `make serve`).
DEV_PORT = $(if $(filter command line environment,$(origin PORT)),$(PORT),3000)
dev: install dagster-home
	cd $(DAGSTER_HOME) && PYTHONWARNINGS='ignore:Function `dev_command` is superseded' \
	  exec $(abspath $(BIN))/python -m musiccharts_pipeline.launch \
	  $(abspath $(BIN))/dagster dev -w $(CURDIR)/workspace.yaml -p $(DEV_PORT)

# The read API and the pages on http://127.0.0.1:8000 (HOST=0.0.0.0 to serve other machines);
# writes need MUSICCHARTS_API_TOKEN, a manual sync the Dagster webserver of `make dev`.
HOST ?= 127.0.0.1
PORT ?= 8000
serve: install
	$(BIN)/musiccharts serve --host $(HOST) --port $(PORT)

# The production topology on this machine: a gRPC code server, the webserver and the daemon as
# separate processes (deploy/topology.sh) on the root dagster.yaml, with PostgreSQL storage and
# a PostgreSQL warehouse (the local server, trust auth, by default). Ctrl-C stops all three.
TOPOLOGY_HOME ?= $(CURDIR)/.dagster_home/topology
topology: export DAGSTER_HOME := $(TOPOLOGY_HOME)
topology: export DAGSTER_POSTGRES_HOST ?= 127.0.0.1
topology: export DAGSTER_POSTGRES_PORT ?= 5432
topology: export DAGSTER_POSTGRES_USER ?= postgres
topology: export DAGSTER_POSTGRES_PASSWORD ?=
topology: export DAGSTER_POSTGRES_DB ?= musiccharts_dagster
topology: export MUSICCHARTS_WAREHOUSE_URL ?= postgresql+psycopg2://postgres@127.0.0.1:5432/musiccharts_warehouse
topology: install
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	VENV=$(VENV) deploy/topology.sh prepare
	VENV=$(VENV) exec deploy/topology.sh all

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Headless Chromium for the dashboard screenshot test, from Debian's packages when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: install Debian's chromium package for the screenshot test"; fi; }

test: lint browser
	$(BIN)/pytest

# The inner loop: the rules, the timing, the simulator and the client, no Dagster run, no dbt.
FAST_TESTS := test_rules test_check_timing test_movement test_simulator test_soundcharts_client \
  test_launch
test-fast: install
	$(BIN)/pytest -q $(FAST_TESTS:%=musiccharts_pipeline_tests/%.py)

bench: install
	$(BIN)/python benchmarks/run.py

# A month of operation on the simulated clock (benchmarks/soak.py): SOAK_ARGS="--charts 50
# --days 60 --warehouse postgresql" for more. Prints its table, adds its keys to results.json.
SOAK_ARGS ?=
soak: install
	$(BIN)/python benchmarks/soak.py $(SOAK_ARGS)

# The fault drill (benchmarks/drill.py): the topology on PostgreSQL against the simulator, a run
# worker, the daemon and the code server killed, an API outage, 5% errors; prints its table and
# exits 1 on a loss, a duplicate, a leaked slot or a stuck run. DRILL_ARGS="--outage-minutes 2".
DRILL_ARGS ?=
drill: install
	$(BIN)/python benchmarks/drill.py $(DRILL_ARGS)
