#!/usr/bin/env bash
# Installs what is missing, builds, and starts the orchestrator on the
# filesystem backend with its data in ./data, serving http://127.0.0.1:8080.
# Extra arguments go to the orchestrator (e.g. --max-concurrent-tasks 8).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
exec "${BUILD_DIR:-$root/build}/orchestrator" --storage-type filesystem --data-dir ./data \
  --port 8080 "$@"
