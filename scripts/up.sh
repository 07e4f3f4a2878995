#!/usr/bin/env bash
# Start a Prefect server and a process worker on 127.0.0.1, and deploy prefect.yaml's deployments.
# Settings (all optional): POSTDECK_PREFECT_PORT (4200), PREFECT_HOME, POSTDECK_RUN_DIR (.postdeck/run),
# POSTDECK_WORKER_LIMIT (4 flow runs at once), and for the worker's flow runs, which inherit it,
# POSTDECK_PROVIDER_CONCURRENCY (16): provider calls in flight per run, reserved from the provider:*
# limits that `postdeck limits` creates below (see README "Scaling out").
set -euo pipefail
cd "$(dirname "$0")/.."
port=${POSTDECK_PREFECT_PORT:-4200}
run_dir=${POSTDECK_RUN_DIR:-$PWD/.postdeck/run}
pool=${POSTDECK_WORK_POOL:-postdeck-process}
mkdir -p "$run_dir"
export PREFECT_HOME=${PREFECT_HOME:-$PWD/.postdeck/prefect}
export PREFECT_API_URL="http://127.0.0.1:$port/api"
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1
export PREFECT_WORKER_WEBSERVER_HOST=127.0.0.1
export PREFECT_WORKER_QUERY_SECONDS=${PREFECT_WORKER_QUERY_SECONDS:-2}

if curl -sf "$PREFECT_API_URL/health" >/dev/null 2>&1; then
  echo "a Prefect server already answers on port $port"
else
  nohup prefect server start --host 127.0.0.1 --port "$port" >"$run_dir/server.log" 2>&1 &
  echo $! >"$run_dir/server.pid"
  for _ in $(seq 1 120); do
    curl -sf "$PREFECT_API_URL/health" >/dev/null 2>&1 && break
    sleep 0.5
  done
  curl -sf "$PREFECT_API_URL/health" >/dev/null || { echo "server did not start; see $run_dir/server.log"; exit 1; }
fi

prefect work-pool inspect "$pool" >/dev/null 2>&1 || prefect work-pool create "$pool" --type process >/dev/null
postdeck limits >"$run_dir/limits.log" 2>&1 || { cat "$run_dir/limits.log"; exit 1; }
prefect --no-prompt deploy --all >"$run_dir/deploy.log" 2>&1 || { cat "$run_dir/deploy.log"; exit 1; }

if [ -f "$run_dir/worker.pid" ] && kill -0 "$(cat "$run_dir/worker.pid")" 2>/dev/null; then
  echo "worker already running"
else
  nohup prefect worker start --pool "$pool" --limit "${POSTDECK_WORKER_LIMIT:-4}" >"$run_dir/worker.log" 2>&1 &
  echo $! >"$run_dir/worker.pid"
fi
echo "Prefect server: http://127.0.0.1:$port  (UI and API)"
echo "Run:  PREFECT_API_URL=$PREFECT_API_URL prefect deployment run publish-campaign/example --watch"
