#!/usr/bin/env bash
# The production topology as ordinary processes on one machine: a gRPC code server holding the
# definitions, the webserver and the daemon, each its own process, all on the instance in
# $DAGSTER_HOME/dagster.yaml (the root dagster.yaml: PostgreSQL from DAGSTER_POSTGRES_*).
# The webserver and the daemon load nothing but deploy/workspace.yaml, which points at the code
# server over gRPC: runs are launched by the code server, in its environment.
#
#   deploy/topology.sh prepare      create the two databases if missing, set the API pool's
#                                   limit, migrate the warehouse
#   deploy/topology.sh code-server|webserver|daemon   one component, in the foreground (exec)
#   deploy/topology.sh all          the three, each restarted when it dies; Ctrl-C or SIGTERM
#                                   stops them all
#
# `make topology` copies the root dagster.yaml into DAGSTER_HOME, runs `prepare`, then `all`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${VENV:-$ROOT/.venv}/bin"
: "${DAGSTER_HOME:?set DAGSTER_HOME to a directory holding the root dagster.yaml}"
export MUSICCHARTS_CODE_SERVER_HOST="${MUSICCHARTS_CODE_SERVER_HOST:-127.0.0.1}"
export MUSICCHARTS_CODE_SERVER_PORT="${MUSICCHARTS_CODE_SERVER_PORT:-4266}"
WEBSERVER_HOST="${MUSICCHARTS_WEBSERVER_HOST:-127.0.0.1}"
WEBSERVER_PORT="${MUSICCHARTS_WEBSERVER_PORT:-3000}"
WORKSPACE="$ROOT/deploy/workspace.yaml"
# The daemon and the webserver create runs: one planned-materialization event per asset for a
# run over a date range, not one per partition (docs/operations.md)
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS="${DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS:-true}"

case "${1:-all}" in
  prepare)
    # the databases named by DAGSTER_POSTGRES_* and MUSICCHARTS_WAREHOUSE_URL, on their servers
    "$BIN/python" - "${DAGSTER_POSTGRES_HOST:?}" "${DAGSTER_POSTGRES_PORT:?}" \
      "${DAGSTER_POSTGRES_USER:?}" "${DAGSTER_POSTGRES_PASSWORD-}" "${DAGSTER_POSTGRES_DB:?}" <<'PY'
import sys

import psycopg2
import sqlalchemy as sa

from musiccharts_pipeline import settings

host, port, user, password, storage = sys.argv[1:]
warehouse = sa.engine.make_url(settings.warehouse_url())
if warehouse.get_backend_name() != "postgresql":
    sys.exit("set MUSICCHARTS_WAREHOUSE_URL to a PostgreSQL URL: runs and sensors share it")
storage_url = sa.engine.URL.create("postgresql", user, password or None, host, int(port), storage)
for url in (storage_url, warehouse):
    admin = psycopg2.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password or "",
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,))
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{url.database}"')
            print(f"created database {url.database}")
    admin.close()
PY
    # set explicitly: left to the first runs, Dagster creates the pool lazily and they collide
    "$BIN/dagster" instance concurrency set soundcharts_api 4
    "$BIN/musiccharts" migrate
    ;;
  code-server)
    cd "$ROOT"
    exec "$BIN/python" -m musiccharts_pipeline.launch "$BIN/dagster" code-server start \
      -m musiccharts_pipeline.definitions --location-name musiccharts \
      -h "$MUSICCHARTS_CODE_SERVER_HOST" -p "$MUSICCHARTS_CODE_SERVER_PORT"
    ;;
  webserver)
    # started from DAGSTER_HOME, as `make dev` does: no stray dagster.yaml in the working directory
    cd "$DAGSTER_HOME"
    exec "$BIN/python" -m musiccharts_pipeline.launch \
      "$BIN/dagster-webserver" -w "$WORKSPACE" -h "$WEBSERVER_HOST" -p "$WEBSERVER_PORT"
    ;;
  daemon)
    cd "$DAGSTER_HOME"
    exec "$BIN/python" -m musiccharts_pipeline.launch "$BIN/dagster-daemon" run -w "$WORKSPACE"
    ;;
  all)
    # Job control: each supervisor gets a process group of its own, and the components keep the
    # default SIGINT/SIGTERM handling (the launcher restores it: a script's background jobs would
    # otherwise ignore SIGINT, and Dagster maps SIGTERM onto the SIGINT handler). A component
    # that dies is restarted by its supervisor, after 1, 2, 4 ... up to 30 s (back to 1 s once it
    # has run a minute), as Compose's `restart:` and Kubernetes do; Ctrl-C or SIGTERM to this
    # script stops the three within 30 s.
    set -m
    pids=()
    supervise() {
      set +e
      local name=$1 delay=1 child="" stopping="" status started
      trap 'stopping=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT
      while :; do
        started=$SECONDS
        "$0" "$name" &
        child=$!
        wait "$child"; status=$?
        while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done  # a trap woke us
        [ -n "$stopping" ] && exit 0
        (( SECONDS - started >= 60 )) && delay=1
        echo "topology: $name exited (status $status); restarting it in ${delay}s" >&2
        sleep "$delay" &
        wait $!
        [ -n "$stopping" ] && exit 0
        delay=$(( delay * 2 > 30 ? 30 : delay * 2 ))
      done
    }
    stop() {
      trap - EXIT INT TERM
      kill -TERM "${pids[@]}" 2>/dev/null || true
      # 30 s to stop; then the whole process group of any straggler (a process started with
      # SIGINT ignored ignores SIGTERM too, and the code server's gRPC child is in its group)
      for _ in $(seq 30); do
        kill -0 "${pids[@]}" 2>/dev/null || break
        sleep 1
      done
      for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
      wait "${pids[@]}" 2>/dev/null || true
    }
    trap stop EXIT
    trap 'stop; exit 143' INT TERM  # stopped while waiting for the code server: start no more
    supervise code-server & pids+=($!)
    # the webserver and the daemon start once the code server answers (it loads the definitions)
    for _ in $(seq 180); do
      "$BIN/dagster" api grpc-health-check -h "$MUSICCHARTS_CODE_SERVER_HOST" \
        -p "$MUSICCHARTS_CODE_SERVER_PORT" >/dev/null 2>&1 && break
      sleep 1
    done
    supervise webserver & pids+=($!)
    supervise daemon & pids+=($!)
    echo "topology: code server $MUSICCHARTS_CODE_SERVER_HOST:$MUSICCHARTS_CODE_SERVER_PORT," \
      "webserver http://$WEBSERVER_HOST:$WEBSERVER_PORT, daemon; DAGSTER_HOME=$DAGSTER_HOME"
    # until a signal: a supervisor only ends when told to
    wait "${pids[@]}" || true
    ;;
  *)
    echo "usage: $0 [prepare|code-server|webserver|daemon|all]" >&2
    exit 2
    ;;
esac
