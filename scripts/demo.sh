#!/usr/bin/env bash
# The main job: build asyncfs and show its headline use on local data — a concurrent bulk cat
# of 10,000 files through the CLI with a progress bar, then listing, globbing and a copy
# between filesystems from C++. (Once the HTTP backend lands this fetches from a local nginx.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release -DASYNCFS_BUILD_TESTS=OFF \
  -DASYNCFS_BUILD_BENCH=OFF -- asyncfs_cli example_quickstart

cli=build-release/cli/asyncfs
data=$(mktemp -d "${TMPDIR:-/tmp}/asyncfs-demo-XXXXXX")
trap 'rm -rf "$data"' EXIT

echo "== sample data: 10,000 files of 4 KiB in $data/files"
mkdir -p "$data/files"
head -c $((10000 * 4096)) /dev/urandom | (cd "$data/files" && split -b 4096 -a 5 -d - f)
find "$data/files" -type f | sort > "$data/list.txt"

echo "== asyncfs ls -l (first lines)"
"$cli" ls -l "file://$data/files" | head -n 5 || true  # head closes the pipe early

echo "== asyncfs cat --discard of 10,000 URLs, 256 at a time"
"$cli" cat --from-list "$data/list.txt" --batch-size 256 --discard --progress

echo "== asyncfs du and glob"
"$cli" du "file://$data/files"
"$cli" glob "file://$data/files/f0000*" | head -n 3 || true

echo "== the library from C++ (examples/quickstart.cpp)"
build-release/examples/example_quickstart "$data"
