#!/usr/bin/env bash
# scripts/bench_http.sh [run_bench.py options...]: the HTTP benchmark of issue #3 (item 5).
# Installs the benchmark-only Debian packages when missing (needs root then), builds the
# Release CLI and bench/http/libcurl_floor.cpp (the clients asked for) into build-release and
# runs bench/http/run_bench.py with /usr/bin/python3 (never a `python3` from PATH, which may be
# a pyenv shim without the Debian modules).
# Examples:
#   scripts/bench_http.sh                          # full run, writes bench/RESULTS.md + results.png
#   scripts/bench_http.sh --scale 0.05 --rounds 3  # quick check
#   scripts/bench_http.sh --clients curl,fsspec    # without asyncfs
#   scripts/bench_http.sh --clients curl,libcurl-floor --results-md /tmp/r.md --json /tmp/r.json \
#     --plot /tmp/r.png                            # the libcurl floor, results kept out of bench/
set -euo pipefail
cd "$(dirname "$0")/.."

# The build and test packages plus the peers' own (fsspec 2022.11 needs requests for http).
scripts/install_deps.sh python3-fsspec python3-aiohttp python3-requests python3-matplotlib

build_dir=${ASYNCFS_BENCH_BUILD_DIR:-build-release}
# The targets the requested clients need (all of them when --clients is not given).
clients=all
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --clients) clients=${args[i + 1]:-} ;;
    --clients=*) clients=${args[i]#--clients=} ;;
  esac
done
targets=()
case ",$clients," in *,all,*|*,asyncfs,*|*,asyncfs:*) targets+=(asyncfs_cli) ;; esac
case ",$clients," in *,all,*|*,libcurl-floor*) targets+=(libcurl_floor) ;; esac
if [ ${#targets[@]} -gt 0 ]; then
  scripts/build.sh "$build_dir" -DCMAKE_BUILD_TYPE=Release -DASYNCFS_BUILD_TESTS=OFF \
    -DASYNCFS_BUILD_BENCH=ON -- "${targets[@]}" >&2
fi
exec /usr/bin/python3 bench/http/run_bench.py --asyncfs "$build_dir/cli/asyncfs" \
  --libcurl-floor "$build_dir/bench/libcurl_floor" "$@"
