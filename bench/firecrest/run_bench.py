#!/usr/bin/python3
"""FirecREST benchmark: asyncfs::firecrest::Client against the emulator, beside the emulator's
own ceiling (a trivial keep-alive load generator in the same run) and, when a pyFirecREST
checkout is given, pyFirecREST's v2 AsyncFirecrest on the same calls.

Usage (normally through scripts/bench_firecrest.sh):
  run_bench.py --bench build-release/bench/firecrest_bench [--calls 5000] [--jobs 10000]
               [--pyfirecrest /path/to/pyfirecrest/checkout] [--results-md FILE] [--json FILE]

Writes bench/firecrest/results.json and bench/firecrest/RESULTS.md by default. Standard
library only (pyFirecREST, when used, needs Debian's python3-httpx and python3-requests).
"""
import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EMULATOR = os.path.join(ROOT, "tests", "support", "firecrest_emulator.py")

PYFC_SCRIPT = r"""
import asyncio, os, resource, sys, time
sys.path.insert(0, sys.argv[1])
import firecrest
from firecrest import ClientCredentialsAuth
from firecrest.v2 import AsyncFirecrest
calls, inflight, home = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
auth = ClientCredentialsAuth(os.environ["FIRECREST_CLIENT_ID"], os.environ["FIRECREST_CLIENT_SECRET"],
                             os.environ["AUTH_TOKEN_URL"])
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
async def main():
    c = AsyncFirecrest(os.environ["FIRECREST_URL"], authorization=auth)
    await c.stat("daint", home)
    for label, n, k in (("sequential", min(calls // 4, 500), 1), ("parallel", calls, inflight)):
        sem = asyncio.Semaphore(k)
        async def one():
            async with sem:
                await c.stat("daint", home)
        c0, t0 = cpu(), time.monotonic()
        await asyncio.gather(*(one() for _ in range(n)))
        wall, used = time.monotonic() - t0, cpu() - c0
        print('{"op":"stat","label":"%s","calls":%d,"calls_per_s":%.1f,"cpu_us_per_call":%.1f}'
              % (label, n, n / wall, used * 1e6 / n), flush=True)
asyncio.run(main())
"""


class Emulator:
    def __init__(self, args):
        self.dir = tempfile.TemporaryDirectory(prefix="asyncfs-fcbench-")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-u", "-I", EMULATOR, "--root", self.dir.name, "--port", "0"]
            + args, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline().strip() or "0")
        if self.port <= 0:
            raise RuntimeError("the emulator did not start")
        url = "http://127.0.0.1:%d" % self.port
        self.env = dict(os.environ, FIRECREST_URL=url, FIRECREST_CLIENT_ID="asyncfs-client",
                        FIRECREST_CLIENT_SECRET="asyncfs-secret",
                        AUTH_TOKEN_URL=url + "/auth/token")

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / tick

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.dir.cleanup()


def run_lines(cmd, env, timeout):
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError("%s exited %d" % (" ".join(cmd), out.returncode))
    return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--calls", type=int, default=5000)
    ap.add_argument("--inflight", type=int, default=64)
    ap.add_argument("--jobs", type=int, default=10000)
    ap.add_argument("--pyfirecrest", default="")
    ap.add_argument("--results-md", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--json", default=os.path.join(HERE, "results.json"))
    a = ap.parse_args()
    started = time.time()
    results = {"calls": [], "poll": None, "pyfirecrest": []}

    emu = Emulator(["--job-delay", "0.2"])
    try:
        results["calls"] = run_lines([a.bench, "calls", "--calls", str(a.calls), "--inflight",
                                      str(a.inflight)], emu.env, 900)
        if a.pyfirecrest:
            script = os.path.join(tempfile.gettempdir(), "asyncfs_pyfc_bench.py")
            with open(script, "w") as f:
                f.write(PYFC_SCRIPT)
            results["pyfirecrest"] = run_lines(
                ["/usr/bin/python3", script, a.pyfirecrest, str(min(a.calls, 2000)),
                 str(a.inflight), "/home/fireuser"], emu.env, 900)
    finally:
        emu.close()

    # 10,000 jobs that take 20 s each: submitted, then polled until none is active.
    emu = Emulator(["--job-delay", "20"])
    try:
        results["poll"] = run_lines([a.bench, "poll", "--jobs", str(a.jobs)], emu.env, 1800)[0]
    finally:
        emu.close()

    results["meta"] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                                 stdout=subprocess.PIPE, text=True).stdout.strip(),
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "load": os.getloadavg()[0], "seconds": round(time.time() - started, 1),
        "command": " ".join(sys.argv),
    }
    with open(a.json, "w") as f:
        json.dump(results, f, indent=1)
    write_md(a.results_md, results)
    print(open(a.results_md).read())


