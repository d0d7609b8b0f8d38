#!/usr/bin/env bash
# scripts/bench_http.sh [run_bench.py options...]: the HTTP benchmark of issue #3 (item 5).
# Installs the benchmark-only Debian packages when missing (needs root then), builds the
# Release CLI into build-release and runs bench/http/run_bench.py with /usr/bin/python3
# (never a `python3` from PATH, which may be a pyenv shim without the Debian modules).
# Examples:
#   scripts/bench_http.sh                          # full run, writes bench/RESULTS.md + results.png
#   scripts/bench_http.sh --scale 0.05 --rounds 3  # quick check
#   scripts/bench_http.sh --clients curl,fsspec    # without asyncfs
set -euo pipefail
cd "$(dirname "$0")/.."

# The build and test packages plus the peers' own (fsspec 2022.11 needs requests for http).
scripts/install_deps.sh python3-fsspec python3-aiohttp python3-requests python3-matplotlib

build_dir=${ASYNCFS_BENCH_BUILD_DIR:-build-release}
case " $* " in
  *" --clients "*asyncfs*|*" --clients="*asyncfs*) need_cli=1 ;;
  *" --clients "*|*" --clients="*) need_cli=0 ;;
  *) need_cli=1 ;;
esac
if [ "$need_cli" = 1 ]; then
  scripts/build.sh "$build_dir" -DCMAKE_BUILD_TYPE=Release -DASYNCFS_BUILD_TESTS=OFF -- asyncfs_cli >&2
fi
exec /usr/bin/python3 bench/http/run_bench.py --asyncfs "$build_dir/cli/asyncfs" "$@"
