#!/usr/bin/env bash
# Installs what is missing on a Debian 12 machine and builds the orchestrator.
#
#   scripts/setup.sh            # packages (apt, as root), npm tools, build/
#   scripts/setup.sh --with-fuzz   # also clang and libFuzzer, and the fuzz
#                                  # targets in build/fuzz (the test command)
#
# Idempotent: packages already present are not reinstalled, and the build is
# incremental. Environment: BUILD_DIR (default ./build), JOBS (default: CPUs).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build_dir="${BUILD_DIR:-$root/build}"
jobs="${JOBS:-$(nproc)}"
with_fuzz=0
for arg in "$@"; do
  case "$arg" in
    --with-fuzz) with_fuzz=1 ;;
    *) echo "usage: scripts/setup.sh [--with-fuzz]" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# -- system packages (Debian 12) ------------------------------------------------
packages=(
  build-essential cmake ccache pkg-config
  libcaf-dev librocksdb-dev nlohmann-json3-dev libboost1.81-dev catch2 libcli11-dev libssl-dev
  libargon2-dev libhowardhinnant-date-dev zlib1g-dev libjemalloc-dev tzdata
  nodejs npm ca-certificates curl procps openssl
  prometheus  # promtool: the test of /metrics
  chromium    # the dashboard's browser test (driven by puppeteer-core from npm)
)
# The fuzz targets (scripts/fuzz.sh): clang with libFuzzer and the sanitizer
# runtimes, and llvm's symbolizer for readable reports.
((with_fuzz)) && packages+=(clang-14 libclang-rt-14-dev libfuzzer-14-dev llvm-14)
missing=()
for p in "${packages[@]}"; do
  # nodejs/npm may come from elsewhere (e.g. NodeSource): a working binary is enough.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Only its promtool is wanted: a Prometheus server the package starts on a
  # systemd machine is stopped and left disabled.
  if [[ " ${missing[*]} " == *" prometheus "* && -d /run/systemd/system ]]; then
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

# -- npm tools: Nushell, and the SurrealDB test server's dependencies ------------
npm_ci() {  # npm ci in $1 unless node_modules is newer than the lock file
  local dir="$1"
  if [[ ! "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]]; then
    say "installing npm packages in ${dir#"$root"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_ci "$root"
[[ -f "$root/tests/surreal-server/package-lock.json" ]] && npm_ci "$root/tests/surreal-server"

# `nu` on PATH, for scripts/migrate-storage.nu and Nushell script tasks.
nu_bin="$root/node_modules/@nushell/linux-x64/bin/nu"
if ! command -v nu >/dev/null 2>&1 && [[ -x "$nu_bin" ]]; then
  say "installing nu $("$nu_bin" --version) to /usr/local/bin"
  if [[ -w /usr/local/bin ]]; then install -m 0755 "$nu_bin" /usr/local/bin/nu
  else sudo install -m 0755 "$nu_bin" /usr/local/bin/nu; fi
fi

# -- build ------------------------------------------------------------------------
say "building in ${build_dir} (${jobs} jobs)"
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
fuzz_args=()
((with_fuzz)) && fuzz_args=(-DORCH_FUZZ_BUILD_DIR="$build_dir/fuzz")
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "${fuzz_args[@]}" >/dev/null
cmake --build "$build_dir" -j "$jobs"
if ((with_fuzz)); then
  FUZZ_BUILD_DIR="$build_dir/fuzz" JOBS="$jobs" "$root/scripts/fuzz.sh" --build-only
fi
# The seed guide's command lines run ./orchestrator from the project root.
ln -sfn "$build_dir/orchestrator" "$root/orchestrator"
say "built $build_dir/orchestrator (also ./orchestrator)"
