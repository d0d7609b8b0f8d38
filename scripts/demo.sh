#!/usr/bin/env bash
# The main job: build asyncfs, start a local nginx serving 10,000 sample files, and bulk-cat
# all 10,000 URLs through the CLI with a progress bar, printing files/s; then listing, info and
# globbing over HTTP, and the C++ API (examples/quickstart.cpp); then FirecREST against the
# emulator the tests use: the CLI (submit, wait, view) and pyFirecREST's async tutorial in C++
# (examples/firecrest_workflow.cpp).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release -DASYNCFS_BUILD_TESTS=OFF \
  -DASYNCFS_BUILD_BENCH=OFF -- asyncfs_cli example_quickstart example_firecrest_workflow

cli=build-release/cli/asyncfs
data=$(mktemp -d "${TMPDIR:-/tmp}/asyncfs-demo-XXXXXX")
trap 'rm -rf "$data"' EXIT

echo "== sample data: 10,000 files of 4 KiB in $data/files"
mkdir -p "$data/files"
head -c $((10000 * 4096)) /dev/urandom | (cd "$data/files" && split -b 4096 -a 5 -d - f)
find "$data/files" -type f | sort > "$data/list.txt"

echo "== local nginx on 127.0.0.1 serving them"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$data/nginx/logs"
cat > "$data/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 8192;
pid $data/nginx/nginx.pid;
error_log $data/nginx/logs/error.log;
events { worker_connections 4096; }  # du/info send up to 1,280 requests at once
http {
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  client_body_temp_path $data/nginx/tmp;
  proxy_temp_path $data/nginx/tmp;
  fastcgi_temp_path $data/nginx/tmp;
  uwsgi_temp_path $data/nginx/tmp;
  scgi_temp_path $data/nginx/tmp;
  types { application/octet-stream bin; }
  server {
    listen 127.0.0.1:$port;
    root $data;
    autoindex on;
  }
}
CONF
/usr/sbin/nginx -e "$data/nginx/logs/error.log" -p "$data/nginx" -c "$data/nginx/nginx.conf" &
nginx_pid=$!
trap 'kill $nginx_pid 2>/dev/null; wait $nginx_pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
  sleep 0.1
done
base="http://127.0.0.1:$port/files"
sed "s#^$data/files#$base#" "$data/list.txt" > "$data/urls.txt"

echo "== asyncfs ls -l $base/ (first lines)"
"$cli" ls -l "$base/" | head -n 5 || true  # head closes the pipe early

echo "== asyncfs info --json of one URL"
"$cli" info --json "$base/f00000"

echo "== asyncfs cat --discard of 10,000 URLs, 64 at a time"
"$cli" cat --from-list "$data/urls.txt" --batch-size 64 --discard --progress | tee "$data/result.txt"
awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
     END { printf "%.0f files/s, %.1f MiB/s\n", v["files"] / v["seconds"], v["bytes"] / v["seconds"] / 1048576 }' \
  "$data/result.txt"

echo "== the same from local disk: asyncfs cat of file:// paths"
"$cli" cat --from-list "$data/list.txt" --batch-size 64 --discard --no-progress

echo "== asyncfs du and glob over HTTP"
"$cli" du "$base/"
"$cli" glob "$base/f0000*" | head -n 3 || true

echo "== the library from C++ (examples/quickstart.cpp)"
build-release/examples/example_quickstart "$data"

echo "== FirecREST: the CLI and the tutorial against the emulator (tests/support/)"
cat > "$data/job.sh" <<'JOB'
#!/bin/bash
echo hello from a FirecREST job
JOB
cat > "$data/firecrest.sh" <<SH
set -e
echo "\$ asyncfs firecrest systems"
"$PWD/$cli" firecrest systems
id=\$("$PWD/$cli" firecrest submit daint "$data/job.sh")
echo "\$ asyncfs firecrest submit daint job.sh  -> job \$id"
echo "\$ asyncfs firecrest wait daint \$id"
"$PWD/$cli" firecrest wait daint "\$id"
echo "\$ asyncfs firecrest view daint /home/fireuser/slurm-\$id.out"
"$PWD/$cli" firecrest view daint "/home/fireuser/slurm-\$id.out"
echo "\$ example_firecrest_workflow daint"
"$PWD/build-release/examples/example_firecrest_workflow" daint "$data"
SH
/usr/bin/python3 tests/support/with_firecrest_emulator.py --job-delay 0.5 \
  --max-ops-file-size 1048576 --max-part-size 400000 -- bash "$data/firecrest.sh"
