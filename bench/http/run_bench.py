#!/usr/bin/python3
"""HTTP benchmark of asyncfs against curl and Python fsspec (issue #3, item 5).

Run it through scripts/bench_http.sh (installs the packages, builds the Release CLI), or directly:

    /usr/bin/python3 bench/http/run_bench.py --asyncfs build-release/cli/asyncfs
    /usr/bin/python3 bench/http/run_bench.py --clients curl,fsspec --scale 0.05 --rounds 3
    /usr/bin/python3 bench/http/run_bench.py --clients curl,libcurl-floor \
        --results-md /tmp/floor.md --json /tmp/floor.json --plot /tmp/floor.png

What it does:
  * generates the data sets in a temporary directory (10,000 x 4 KiB, 1,000 x 64 KiB, one
    512 MiB file; counts and the big size are multiplied by --scale),
  * starts its own nginx (/usr/sbin/nginx, generated config: own prefix, 127.0.0.1 on a free
    port, HTTP/1.1 keep-alive, sendfile on, 2 workers) and always stops it by pid at the end,
  * runs every scenario with every client, interleaved: round r runs scenario S with each client
    in turn (the starting client rotates per round), after one untimed warm-up/verification
    round,
  * measures each client process from outside: wall time, user+sys CPU and peak RSS from the
    os.wait4() rusage of the child; plus the nginx CPU and the CPU used by everything else on
    the machine during the run (from /proc), as a noise indicator,
  * reports medians over the rounds; ratios to curl are taken within each round, then the median,
  * writes bench/RESULTS.md, bench/http/results.png and the raw data bench/http/results.json
    (or the paths given by --results-md, --plot, --json).

Clients: asyncfs (the CLI), curl (the reference), fsspec, and libcurl-floor, the leanest
possible libcurl client (bench/http/libcurl_floor.cpp, built by scripts/bench_http.sh; in the
default client list when its binary exists): it shows the CPU floor of any libcurl-based design.
libcurl-floor drives libcurl with curl_multi_poll/curl_multi_perform like the curl CLI;
libcurl-floor-epoll with curl_multi_socket_action on epoll, like an event loop (asyncfs on libuv).

Only the Python standard library and matplotlib (for the plot) are used.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
KIB = 1024
MIB = 1024 * 1024

# ----------------------------------------------------------------------------------------------
# Scenarios and targets
# ----------------------------------------------------------------------------------------------

SCENARIO_ORDER = ["small", "medium", "get", "cat"]


def make_scenarios(scale):
    big = max(MIB, int(512 * MIB * scale) // (64 * KIB) * (64 * KIB))
    return {
        "small": dict(kind="bulk", count=max(1, round(10000 * scale)), size=4 * KIB, dir="s4k"),
        "medium": dict(kind="bulk", count=max(1, round(1000 * scale)), size=64 * KIB, dir="s64k"),
        "get": dict(kind="get", count=1, size=big, dir="big"),
        "cat": dict(kind="cat", count=1, size=big, dir="big"),
    }


def scenario_title(name, sc):
    if sc["kind"] == "bulk":
        return f"{sc['count']:,} x {sc['size'] // KIB} KiB, cat (bulk)"
    what = "get into a tmpfs file" if sc["kind"] == "get" else "cat --discard (streamed)"
    return f"1 x {fmt_size(sc['size'])}, {what}"


def fmt_size(n):
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB} MiB"
    if n >= MIB:
        return f"{n / MIB:.1f} MiB"
    return f"{n // KIB} KiB"


# ----------------------------------------------------------------------------------------------
# Child processes: spawn, bounded wait, rusage
# ----------------------------------------------------------------------------------------------


def child_env(config_dir):
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith("ASYNCFS_")
           and k not in ("PYTHONPATH", "PYTHONHOME", "CURL_HOME")}
    env["ASYNCFS_CONFIG_DIR"] = config_dir     # an empty directory: no user configuration
    env["FSSPEC_CONFIG_DIR"] = config_dir
    env["no_proxy"] = "127.0.0.1"
    return env


def proc_stat_busy():
    """(busy, total) clock ticks of the whole machine from /proc/stat."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return sum(vals[:8]) - idle, sum(vals[:8])


def pid_cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])    # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total


TICK = os.sysconf("SC_CLK_TCK")


LAUNCH = 'p=$1; shift; (read go <&4; exec 4<&- "$@") & echo $! >"$p"'


def set_subreaper():
    """Makes this process the reaper of its orphaned descendants (prctl PR_SET_CHILD_SUBREAPER)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def run_child(argv, env, stdout_path, stderr_path, timeout, server_pids=()):
    """Runs argv to completion (killed after `timeout` s); returns the measurements.

    Peak RSS needs care: at exec, Linux folds the high-water RSS of the pre-exec address space
    into the process's ru_maxrss, and a child forked or vforked from this (large) Python process
    would report our RSS as its own. So the client is forked by a tiny /bin/sh that exits at
    once; the client is reparented to us (we are a child subreaper) and waits on a pipe until we
    release it, so the timing starts at the release and wait4() gives its own rusage with at
    most the shell's ~1 MiB as a floor.
    """
    pid_path = stdout_path + ".pid"
    rfd, wfd = os.pipe()
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        (os.POSIX_SPAWN_OPEN, 2, stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        (os.POSIX_SPAWN_DUP2, rfd, 4),
    ]
    try:
        os.unlink(pid_path)
    except OSError:
        pass
    try:
        sh = os.posix_spawn("/bin/sh", ["sh", "-c", LAUNCH, "sh", pid_path] + list(argv), env,
                            file_actions=actions)
    finally:
        os.close(rfd)
    try:
        _, sh_status = os.waitpid(sh, 0)
        with open(pid_path) as f:
            pid = int(f.read())
    except (OSError, ValueError):
        os.close(wfd)
        raise RuntimeError(f"could not launch {argv[0]}")
    load1 = os.getloadavg()[0]
    srv0 = pid_cpu_ticks(server_pids)
    busy0, _ = proc_stat_busy()
    lock = threading.Lock()
    state = {"reaped": False, "timed_out": False}

    def on_timeout():
        with lock:
            if not state["reaped"]:
                state["timed_out"] = True
                os.kill(pid, signal.SIGKILL)

    timer = threading.Timer(timeout, on_timeout)
    timer.daemon = True
    t0 = time.perf_counter()
    os.write(wfd, b"go\n")
    os.close(wfd)
    timer.start()
    # Wait without reaping first, so that the timer can never signal a recycled pid.
    try:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    except BaseException:          # interrupted (SIGINT/SIGTERM): end the client we started
        timer.cancel()
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    t1 = time.perf_counter()
    busy1, _ = proc_stat_busy()
    srv1 = pid_cpu_ticks(server_pids)
    with lock:
        state["reaped"] = True
    timer.cancel()
    _, status, ru = os.wait4(pid, 0)
    cpu = ru.ru_utime + ru.ru_stime
    with open(stdout_path, "rb") as f:
        out = f.read(1 << 20).decode(errors="replace")
    with open(stderr_path, "rb") as f:
        err = f.read(1 << 16).decode(errors="replace")
    return dict(
        wall=t1 - t0, user=ru.ru_utime, sys=ru.ru_stime, cpu=cpu, maxrss_kib=ru.ru_maxrss,
        exit=os.waitstatus_to_exitcode(status), timed_out=state["timed_out"],
        server_cpu=(srv1 - srv0) / TICK,
        other_cpu=max(0.0, (busy1 - busy0) / TICK - cpu - (srv1 - srv0) / TICK),
        load1=load1, stdout=out, stderr=err,
    )


def parse_summary(out):
    """files=N bytes=B seconds=T (asyncfs cat --discard, fsspec_client.py, libcurl_floor) -> dict."""
    for line in out.splitlines():
        parts = dict(p.split("=", 1) for p in line.split() if "=" in p)
        if {"files", "bytes", "seconds"} <= parts.keys():
            return dict(files=int(parts["files"]), bytes=int(parts["bytes"]),
                        seconds=float(parts["seconds"]))
    return None


# ----------------------------------------------------------------------------------------------
# nginx
# ----------------------------------------------------------------------------------------------


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NGINX_CONF = """\
worker_processes 2;
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 120s;
    keepalive_requests 1000000;
    types {{ }}
    default_type application/octet-stream;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""


