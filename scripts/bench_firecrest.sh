#!/usr/bin/env bash
# scripts/bench_firecrest.sh [run_bench.py options...]: the FirecREST benchmark of issue 7
# (item 6). Builds bench/firecrest/firecrest_bench.cpp in Release into build-release and runs
# bench/firecrest/run_bench.py: the client against the emulator, beside the emulator's own
# ceiling, and the 10,000-job poll workflow. Writes bench/firecrest/RESULTS.md + results.json.
# Examples:
#   scripts/bench_firecrest.sh
#   scripts/bench_firecrest.sh --calls 1000 --jobs 1000 --results-md /tmp/r.md --json /tmp/r.json
#   scripts/bench_firecrest.sh --pyfirecrest /path/to/pyfirecrest   # add pyFirecREST as a peer
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
build_dir=${ASYNCFS_BENCH_BUILD_DIR:-build-release}
scripts/build.sh "$build_dir" -DCMAKE_BUILD_TYPE=Release -DASYNCFS_BUILD_TESTS=OFF \
  -DASYNCFS_BUILD_BENCH=ON -- firecrest_bench >&2
exec /usr/bin/python3 bench/firecrest/run_bench.py --bench "$build_dir/bench/firecrest_bench" "$@"
