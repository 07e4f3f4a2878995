#!/usr/bin/env bash
# Stop the worker and server started by scripts/up.sh. Prefect's worker ignores a lone SIGTERM,
# so: SIGINT, wait, then SIGKILL.
set -uo pipefail
cd "$(dirname "$0")/.."
run_dir=${POSTDECK_RUN_DIR:-$PWD/.postdeck/run}
for name in worker server; do
  pid_file="$run_dir/$name.pid"
  [ -f "$pid_file" ] || continue
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    pkill -INT -P "$pid" 2>/dev/null; kill -INT "$pid" 2>/dev/null
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    pkill -KILL -P "$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$pid_file"
done
echo "stopped"
