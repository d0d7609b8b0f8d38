#!/usr/bin/env bash
# scripts/bench_firecrest_fs.sh [run_fs_bench.py options...]: the firecrest:// filesystem
# benchmark. Builds bench/firecrest/firecrest_fs_bench.cpp in Release into build-release (that
# target only) and runs bench/firecrest/run_fs_bench.py: bulk cat of 1,000 small files, ls of a
# 10,000-entry directory, find of a 10,000-file tree and 256 MiB put_file/get_file through S3
# staging, each beside the emulator's own ceiling (a keep-alive load generator for the small
# requests, curl on presigned URLs for the staging area) measured in the same run. Writes
# bench/firecrest/FS_RESULTS.md, fs_results.json and fs_results.svg.
# Examples:
#   scripts/bench_firecrest_fs.sh
#   scripts/bench_firecrest_fs.sh --big-mib 64 --results-md /tmp/r.md --json /tmp/r.json --svg /tmp/r.svg
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
build_dir=${ASYNCFS_BENCH_BUILD_DIR:-build-release}
scripts/build.sh "$build_dir" -DCMAKE_BUILD_TYPE=Release -DASYNCFS_BUILD_TESTS=OFF \
  -DASYNCFS_BUILD_BENCH=ON -- firecrest_fs_bench >&2
exec /usr/bin/python3 bench/firecrest/run_fs_bench.py --bench "$build_dir/bench/firecrest_fs_bench" "$@"
