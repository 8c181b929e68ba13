#!/usr/bin/env bash
# One SurrealDB test server for a whole CTest run (the surreal_shared
# fixture, tests/CMakeLists.txt): each test that needs a server takes a
# database of its own on it instead of starting a server per test.
#
#   run-server.sh start BASE   starts it; its URL in BASE.url, pid in BASE.pid
#   run-server.sh stop BASE    stops it
#
# The server outlives `start` and ends with the CTest run that started it
# (it polls that process), so an interrupted run leaves nothing behind.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cmd="${1:-}" base="${2:-}"
[[ -n $base ]] || { echo "usage: run-server.sh start|stop BASE" >&2; exit 2; }
case "$cmd" in
  start)
    "$0" stop "$base"
    rm -rf "$base.store" "$base.url"
    mkdir -p "$base.store"
    # $PPID: the ctest process that runs this fixture.
    setsid node "$here/server.mjs" --port 0 --bind 127.0.0.1 --user root --pass root \
      --store "rocksdb://$base.store/db" --exit-with-pid "$PPID" \
      < /dev/null > "$base.out" 2> "$base.err" &
    echo $! > "$base.pid"
    for _ in $(seq 600); do  # up to 60 s for "LISTENING host:port"
      grep -q '^LISTENING ' "$base.out" 2>/dev/null && break
      kill -0 "$(cat "$base.pid")" 2>/dev/null || break
      sleep 0.1
    done
    port="$(sed -n 's/^LISTENING [0-9.]*:\([0-9]*\)$/\1/p' "$base.out")"
    if [[ -z $port ]]; then
      echo "the SurrealDB test server did not start:" >&2
      cat "$base.err" >&2
      exit 1
    fi
    echo "ws://127.0.0.1:$port" > "$base.url"
    echo "SurrealDB test server for this run: ws://127.0.0.1:$port (pid $(cat "$base.pid"))"
    ;;
  stop)
    if [[ -f $base.pid ]]; then
      pid="$(cat "$base.pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
      rm -f "$base.pid"
    fi
    rm -rf "$base.url" "$base.store"
    ;;
  *) echo "usage: run-server.sh start|stop BASE" >&2; exit 2 ;;
esac