def write_md(path, r):
    m = r["meta"]
    lines = ["# FirecREST benchmark: asyncfs::firecrest::Client vs the emulator's ceiling", "",
             "Generated by `%s` on %s, asyncfs commit %s; %d CPUs, load %.2f at start; took %.0f s."
             % (m["command"].replace(ROOT + "/", ""), m["date"], m["commit"], m["cpus"],
                m["load"], m["seconds"]), "",
             "Server: `tests/support/firecrest_emulator.py` (Python %s, one process) on "
             "127.0.0.1. *Ceiling* is what a trivial load generator (keep-alive sockets, the same "
             "authenticated GET again as soon as an answer is complete, no parsing) gets from the "
             "same server with the same number of connections, measured in the same run. Client "
             "CPU is the bench process's user+sys time (IO thread included) per call." % m["python"],
             "", "| call | in flight | client calls/s | ceiling calls/s | client / ceiling | "
             "client CPU µs/call | 1 in flight: calls/s | 1 in flight: CPU µs/call | failed |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in r["calls"]:
        lines.append("| %s | %d | %.0f | %.0f | %.2f | %.1f | %.0f | %.1f | %d |" % (
            c["op"], c["inflight"], c["client_calls_per_s"], c["ceiling_calls_per_s"],
            c["ratio_to_ceiling"], c["client_cpu_us_per_call"], c["sequential_calls_per_s"],
            c["sequential_cpu_us_per_call"], c["failed"]))
    if r["pyfirecrest"]:
        lines += ["", "pyFirecREST (v2 `AsyncFirecrest`, same emulator, `stat`):", "",
                  "| run | calls | calls/s | CPU µs/call |", "|---|---:|---:|---:|"]
        for p in r["pyfirecrest"]:
            lines.append("| %s | %d | %.0f | %.0f |" % (p["label"], p["calls"], p["calls_per_s"],
                                                        p["cpu_us_per_call"]))
    p = r["poll"]
    lines += ["", "Poll workflow: %d jobs submitted (64 in flight, %.0f submits/s, %d failed), "
              "then `poll_active` on all of them every 0.5 s until none is active: %d rounds "
              "(one request each) in %.1f s; peak RSS of the client process %.1f MiB." % (
                  p["jobs"], p["submit_per_s"], p["submit_failed"], p["poll_rounds"],
                  p["poll_seconds"], p["max_rss_mib"]), "", "## Targets (issue 7)", "",
              "| target | measured | verdict |", "|---|---|---|"]
    for c in r["calls"]:
        lines.append("| %s: client CPU per call ≤ 50 µs | %.1f µs | %s |" % (
            c["op"], c["client_cpu_us_per_call"],
            "met" if c["client_cpu_us_per_call"] <= 50 else "**missed**"))
        lines.append("| %s: 64 in flight ≥ 80%% of the ceiling | %.0f%% | %s |" % (
            c["op"], 100 * c["ratio_to_ceiling"],
            "met" if c["ratio_to_ceiling"] >= 0.8 else "**missed**"))
    lines.append("| %d-job poll_active workflow ≤ 64 MiB RSS | %.1f MiB | %s |" % (
        p["jobs"], p["max_rss_mib"], "met" if p["max_rss_mib"] <= 64 else "**missed**"))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
