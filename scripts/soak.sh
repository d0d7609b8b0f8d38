#!/usr/bin/env bash
# scripts/soak.sh [SECONDS] [BUILD_DIR]: the soak test (tests/integration/soak_test.cpp) for
# SECONDS (default 300) against the fault server with 5% faulty responses, on both transports.
# CI runs it for 20 s inside the integration tests. Prints the rounds, files verified, faults
# injected, RSS and descriptor counts.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
dir=${2:-build-debug}
[ -x "$dir/tests/asyncfs_integration_tests" ] || scripts/build.sh "$dir" -DCMAKE_BUILD_TYPE=Debug
for transport in native curl; do
  echo "--- soak, ${seconds}s, transport $transport"
  env_transport=()
  [ "$transport" = curl ] && env_transport=(ASYNCFS_TEST_HTTP_TRANSPORT=curl)
  env "${env_transport[@]}" ASYNCFS_SOAK_SECONDS="$seconds" \
    "$dir/tests/asyncfs_integration_tests" --gtest_filter='Soak.*'
done