class Nginx:
    def __init__(self, binary, prefix, root):
        self.binary, self.prefix, self.root = binary, prefix, root
        self.proc = None
        self.port = None
        self.workers = []

    def start(self, timeout=15.0):
        os.makedirs(os.path.join(self.prefix, "tmp"), exist_ok=True)
        for attempt in range(5):
            self.port = free_port()
            conf = os.path.join(self.prefix, "nginx.conf")
            with open(conf, "w") as f:
                f.write(NGINX_CONF.format(prefix=self.prefix, port=self.port, root=self.root))
            log = open(os.path.join(self.prefix, "stderr.log"), "ab")
            self.proc = subprocess.Popen(
                [self.binary, "-p", self.prefix, "-c", conf, "-e", os.path.join(self.prefix, "error.log")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            log.close()
            deadline = time.monotonic() + timeout
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    with opener.open(f"http://127.0.0.1:{self.port}/ready", timeout=2) as r:
                        if r.read() == b"ok\n":
                            self.workers = self._children()
                            return
                except OSError:
                    time.sleep(0.05)
            self.stop()      # port taken meanwhile, or too slow: try another port
        raise RuntimeError(f"nginx did not start; see {self.prefix}/error.log")

    def _children(self):
        pid = self.proc.pid
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            kids = []
            for d in os.listdir("/proc"):
                if d.isdigit():
                    try:
                        with open(f"/proc/{d}/stat") as f:
                            if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                                kids.append(int(d))
                    except (OSError, ValueError, IndexError):
                        pass
            return kids

    def pids(self):
        return ([self.proc.pid] if self.proc else []) + self.workers

    def stop(self):
        """Fast shutdown of the master we started (it ends its workers); bounded; then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return
        workers = self._children()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for w in workers:          # only the workers of our own master, if any survived
            try:
                with open(f"/proc/{w}/stat") as f:
                    if "nginx" in f.read().split(")", 1)[0]:
                        os.kill(w, signal.SIGKILL)
            except OSError:
                pass
        self.proc = None


# ----------------------------------------------------------------------------------------------
# Data sets
# ----------------------------------------------------------------------------------------------


def make_data(root, scenarios):
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "ready"), "w") as f:
        f.write("ok\n")
    done = set()
    for sc in scenarios.values():
        d = os.path.join(root, sc["dir"])
        if d in done:
            continue
        done.add(d)
        os.makedirs(d, exist_ok=True)
        if sc["kind"] == "bulk":
            for i in range(sc["count"]):
                with open(os.path.join(d, f"f{i:05d}"), "wb") as f:
                    f.write(os.urandom(sc["size"]))
        else:
            block = os.urandom(4 * MIB)
            left = sc["size"]
            with open(os.path.join(d, "file.bin"), "wb") as f:
                while left > 0:
                    n = min(left, len(block))
                    f.write(block[:n])
                    left -= n
    for dirpath, dirnames, filenames in os.walk(root):     # nginx workers may run as nobody
        os.chmod(dirpath, 0o755)
        for n in filenames:
            os.chmod(os.path.join(dirpath, n), 0o644)


def urls_for(base, sc):
    if sc["kind"] == "bulk":
        return [f"{base}/{sc['dir']}/f{i:05d}" for i in range(sc["count"])]
    return [f"{base}/{sc['dir']}/file.bin"]


# ----------------------------------------------------------------------------------------------
# Clients
# ----------------------------------------------------------------------------------------------


FLOOR_CLIENTS = ("libcurl-floor", "libcurl-floor-epoll")
CLIENT_BASES = ("asyncfs", "curl", "fsspec") + FLOOR_CLIENTS


class Client:
    """A client variant: name is 'asyncfs', 'asyncfs:256', 'curl', 'fsspec', 'fsspec:128',
    'libcurl-floor', 'libcurl-floor:32', 'libcurl-floor-epoll'... (the number: batch size, or
    transfers in parallel for libcurl-floor)."""

    def __init__(self, spec, default_batch):
        base, _, batch = spec.partition(":")
        if base not in CLIENT_BASES:
            raise SystemExit(f"run_bench: unknown client {spec!r} (known: {', '.join(CLIENT_BASES)})")
        self.base = base
        self.batch = int(batch) if batch else default_batch
        self.explicit_batch = bool(batch)
        self.name = spec

    def label(self, sc=None):
        if sc is not None and sc["kind"] != "bulk":
            return self.base
        if self.base == "curl":
            return "curl (--parallel-max 64)"
        if self.base in FLOOR_CLIENTS:
            return f"{self.base} ({self.batch} parallel)"
        return f"{self.base} (batch {self.batch})"

    @property
    def floor(self):
        return self.base in FLOOR_CLIENTS

    def applies(self, sc):
        # libcurl-floor only reads and drops: bulk reads and the cat (into memory) scenario.
        if self.floor and sc["kind"] == "get":
            return False
        # Batch variants only differ for bulk reads; single-file scenarios run the plain client.
        return sc["kind"] == "bulk" or not self.explicit_batch


def build_command(client, sc, ctx, verify=False):
    """(argv, check) for one run; check(result) -> error string or None."""
    a = ctx
    expected_bytes = sc["count"] * sc["size"]
    if client.floor:       # bulk and cat: the URL list, streamed and dropped
        argv = [a.libcurl_floor, sc["list"], str(client.batch)]
        if client.base == "libcurl-floor-epoll":
            argv += ["--driver", "epoll"]
        return argv, summary_check(sc)
    if sc["kind"] == "bulk":
        if client.base == "asyncfs":
            argv = [a.asyncfs, "--no-progress", "cat", "--from-list", sc["list"], "--discard",
                    "--batch-size", str(client.batch)]
            return argv, summary_check(sc)
        if client.base == "fsspec":
            argv = [a.python, "-I", a.fsspec_client, "cat", sc["list"], str(client.batch)]
            return argv, summary_check(sc)
        argv = [a.curl, "-q", "--parallel", "--parallel-max", "64", "-s", "-S", "-f",
                "-K", sc["curl_config"]]
        if verify:
            argv += ["-w", "%{http_code} %{size_download}\\n"]
            return argv, curl_w_check(sc["count"], expected_bytes)
        return argv, exit_check
    url = sc["urls"][0]
    if sc["kind"] == "get":
        target = os.path.join(a.shm_dir, f"{client.base}.bin")

        def get_check(res, target=target):
            try:
                size = os.path.getsize(target)
            except OSError:
                return f"exit {res['exit']}, {target} missing"
            finally:
                try:
                    os.unlink(target)
                except OSError:
                    pass
            if res["exit"] != 0:
                return f"exit {res['exit']}"
            return None if size == sc["size"] else f"{target}: {size} bytes, want {sc['size']}"

        if client.base == "asyncfs":
            return [a.asyncfs, "--no-progress", "get", url, target], get_check
        if client.base == "fsspec":
            return [a.python, "-I", a.fsspec_client, "get", url, target], get_check
        return [a.curl, "-q", "-s", "-S", "-f", "-o", target, url], get_check
    # cat into memory
    if client.base == "asyncfs":
        return [a.asyncfs, "--no-progress", "cat", "--discard", url], summary_check(sc)
    if client.base == "fsspec":
        return [a.python, "-I", a.fsspec_client, "cat_file", url], summary_check(sc)
    return ([a.curl, "-q", "-s", "-S", "-f", "-o", "/dev/null", "-w", "%{http_code} %{size_download}\\n", url],
            curl_w_check(1, expected_bytes))


def exit_check(res):
    return None if res["exit"] == 0 else f"exit {res['exit']}"


def summary_check(sc):
    def check(res):
        if res["exit"] != 0:
            return f"exit {res['exit']}"
        s = parse_summary(res["stdout"])
        if s is None:
            return "no files=/bytes= summary on stdout"
        res["inner_seconds"] = s["seconds"]
        if s["files"] != sc["count"] or s["bytes"] != sc["count"] * sc["size"]:
            return f"got files={s['files']} bytes={s['bytes']}, want {sc['count']} / {sc['count'] * sc['size']}"
        return None
    return check


def curl_w_check(count, nbytes):
    def check(res):
        if res["exit"] != 0:
            return f"exit {res['exit']}"
        lines = [l.split() for l in res["stdout"].splitlines() if l.strip()]
        ok = [l for l in lines if len(l) == 2 and l[0] == "200"]
        got = sum(int(float(l[1])) for l in ok)
        if len(ok) != count or got != nbytes:
            return f"curl: {len(ok)} x 200 and {got} bytes, want {count} and {nbytes}"
        return None
    return check


def first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:300]
    return ""


# ----------------------------------------------------------------------------------------------
# Machine information
# ----------------------------------------------------------------------------------------------


def dpkg_version(pkg):
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True,
                             text=True, timeout=20)
        return out.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def command_output(argv, timeout=20):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine_info(args):
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) // 1024} MiB"
    except (OSError, ValueError, IndexError):
        pass
    head = command_output(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = command_output(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"])
    versions = {p: dpkg_version(p) for p in
                ["curl", "libcurl4", "nginx", "nginx-light", "python3-fsspec", "python3-aiohttp",
                 "python3-matplotlib", "libuv1", "python3"]}
    return dict(
        date=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        nproc=os.cpu_count(), cpu=cpu, mem=mem, kernel=platform.release(),
        python=platform.python_version(),
        curl_version=first_line(command_output([args.curl, "--version"])),
        nginx_version=first_line(command_output([args.nginx, "-v"])),
        versions=versions,
        asyncfs_commit=(head + (" (with uncommitted changes)" if dirty else "")) if head else "unknown",
        loadavg_start=os.getloadavg(),
    )


# ----------------------------------------------------------------------------------------------
# Statistics and report
# ----------------------------------------------------------------------------------------------


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(runs, scenarios, clients):
    """runs: list of dicts (scenario, client, round, ok, wall, ...) -> {(scen, client): stats}."""
    by = {}
    for r in runs:
        by.setdefault((r["scenario"], r["client"]), []).append(r)
    curl_wall = {(r["scenario"], r["round"]): r["wall"] for r in runs
                 if r["client"] == "curl" and r["ok"]}
    stats = {}
    for (sname, cname), rs in by.items():
        sc = scenarios[sname]
        ok = [r for r in rs if r["ok"]]
        st = dict(n=len(rs), ok=len(ok), errors=[r["error"] for r in rs if not r["ok"]])
        if ok:
            nbytes = sc["count"] * sc["size"]
            st["wall"] = med(r["wall"] for r in ok)
            st["files_per_s"] = med(sc["count"] / r["wall"] for r in ok)
            st["mib_per_s"] = med(nbytes / MIB / r["wall"] for r in ok)
            st["mib_per_s_min"] = min(nbytes / MIB / r["wall"] for r in ok)
            st["mib_per_s_max"] = max(nbytes / MIB / r["wall"] for r in ok)
            st["cpu"] = med(r["cpu"] for r in ok)
            st["cpu_util"] = med(r["cpu"] / r["wall"] for r in ok)
            st["cpu_us_per_file"] = med(r["cpu"] / sc["count"] * 1e6 for r in ok)
            st["user"] = med(r["user"] for r in ok)
            st["sys"] = med(r["sys"] for r in ok)
            st["rss_mib_med"] = med(r["maxrss_kib"] / 1024 for r in ok)
            st["rss_mib_max"] = max(r["maxrss_kib"] / 1024 for r in ok)
            st["server_cpu"] = med(r["server_cpu"] for r in ok)
            st["other_cpu"] = med(r["other_cpu"] for r in ok)
            st["inner_seconds"] = med(r.get("inner_seconds") for r in ok)
            ratios = [curl_wall[(sname, r["round"])] / r["wall"] for r in ok
                      if (sname, r["round"]) in curl_wall]
            st["ratio"] = med(ratios)
            st["ratio_min"] = min(ratios) if ratios else None
            st["ratio_max"] = max(ratios) if ratios else None
        stats[(sname, cname)] = st
    return stats


def targets_for(sname, sc):
    """[(description, metric key, op, bound, unit)] for asyncfs in scenario sname (issue #3)."""
    if sname == "small":
        return [("files/s vs curl", "ratio", ">=", 2.0, "x"),
                ("client CPU per file", "cpu_us_per_file", "<=", 20.0, "us"),
                ("peak RSS (--discard)", "rss_mib_max", "<=", 32.0, "MiB")]
    if sname == "medium":
        return [("files/s vs curl", "ratio", ">=", 2.0, "x")]
    if sname == "get":
        return [("throughput vs `curl -o` into the same tmpfs", "ratio", ">=", 1.0, "x"),
                ("peak RSS", "rss_mib_max", "<=", 64.0, "MiB")]
    # Issue #9: --discard streams the body (it used to hold all of it, 0.20 x curl).
    return [("throughput vs curl to /dev/null", "ratio", ">=", 0.9, "x"),
            ("peak RSS", "rss_mib_max", "<=", 32.0, "MiB")]


# Why each target is what it is (printed under the targets table).
TARGET_REASONS = [
    ("files/s vs curl >= 2 x (bulk cat)",
     "curl --parallel is what users script today for many URLs; a library that is not clearly "
     "faster than a shell loop around curl has no reason to exist for this job. 2 x is what an "
     "event-loop client with keep-alive and no per-transfer set-up can reach on 2 cores; the "
     "libcurl-floor column shows how close any libcurl-based design gets."),
    ("client CPU per file <= 20 µs (bulk cat)",
     "on 2 cores the client competes with nginx for CPU: every microsecond per file is "
     "throughput lost at 30,000 files/s."),
    ("peak RSS <= 32 MiB (--discard, streamed cat)",
     "a streaming sink holds a buffer, not the bodies: memory must not grow with the number or "
     "size of files."),
    ("throughput vs curl -o >= 1 x, peak RSS <= 64 MiB (get of one large file)",
     "a download to disk should be as fast as curl writing the same file, with memory bounded "
     "by the write buffers, not the file."),
    ("throughput vs curl to /dev/null >= 0.9 x (cat --discard of one large file)",
     "streaming one body is bound by the socket and memory bandwidth, where curl is already "
     "near the floor; within 10 % of it is the bar."),
]


def fmt(v, nd=2):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.{nd}f}"


def rel(path):
    """path relative to the repository when inside it (for the report), else absolute."""
    path = os.path.abspath(path)
    r = os.path.relpath(path, REPO)
    return path if r.startswith("..") else r


def render_markdown(info, args, scenarios, clients, stats, runs, unavailable, commands, elapsed):
    L = []
    scaled = args.scale != 1.0
    L.append("# HTTP benchmark: asyncfs vs curl vs Python fsspec")
    L.append("")
    L.append("The FirecREST client's benchmark (calls/s and CPU per call against the emulator's own "
             "ceiling, the 10,000-job poll workflow) is in [firecrest/RESULTS.md](firecrest/RESULTS.md) "
             "(`scripts/bench_firecrest.sh`).")
    L.append("")
    L.append("The firecrest:// filesystem's benchmark (bulk `cat` of 1,000 small files, `ls` of a "
             "10,000-entry directory, `find` of a 10,000-file tree, 256 MiB `put_file`/`get_file` "
             "through S3 staging, each beside the emulator's own ceiling or curl on presigned URLs "
             "measured in the same run) is in [firecrest/FS_RESULTS.md](firecrest/FS_RESULTS.md) "
             "(`scripts/bench_firecrest_fs.sh`).")
    L.append("")
    cmd = " ".join(["bench/http/run_bench.py"] + [a if a and " " not in a else repr(a) for a in sys.argv[1:]])
    L.append(f"Generated by `{cmd}` (normally run through `scripts/bench_http.sh`) on {info['date']}; "
             f"{args.rounds} timed rounds (interleaved) after {args.warmup} warm-up round(s), "
             f"took {elapsed / 60:.1f} min. Raw data: `{rel(args.json)}`; plot: "
             f"`{rel(args.plot)}`.")
    if scaled:
        L.append("")
        L.append(f"**Scaled run (`--scale {args.scale}`)**: data sets are smaller than the issue's; "
                 "the target verdicts below are indicative only.")
    for name, why in unavailable.items():
        L.append("")
        L.append(f"**{name}: not yet measured** — {why}")
    L.append("")
    L.append("## Machine")
    L.append("")
    la = [r["load1"] for r in runs]
    L.append(f"- {info['nproc']} CPUs ({info['cpu']}), {info['mem']} RAM, Linux {info['kernel']}, "
             f"Python {info['python']}")
    L.append(f"- load average (1 min) at start {info['loadavg_start'][0]:.2f}; during the timed runs "
             f"min {min(la):.2f} / median {statistics.median(la):.2f} / max {max(la):.2f}"
             if la else f"- load average at start {info['loadavg_start'][0]:.2f}")
    L.append("  (the machine is shared with other builds; the *other CPU* column below is the CPU "
             "time used by everything except the client and nginx during the run)")
    v = info["versions"]
    L.append(f"- {info['curl_version']}")
    L.append(f"- {info['nginx_version']} (Debian nginx {v.get('nginx') or v.get('nginx-light')}), "
             "2 workers, sendfile on, HTTP/1.1 keep-alive, access_log off, 127.0.0.1")
    L.append(f"- python3-fsspec {v.get('python3-fsspec')}, python3-aiohttp {v.get('python3-aiohttp')}, "
             f"libcurl4 {v.get('libcurl4')}, libuv1 {v.get('libuv1')}")
    L.append(f"- asyncfs commit {info['asyncfs_commit']}, Release build (`{args.asyncfs}`)")
    if any(c.floor for c in clients):
        L.append(f"- libcurl-floor: `{args.libcurl_floor}` (bench/http/libcurl_floor.cpp, same build)")
    L.append("")
    L.append("## Results (medians over the rounds)")
    L.append("")
    L.append(f"![Throughput in MiB/s, throughput relative to curl and peak RSS per client and "
             f"scenario; bars are medians, error bars the min–max over the rounds, dashed red "
             f"lines the targets]({os.path.relpath(os.path.abspath(args.plot), os.path.dirname(os.path.abspath(args.results_md)))})")
    L.append("")
    L.append("The plot: left, absolute throughput (MiB/s, log scale); middle, the same relative to "
             "curl in the same round; right, peak RSS. Bars are medians over the rounds, error "
             "bars the lowest and highest round, dashed red lines the targets below.")
    L.append("")
    L.append("| scenario | client | wall s | files/s | MiB/s | × curl (min–max) | client CPU s "
             "| CPU/wall | CPU µs/file | peak RSS MiB (max) | nginx CPU s | other CPU s | ok |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for sname in scenarios:
        sc = scenarios[sname]
        for c in clients:
            st = stats.get((sname, c.name))
            if st is None:
                continue
            title = scenario_title(sname, sc)
            if not st["ok"]:
                L.append(f"| {title} | {c.label(sc)} | failed: {st['errors'][0] if st['errors'] else '?'} "
                         f"| | | | | | | | | | 0/{st['n']} |")
                continue
            ratio = "-" if st["ratio"] is None else (
                f"{st['ratio']:.2f} ({st['ratio_min']:.2f}–{st['ratio_max']:.2f})")
            per_file = fmt(st['cpu_us_per_file'], 1) if sc["kind"] == "bulk" else "-"
            rss = f"{st['rss_mib_med']:.1f}"
            if st["rss_mib_max"] - st["rss_mib_med"] >= 1:
                rss += f" ({st['rss_mib_max']:.1f})"
            L.append(f"| {title} | {c.label(sc)} | {st['wall']:.3f} | {fmt(st['files_per_s'])} "
                     f"| {fmt(st['mib_per_s'])} | {ratio} | {st['cpu']:.3f} | {st['cpu_util']:.2f} | {per_file} "
                     f"| {rss} | {st['server_cpu']:.2f} | {st['other_cpu']:.2f} "
                     f"| {st['ok']}/{st['n']} |")
    L.append("")
    L.append("Wall time is the whole client process from spawn to exit (process start, and for "
             "fsspec the interpreter start and the imports, included); CPU is user+sys of the "
             "client process from `wait4`; peak RSS is its `ru_maxrss` (median, and in parentheses the "
             "largest over the rounds when 1 MiB or more above it; the targets are judged on the largest). "
             "“× curl” is the client's throughput divided by curl's in the same round, then the "
             "median over the rounds. CPU/wall near 1.0 means the client kept one core busy "
             "(CPU-bound; the machine has only 2 cores for client, nginx and everything else).")
    inner = [(sname, c, stats[(sname, c.name)]) for sname in scenarios for c in clients
             if (sname, c.name) in stats and stats[(sname, c.name)].get("inner_seconds") is not None]
    if inner:
        L.append("")
        L.append("Time the clients report themselves (fetching only, without process start-up; "
                 "asyncfs and libcurl-floor `seconds=`, fsspec after its imports), median s: " +
                 "; ".join(f"{sname}/{c.name} {st['inner_seconds']:.3f}" for sname, c, st in inner) + ".")
    if "noop" in commands:
        L.append("")
        L.append(commands["noop"])
    L.append("")
    L.append("## Targets (issue #3, item 5)")
    L.append("")
    L.append("Why these targets:")
    L.append("")
    for title, why in TARGET_REASONS:
        L.append(f"- **{title}**: {why}")
    L.append("")
    L.append("| scenario | client | target | measured | verdict |")
    L.append("|---|---|---|---:|---|")
    asyncfs_clients = [c for c in clients if c.base == "asyncfs"]
    for sname in scenarios:
        sc = scenarios[sname]
        for desc, key, op, bound, unit in targets_for(sname, sc):
            shown = False
            for c in asyncfs_clients:
                st = stats.get((sname, c.name))
                if st is None:
                    continue
                shown = True
                val = st.get(key)
                if val is None:
                    verdict, mtxt = "not measured (failed)", "-"
                else:
                    met = val >= bound if op == ">=" else val <= bound
                    verdict = ("met" if met else "**missed**") + (" (scaled run)" if scaled else "")
                    mtxt = f"{val:.2f} {unit}"
                L.append(f"| {scenario_title(sname, sc)} | {c.label(sc)} | {desc} {op} {bound:g} {unit} "
                         f"| {mtxt} | {verdict} |")
            if not shown:
                L.append(f"| {scenario_title(sname, sc)} | asyncfs | {desc} {op} {bound:g} {unit} | - "
                         f"| not yet measured |")
    L.append("")
    L.append("## Commands")
    L.append("")
    L.append("Each run below is one child process (`$LIST` holds the URLs one per line, `$CURLCFG` "
             "the same URLs as `url = \"...\"` / `output = \"/dev/null\"` pairs, `$U` the big file's URL, "
             "`$SHM` a directory on /dev/shm; the file written by `get` is deleted after each run):")
    L.append("")
    L.append("```")
    for key in ("bulk", "get", "cat"):
        for line in commands.get(key, []):
            L.append(line)
    L.append("```")
    L.append("")
    L.append("Reproduce: `scripts/bench_http.sh` (quick check: `scripts/bench_http.sh --scale 0.05 --rounds 3`).")
    L.append("")
    L.append("## Method notes")
    L.append("")
    L.append("- Interleaving: in each round every scenario is run by every client in turn; the first "
             "client rotates from round to round, so no client always runs first (or right after "
             "another one). One untimed warm-up round comes first; it also verifies every client "
             "(curl then runs with `-w '%{http_code} %{size_download}'` and all status codes and "
             "byte counts are checked). In timed runs asyncfs and fsspec are checked by their "
             "`files= bytes=` line, curl by its exit code (`-f`), get by the size of the file.")
    L.append("- *cat --discard* (512 MiB): asyncfs streams the body through "
             "`AsyncFileSystem::_stream_file` and counts it, holding a buffer, like curl to "
             "/dev/null (the issue's reference); fsspec's `cat` still holds the whole body "
             "(its RSS includes the file).")
    L.append("- fsspec's `cat(urls)` returns a dict holding every body, so its RSS for the bulk "
             "scenarios includes all the data; it runs the reads in consecutive chunks of "
             "`batch_size` (`asyncio.gather` per chunk), so each chunk waits for its slowest read. "
             "aiohttp's default connection pool (100 per session) is above the batch size.")
    L.append("- curl `--parallel` starts the first transfer alone and adds the others once it knows "
             "whether it can multiplex (HTTP/1.1 here), opening up to 64 keep-alive connections.")
    if any(c.floor for c in clients):
        L.append("- libcurl-floor (bench/http/libcurl_floor.cpp) is the leanest libcurl client, as a "
                 "CPU floor for any libcurl-based design: one multi handle, PARALLEL reused easy "
                 "handles that only get a new CURLOPT_URL per transfer, a write callback that counts "
                 "and drops, no event-loop library; `libcurl-floor` drives it with "
                 "curl_multi_poll/curl_multi_perform (like the curl CLI), `libcurl-floor-epoll` with "
                 "curl_multi_socket_action on epoll (like an event loop). Checked by its `files= "
                 "bytes=` line (it also exits non-zero on any error or status other than 200). It "
                 "does not run *get*; for *cat* it streams the body and drops it, like curl.")
    L.append("- nginx serves from the page cache (the data were just written); its CPU is shown "
             "because with 2 cores shared by client and server, a client that keeps the server "
             "busier (and itself more efficient) can be limited by the server.")
    return "\n".join(L) + "\n"


def make_plot(path, scenarios, clients, stats, scaled):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import ScalarFormatter
    except ImportError as e:
        print(f"run_bench: no plot ({e})", file=sys.stderr)
        return False
    snames = [s for s in scenarios]
    labels = [scenario_title(s, scenarios[s]).replace(", ", "\n", 1) for s in snames]
    shown = [c for c in clients if any((s, c.name) in stats for s in snames)]
    fig, (ax0, ax1, ax2) = plt.subplots(1, 3, figsize=(19, 6))
    width = 0.8 / max(1, len(shown))
    colors = {"asyncfs": ["#1f77b4", "#6baed6", "#08519c"], "curl": ["#7f7f7f"],
              "fsspec": ["#ff7f0e", "#fdae6b"], "libcurl-floor": ["#2ca02c", "#98df8a"],
              "libcurl-floor-epoll": ["#17becf", "#9edae5"]}
    used = {}
    for i, c in enumerate(shown):
        col = colors[c.base][used.get(c.base, 0) % len(colors[c.base])]
        used[c.base] = used.get(c.base, 0) + 1
        xs, mib, mib_err, rs, r_err, rss, rss_err = [], [], [[], []], [], [[], []], [], [[], []]
        for j, s in enumerate(snames):
            st = stats.get((s, c.name))
            if not st or st.get("mib_per_s") is None:
                continue
            xs.append(j + (i - (len(shown) - 1) / 2) * width)
            mib.append(st["mib_per_s"])
            mib_err[0].append(st["mib_per_s"] - st["mib_per_s_min"])
            mib_err[1].append(st["mib_per_s_max"] - st["mib_per_s"])
            ratio = st.get("ratio") or 0.0
            rs.append(ratio)
            r_err[0].append(ratio - (st.get("ratio_min") or ratio))
            r_err[1].append((st.get("ratio_max") or ratio) - ratio)
            rss.append(st["rss_mib_med"])
            rss_err[0].append(0.0)
            rss_err[1].append(st["rss_mib_max"] - st["rss_mib_med"])
        kw = dict(width=width, label=c.label(), color=col, capsize=2,
                  error_kw=dict(elinewidth=0.8, ecolor="black"))
        ax0.bar(xs, mib, yerr=mib_err, **kw)  # the numbers are in the table beside the plot
        bars = ax1.bar(xs, rs, yerr=r_err, **kw)
        for b, r in zip(bars, rs):
            ax1.text(b.get_x() + b.get_width() / 2, r, f"{r:.2f}", ha="center", va="bottom",
                     fontsize=7)
        ax2.bar(xs, rss, yerr=rss_err, **kw)
    # Targets drawn from the same table the report judges by.
    labelled = {ax1: False, ax2: False}
    for j, s in enumerate(snames):
        for desc, key, op, bound, unit in targets_for(s, scenarios[s]):
            ax = ax1 if key == "ratio" else ax2 if key.startswith("rss") else None
            if ax is None:
                continue
            ax.hlines(bound, j - 0.45, j + 0.45, colors="red", linestyles="dashed", linewidth=1,
                      label=None if labelled[ax] else "asyncfs target")
            labelled[ax] = True
    for ax in (ax0, ax1, ax2):
        ax.set_xticks(range(len(snames)))
        ax.set_xticklabels(labels, fontsize=8)
    ax0.set_yscale("log")
    ax0.yaxis.set_major_formatter(ScalarFormatter())
    ax0.set_ylabel("MiB/s, whole process (log)")
    ax0.set_title("Throughput (higher is better)" + (" — scaled run" if scaled else ""))
    ax0.legend(fontsize=7)
    ax1.set_ylabel("throughput / curl's in the same round")
    ax1.set_title("Relative to curl (higher is better)")
    ax1.legend(fontsize=7)
    ax2.set_yscale("log")
    ax2.yaxis.set_major_formatter(ScalarFormatter())
    ax2.yaxis.set_minor_formatter(ScalarFormatter())
    ax2.tick_params(axis="y", which="minor", labelsize=7)
    ax2.set_ylabel("peak RSS of the client, MiB (log)")
    ax2.set_title("Client peak RSS (lower is better)")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--asyncfs", default=os.path.join(REPO, "build-release", "cli", "asyncfs"))
    p.add_argument("--curl", default="/usr/bin/curl")
    p.add_argument("--libcurl-floor", default=os.path.join(REPO, "build-release", "bench", "libcurl_floor"),
                   help="the built bench/http/libcurl_floor.cpp (target libcurl_floor)")
    p.add_argument("--nginx", default="/usr/sbin/nginx")
    p.add_argument("--python", default="/usr/bin/python3", help="runs the fsspec client")
    p.add_argument("--clients", default=None,
                   help="comma list of asyncfs[:BATCH], curl, fsspec[:BATCH], libcurl-floor[:PARALLEL], "
                        "libcurl-floor-epoll[:PARALLEL] (curl is the reference; default: "
                        "asyncfs,asyncfs:256,curl,fsspec plus libcurl-floor when --libcurl-floor exists)")
    p.add_argument("--batch", type=int, default=64, help="default batch size of asyncfs and fsspec")
    p.add_argument("--scenarios", default=",".join(SCENARIO_ORDER))
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--timeout", type=float, default=600.0, help="per client run, seconds")
    p.add_argument("--max-load", type=float, default=None,
                   help="before each round wait (at most --load-wait s) until the 1-min load is below")
    p.add_argument("--load-wait", type=float, default=300.0)
    p.add_argument("--workdir", default=None, help="parent of the temporary data dir (default $TMPDIR)")
    p.add_argument("--shm", default="/dev/shm", help="tmpfs for the get targets")
    p.add_argument("--results-md", default=os.path.join(REPO, "bench", "RESULTS.md"))
    p.add_argument("--plot", default=os.path.join(HERE, "results.png"))
    p.add_argument("--json", default=os.path.join(HERE, "results.json"))
    p.add_argument("--require-asyncfs", action="store_true",
                   help="fail instead of reporting 'not yet measured' when asyncfs http does not work")
    args = p.parse_args()
    args.asyncfs = os.path.abspath(args.asyncfs)
    args.libcurl_floor = os.path.abspath(args.libcurl_floor)
    if args.clients is None:
        args.clients = "asyncfs,asyncfs:256,curl,fsspec"
        if os.access(args.libcurl_floor, os.X_OK):
            args.clients += ",libcurl-floor"
    args.fsspec_client = os.path.join(HERE, "fsspec_client.py")
    if "curl" not in args.clients.split(","):
        raise SystemExit("run_bench: curl is the reference and must be among --clients")
    if args.rounds < 1:
        raise SystemExit("run_bench: --rounds must be >= 1")

    all_scenarios = make_scenarios(args.scale)
    wanted = [s for s in args.scenarios.split(",") if s]
    for s in wanted:
        if s not in all_scenarios:
            raise SystemExit(f"run_bench: unknown scenario {s!r} (known: {', '.join(SCENARIO_ORDER)})")
    scenarios = {s: dict(all_scenarios[s]) for s in SCENARIO_ORDER if s in wanted}
    clients = [Client(s, args.batch) for s in args.clients.split(",") if s]

    t_start = time.monotonic()
    info = machine_info(args)      # at the start: the commit and the load the run began with
    work = tempfile.mkdtemp(prefix="asyncfs-bench-", dir=args.workdir)
    os.chmod(work, 0o755)
    shm = tempfile.mkdtemp(prefix="asyncfs-bench-", dir=args.shm)
    args.shm_dir = shm
    cfg_dir = os.path.join(work, "config")
    os.makedirs(cfg_dir)
    env = child_env(cfg_dir)
    nginx = Nginx(args.nginx, os.path.join(work, "nginx"), os.path.join(work, "www"))

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    set_subreaper()
    runs, unavailable = [], {}
    try:
        print(f"run_bench: generating data in {work} (scale {args.scale})", file=sys.stderr)
        make_data(os.path.join(work, "www"), scenarios)
        nginx.start()
        base = f"http://127.0.0.1:{nginx.port}"
        print(f"run_bench: nginx pid {nginx.proc.pid} on {base}", file=sys.stderr)
        for sname, sc in scenarios.items():
            sc["urls"] = urls_for(base, sc)
            sc["list"] = os.path.join(work, f"{sname}.list")
            with open(sc["list"], "w") as f:
                f.write("\n".join(sc["urls"]) + "\n")
            if sc["kind"] == "bulk":
                sc["curl_config"] = os.path.join(work, f"{sname}.curl")
                with open(sc["curl_config"], "w") as f:
                    for u in sc["urls"]:
                        f.write(f'url = "{u}"\noutput = "/dev/null"\n')
        out_path = os.path.join(work, "stdout")
        err_path = os.path.join(work, "stderr")

        # Does the asyncfs HTTP backend work at all?
        if any(c.base == "asyncfs" for c in clients):
            why = None
            if not os.access(args.asyncfs, os.X_OK):
                why = f"no CLI at {args.asyncfs}"
            else:
                res = run_child([args.asyncfs, "--no-progress", "cat", "--discard", f"{base}/ready"],
                                env, out_path, err_path, 60)
                s = parse_summary(res["stdout"])
                if res["exit"] != 0 or not s or s["bytes"] != 3:
                    why = (f"`asyncfs cat --discard {base}/ready` exited {res['exit']}: "
                           f"{first_line(res['stderr']) or first_line(res['stdout']) or 'no output'}")
            if why:
                if args.require_asyncfs:
                    raise SystemExit(f"run_bench: asyncfs HTTP does not work: {why}")
                print(f"run_bench: asyncfs not measured: {why}", file=sys.stderr)
                unavailable["asyncfs"] = why
                clients = [c for c in clients if c.base != "asyncfs"]

        ready_list = os.path.join(work, "ready.list")
        with open(ready_list, "w") as f:
            f.write(f"{base}/ready\n")
        for fb in FLOOR_CLIENTS:
            if not any(c.base == fb for c in clients):
                continue
            why = None
            if not os.access(args.libcurl_floor, os.X_OK):
                why = f"no binary at {args.libcurl_floor} (build target libcurl_floor)"
            else:
                argv = [args.libcurl_floor, ready_list] + (["--driver", "epoll"] if fb.endswith("epoll") else [])
                res = run_child(argv, env, out_path, err_path, 60)
                s = parse_summary(res["stdout"])
                if res["exit"] != 0 or not s or s["bytes"] != 3:
                    why = (f"`libcurl_floor {ready_list}` exited {res['exit']}: "
                           f"{first_line(res['stderr']) or first_line(res['stdout']) or 'no output'}")
            if why:
                print(f"run_bench: {fb} not measured: {why}", file=sys.stderr)
                unavailable[fb] = why
                clients = [c for c in clients if c.base != fb]

        # Fixed cost of each client: one 3-byte file (process start, imports, one request).
        commands = {}
        probe = {"asyncfs": [args.asyncfs, "--no-progress", "cat", "--discard", f"{base}/ready"],
                 "curl": [args.curl, "-q", "-s", "-S", "-f", "-o", "/dev/null", f"{base}/ready"],
                 "fsspec": [args.python, "-I", args.fsspec_client, "cat_file", f"{base}/ready"],
                 "libcurl-floor": [args.libcurl_floor, ready_list],
                 "libcurl-floor-epoll": [args.libcurl_floor, ready_list, "--driver", "epoll"]}
        fixed = []
        for b in CLIENT_BASES:
            if not any(c.base == b for c in clients):
                continue
            ms = []
            for _ in range(5):
                res = run_child(probe[b], env, out_path, err_path, 60)
                if res["exit"] == 0:
                    ms.append(res)
            if ms:
                fixed.append(f"{b} {statistics.median(m['wall'] for m in ms) * 1e3:.0f} ms wall / "
                             f"{statistics.median(m['cpu'] for m in ms) * 1e3:.0f} ms CPU / "
                             f"{statistics.median(m['maxrss_kib'] for m in ms) / 1024:.1f} MiB")
        if fixed:
            commands["noop"] = ("Fixed cost per process, measured the same way on one 3-byte file (median of 5; "
                                "process start, for fsspec the interpreter and the imports, one request): "
                                + "; ".join(fixed) + ". It is included in every number above.")

        skip = set()       # (scenario, client) that failed verification in the warm-up
        total_rounds = args.warmup + args.rounds
        for rnd in range(total_rounds):
            timed = rnd >= args.warmup
            if args.max_load is not None and timed:
                deadline = time.monotonic() + args.load_wait
                while os.getloadavg()[0] >= args.max_load and time.monotonic() < deadline:
                    time.sleep(5)
            label = f"round {rnd - args.warmup + 1}/{args.rounds}" if timed else f"warm-up {rnd + 1}"
            print(f"run_bench: {label} (load {os.getloadavg()[0]:.2f})", file=sys.stderr)
            for sname, sc in scenarios.items():
                active = [c for c in clients if c.applies(sc) and (sname, c.name) not in skip]
                k = rnd % len(active) if active else 0
                for c in active[k:] + active[:k]:
                    argv, check = build_command(c, sc, args, verify=not timed)
                    res = run_child(argv, env, out_path, err_path, args.timeout, nginx.pids())
                    err = "timed out" if res["timed_out"] else check(res)
                    if err and res["stderr"].strip():
                        err += f" ({first_line(res['stderr'])})"
                    print(f"  {sname:6s} {c.name:12s} wall {res['wall']:8.3f} s  cpu {res['cpu']:7.3f} s  "
                          f"rss {res['maxrss_kib'] / 1024:7.1f} MiB  srv {res['server_cpu']:5.2f} s"
                          f"{'  ERROR ' + err if err else ''}", file=sys.stderr)
                    if not timed:
                        if err:
                            skip.add((sname, c.name))
                            runs.append(dict(scenario=sname, client=c.name, round=-1, ok=False, error=err,
                                             wall=res["wall"], cpu=res["cpu"], load1=res["load1"]))
                        continue
                    rec = {k2: v for k2, v in res.items() if k2 not in ("stdout", "stderr")}
                    rec.update(scenario=sname, client=c.name, round=rnd - args.warmup, ok=err is None,
                               error=err)
                    runs.append(rec)
    except KeyboardInterrupt as e:
        print(f"run_bench: interrupted ({e}); writing what was measured", file=sys.stderr)
    finally:
        nginx.stop()
        shutil.rmtree(shm, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    timed_runs = [r for r in runs if r["round"] >= 0]
    failed_warmups = [r for r in runs if r["round"] < 0]
    stats = summarize(timed_runs, scenarios, clients)
    for r in failed_warmups:      # show warm-up failures as failed rows
        stats.setdefault((r["scenario"], r["client"]), dict(n=0, ok=0, errors=[]))["errors"].append(r["error"])
    commands.update(
        bulk=[f"asyncfs --no-progress cat --from-list $LIST --discard --batch-size {c.batch}"
              for c in clients if c.base == "asyncfs"] +
             ["curl -q --parallel --parallel-max 64 -s -S -f -K $CURLCFG"] +
             [f"python3 -I bench/http/fsspec_client.py cat $LIST {c.batch}   "
              f"# fsspec.filesystem('http').cat(urls, batch_size={c.batch})"
              for c in clients if c.base == "fsspec"] +
             [f"libcurl_floor $LIST {c.batch}" + (" --driver epoll" if c.base.endswith("epoll") else "") +
              "   # bench/http/libcurl_floor.cpp" for c in clients if c.floor],
        get=["asyncfs --no-progress get $U $SHM/asyncfs.bin", "curl -q -s -S -f -o $SHM/curl.bin $U",
             "python3 -I bench/http/fsspec_client.py get $U $SHM/fsspec.bin   # fs.get(url, path)"],
        cat=["asyncfs --no-progress cat --discard $U",
             "curl -q -s -S -f -o /dev/null -w '%{http_code} %{size_download}\\n' $U",
             "python3 -I bench/http/fsspec_client.py cat_file $U   # fs.cat_file(url)"] +
            [f"libcurl_floor $ULIST" + (" --driver epoll" if c.base.endswith("epoll") else "") +
             "   # $ULIST holds $U" for c in clients if c.floor and not c.explicit_batch],
    )
    elapsed = time.monotonic() - t_start
    md = render_markdown(info, args, scenarios, clients, stats, timed_runs, unavailable, commands, elapsed)
    for path in (args.results_md, args.json, args.plot):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(args.results_md, "w") as f:
        f.write(md)
    plotted = make_plot(args.plot, scenarios, clients, stats, args.scale != 1.0)
    with open(args.json, "w") as f:
        json.dump(dict(info=info, args={k: v for k, v in vars(args).items()},
                       scenarios={k: {kk: vv for kk, vv in v.items() if kk not in ("urls",)}
                                  for k, v in scenarios.items()},
                       unavailable=unavailable, runs=runs,
                       stats={f"{s}/{c}": v for (s, c), v in stats.items()}), f, indent=1)
    print(md)
    print(f"run_bench: wrote {args.results_md}, {args.json}" + (f", {args.plot}" if plotted else ""),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
