#!/usr/bin/env bash
# scripts/test_package.sh [BUILD_DIR]: installs the asyncfs built in BUILD_DIR (default
# build-debug) into a temporary prefix, then builds and runs tests/package/consumer.cpp, a
# program outside the tree, three ways: find_package(asyncfs), pkg-config, and
# add_subdirectory() of this checkout with no C++ standard set by the consumer.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-debug}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
for f in include/asyncfs/asyncfs.hpp include/asyncfs/log.hpp include/asyncfs/backends/http.hpp; do
  [ -f "$prefix/$f" ] || { echo "test_package: $f was not installed" >&2; exit 1; }
done
config=$(find "$prefix" -name asyncfsConfig.cmake)
[ -n "$config" ] && [ -f "$(dirname "$config")/asyncfsConfigVersion.cmake" ] ||
  { echo "test_package: no asyncfsConfig.cmake/asyncfsConfigVersion.cmake" >&2; exit 1; }
pc=$(find "$prefix" -name asyncfs.pc)
[ -n "$pc" ] || { echo "test_package: no asyncfs.pc" >&2; exit 1; }

echo "--- find_package(asyncfs)"
cmake -S tests/package/find_package -B "$tmp/fp" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  >/dev/null
cmake --build "$tmp/fp" >/dev/null
"$tmp/fp/consumer" "$tmp/scratch-fp"

echo "--- pkg-config asyncfs ($(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --modversion asyncfs))"
# shellcheck disable=SC2046  # the flags are meant to split
g++ -std=c++20 tests/package/consumer.cpp -o "$tmp/pc-consumer" \
  $(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs asyncfs)
"$tmp/pc-consumer" "$tmp/scratch-pc"

echo "--- add_subdirectory(asyncfs), no CMAKE_CXX_STANDARD in the consumer"
cmake -S tests/package/subdirectory -B "$tmp/sub" -G Ninja -DASYNCFS_SOURCE_DIR="$PWD" >/dev/null
cmake --build "$tmp/sub" --parallel "$(nproc)" >/dev/null
if [ -e "$tmp/sub/asyncfs/tests" ] || [ -e "$tmp/sub/asyncfs/cli" ]; then
  echo "test_package: a vendored asyncfs built its tests or CLI" >&2
  exit 1
fi
"$tmp/sub/consumer" "$tmp/scratch-sub"
echo "package: installed, found and vendored"
