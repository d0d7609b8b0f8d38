#!/usr/bin/env bash
# scripts/install_deps.sh [extra packages...]: installs what building and testing asyncfs
# needs from Debian 12 packages, plus any extra package names given (run as root).
# Idempotent and quiet when everything is already there.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config make
  libuv1-dev libcurl4-openssl-dev libsimdjson-dev libfmt-dev
  libspdlog-dev  # the debug log (ASYNCFS_LOG)
  libssl-dev   # SHA-256 of local files (checksum-verified FirecREST transfers)
  zlib1g-dev   # gzip/deflate bodies are decoded by us, so a truncated stream is an error
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
  clang        # the stack-depth check of Task is also built with clang
  libclang-rt-14-dev  # libFuzzer and the sanitizer runtimes for scripts/fuzz.sh
  nginx-light  # the HTTP tests run against a real nginx they start themselves
  openssl      # the HTTPS tests make a throwaway CA and server certificate with its CLI
  python3      # the HTTP fault server (standard library only)
  curl         # a peer in the HTTP benchmarks
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install_deps: missing packages: ${missing[*]} (run as root or install them)" >&2
    exit 1
  fi
  echo "install_deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Packages such as nginx would start their system service on install; the tests start their
  # own instances, so keep services down while installing (policy-rc.d exit code 101).
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && made_policy=1
  fi
  trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
