#!/usr/bin/env bash
# Installs what is missing, builds, and starts the orchestrator on the
# filesystem backend with its data in ./data, serving http://127.0.0.1:8080,
# with the repository's workflow templates (config/workflows).
# Extra arguments go to the orchestrator (e.g. --max-concurrent-tasks 8) and
# may replace those defaults (--port 9090, --data-dir /srv/orchestrator).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# ORCHESTRATOR_SKIP_SETUP=1: start what is built (no package check, no build).
[[ -n "${ORCHESTRATOR_SKIP_SETUP:-}" ]] || "$root/scripts/setup.sh"
cd "$root"
# The defaults, each unless the arguments give it (the CLI takes an option once).
defaults=()
has() { local a; for a in "${@:2}"; do [[ "$a" == "$1" || "$a" == "$1="* ]] && return 0; done; return 1; }
has --storage-type "$@" || defaults+=(--storage-type filesystem)
has --data-dir "$@" || defaults+=(--data-dir ./data)
has --port "$@" || defaults+=(--port 8080)
has --workflow-templates "$@" || defaults+=(--workflow-templates "$root/config/workflows")
exec "${BUILD_DIR:-$root/build}/orchestrator" "${defaults[@]}" "$@"
