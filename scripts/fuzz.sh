#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS]: builds the libFuzzer targets of tests/fuzz/ with clang
# (-fsanitize=fuzzer,address,undefined) into build-fuzz/ and runs each for SECONDS (default 20)
# from its corpus in build-fuzz/corpus/<target>. Any crash, leak or sanitizer report fails.
# Targets compile only the sources they exercise, so the build takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
out=build-fuzz
mkdir -p "$out"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -Iinclude -I.)
build() {  # name sources... -- libs...
  local name=$1
  shift
  local srcs=() libs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do srcs+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  libs=("$@")
  clang++ "${flags[@]}" "${srcs[@]}" -o "$out/$name" "${libs[@]}"
}
build fuzz_firecrest_models tests/fuzz/fuzz_firecrest_models.cpp backends/firecrest/models.cpp \
  core/errors.cpp -- -lsimdjson -lfmt -luv
build fuzz_retry_after tests/fuzz/fuzz_retry_after.cpp core/http/retry.cpp core/errors.cpp \
  -- -lfmt -luv
build fuzz_h1_response tests/fuzz/fuzz_h1_response.cpp core/http/h1/response_parser.cpp
build fuzz_h1_differential tests/fuzz/fuzz_h1_differential.cpp core/http/h1/response_parser.cpp \
  -- -lcurl
build fuzz_ranges tests/fuzz/fuzz_ranges.cpp core/http/ranges.cpp core/slice.cpp core/errors.cpp \
  -- -lfmt -luv
build fuzz_url tests/fuzz/fuzz_url.cpp backends/http/url_norm.cpp backends/http/html_links.cpp \
  core/errors.cpp -- -lcurl -lfmt -luv
build fuzz_html_links tests/fuzz/fuzz_html_links.cpp backends/http/html_links.cpp
build fuzz_glob tests/fuzz/fuzz_glob.cpp core/path.cpp core/errors.cpp -- -lfmt -luv
build fuzz_redact tests/fuzz/fuzz_redact.cpp core/http/redact.cpp
build fuzz_config tests/fuzz/fuzz_config.cpp core/config.cpp core/errors.cpp -- -lsimdjson -lfmt -luv
for t in fuzz_redact fuzz_firecrest_models fuzz_retry_after fuzz_h1_response fuzz_h1_differential fuzz_ranges \
  fuzz_url fuzz_html_links fuzz_glob fuzz_config; do
  mkdir -p "$out/corpus/$t"
  echo "--- $t (${seconds}s)"
  "$out/$t" -max_total_time="$seconds" -max_len=4096 -timeout=5 -rss_limit_mb=1024 \
    -print_final_stats=1 "$out/corpus/$t" tests/fuzz/seeds/"$t" 2>&1 | tail -n 4
done
