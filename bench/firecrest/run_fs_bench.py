#!/usr/bin/python3
"""firecrest:// filesystem benchmark: asyncfs::firecrest::FirecrestFileSystem against the
FirecREST emulator, beside the emulator's own ceiling measured in the same run.

Scenarios (one firecrest_fs_bench process each, so that peak RSS is the scenario's own):
  cat   fs.cat(list of 1,000 paths) of 4 KiB files   ceiling: a keep-alive load generator
                                                     sending the same ops/download GETs
  ls    ls of a 10,000-entry directory (+20 repeats) ceiling: the same ops/ls GET, raw
  find  find of 100 dirs x 100 files                 ceiling: the same ops/ls -R GET, raw
  put   put_file of a 256 MiB local file (staged)    ceiling: curl PUT of 256 MiB to a
                                                     presigned part URL
  get   get_file of a 256 MiB remote file (staged)   ceiling: curl GET of a staged 256 MiB
                                                     object from its presigned URL
The requests each scenario sent are counted from the emulator's /_emulator/log (the bench
prints the CLOCK_MONOTONIC interval of each timed call). put/get and curl alternate, round by
round. The emulator runs pinned to one CPU (--pin-cpu auto) with --job-delay 0.

Usage (normally through scripts/bench_firecrest_fs.sh):
  run_fs_bench.py --bench build-release/bench/firecrest_fs_bench [--big-mib 256] [--rounds 3]
                  [--results-md FILE] [--json FILE] [--svg FILE]

Writes bench/firecrest/FS_RESULTS.md, fs_results.json and fs_results.svg by default. Standard
library only; needs curl.
"""
import argparse
import datetime
import filecmp
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EMULATOR = os.path.join(ROOT, "tests", "support", "firecrest_emulator.py")
USER = "fireuser"
HOME = "/home/" + USER
BENCH = HOME + "/fsbench"
MIB = 1 << 20


class Emulator:
    def __init__(self, args):
        self.dir = tempfile.TemporaryDirectory(prefix="asyncfs-fcfsbench-")
        self.root = self.dir.name
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-u", "-I", EMULATOR, "--root", self.root, "--port", "0"]
            + args, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline().strip() or "0")
        if self.port <= 0:
            raise RuntimeError("the emulator did not start")
        self.url = "http://127.0.0.1:%d" % self.port
        self.env = dict(os.environ, FIRECREST_URL=self.url, FIRECREST_CLIENT_ID="asyncfs-client",
                        FIRECREST_CLIENT_SECRET="asyncfs-secret",
                        AUTH_TOKEN_URL=self.url + "/auth/token")

    def local(self, remote):
        """Where a remote path of system daint lives on this machine."""
        return os.path.join(self.root, "daint", remote.lstrip("/"))

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def request(self, method, path, body=None, headers=None, timeout=60):
        data = None
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
        elif body is not None:
            data = body
        req = urllib.request.Request(self.url + path, data=data, headers=hdrs, method=method)
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
        return json.loads(raw) if raw[:1] in (b"{", b"[") else raw

    def token(self):
        if getattr(self, "_token", None) and time.monotonic() - self._token_at < 60:
            return self._token
        form = urllib.parse.urlencode({"grant_type": "client_credentials",
                                       "client_id": "asyncfs-client",
                                       "client_secret": "asyncfs-secret"})
        self._token = self.request("POST", "/auth/token", form, {
            "Content-Type": "application/x-www-form-urlencoded"})["access_token"]
        self._token_at = time.monotonic()
        return self._token

    def api(self, method, path, body=None):
        return self.request(method, path, body, {"Authorization": "Bearer " + self.token()})

    def log(self, since, until):
        entries = self.request("GET", "/_emulator/log?since=%.6f" % since)
        return [e for e in entries if e["time"] <= until]

    def clear_log(self):
        self.request("POST", "/_emulator/log/clear", b"")

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.dir.cleanup()


def run_json(cmd, env, timeout=600):
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError("%s exited %d" % (" ".join(cmd), out.returncode))
    return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")][0]


def write_random(path, size):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 8 * MIB)
            f.write(os.urandom(n))
            left -= n


def kinds(entries):
    """Requests by kind: 'GET filesystem/ops/download', 'PUT s3', ..."""
    out = {}
    for e in entries:
        if e["service"] == "s3":
            k = "%s s3" % e["method"]
        else:
            parts = e["path"].strip("/").split("/")
            k = "%s %s" % (e["method"], "/".join([parts[0]] + parts[2:]) if len(parts) > 2
                           else e["path"])
            k = re.sub(r"/jobs/[^/]+", "/jobs/{id}", k)
        out[k] = out.get(k, 0) + 1
    return dict(sorted(out.items()))


def in_window(entries, t0, t1):
    return [e for e in entries if t0 <= e["time"] <= t1]


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def curl(args):
    """curl with -w timing; returns (seconds, bytes, CPU seconds, headers text)."""
    with tempfile.NamedTemporaryFile("r", suffix=".hdr") as hdr:
        c0 = children_cpu()
        out = subprocess.run(["curl", "-q", "-sS", "-D", hdr.name, "-w",
                              "%{time_total} %{size_upload} %{size_download} %{http_code}"]
                             + args, stdout=subprocess.PIPE, text=True, timeout=300)
        cpu = children_cpu() - c0
        headers = open(hdr.name).read()
    total, up, down, code = out.stdout.split()[-4:]
    if out.returncode != 0 or not code.startswith("2"):
        raise RuntimeError("curl %s failed: %d %s" % (args[-1][:60], out.returncode, code))
    return float(total), max(int(up), int(down)), cpu, headers


def wait_job(emu, job_id, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = emu.api("GET", "/compute/daint/jobs/%s" % job_id)["jobs"][0]["status"]["state"]
        if state == "COMPLETED":
            return
        if state in ("FAILED", "CANCELLED", "TIMEOUT"):
            raise RuntimeError("transfer job %s ended %s" % (job_id, state))
        time.sleep(0.05)
    raise RuntimeError("transfer job %s did not finish" % job_id)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--files", type=int, default=1000, help="bulk cat: number of files")
    ap.add_argument("--file-size", type=int, default=4096)
    ap.add_argument("--cat-rounds", type=int, default=5)
    ap.add_argument("--ls-entries", type=int, default=10000)
    ap.add_argument("--ls-repeat", type=int, default=20)
    ap.add_argument("--tree", default="100x100", help="find: DIRSxFILES")
    ap.add_argument("--find-repeat", type=int, default=10)
    ap.add_argument("--big-mib", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3, help="put/get rounds (each beside curl)")
    ap.add_argument("--conns", type=int, default=64, help="ceiling connections (client: 64)")
    ap.add_argument("--raw-count", type=int, default=10, help="raw ls/find GETs (median)")
    ap.add_argument("--ceiling-seconds", type=float, default=3.0)
    ap.add_argument("--job-delay", default="0")
    ap.add_argument("--results-md", default=os.path.join(HERE, "FS_RESULTS.md"))
    ap.add_argument("--json", default=os.path.join(HERE, "fs_results.json"))
    ap.add_argument("--svg", default=os.path.join(HERE, "fs_results.svg"))
    a = ap.parse_args()
    started = time.time()
    load0 = os.getloadavg()[0]
    r = {"scenarios": {}}
    emu = Emulator(["--job-delay", a.job_delay, "--pin-cpu", "auto"])
    try:
        run_all(a, emu, r)
        r["emulator_stats"] = emu.request("GET", "/_emulator/stats")
    finally:
        emu.close()
    r["meta"] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                                 stdout=subprocess.PIPE, text=True).stdout.strip(),
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "curl": subprocess.run(["curl", "--version"], stdout=subprocess.PIPE,
                               text=True).stdout.split("\n")[0],
        "load_start": load0, "load_end": os.getloadavg()[0],
        "seconds": round(time.time() - started, 1), "command": " ".join(sys.argv),
        "emulator_args": "--job-delay %s --pin-cpu auto" % a.job_delay,
        "json": os.path.abspath(a.json),
    }
    verdicts(r, a)
    with open(a.json, "w") as f:
        json.dump(r, f, indent=1)
    write_svg(a.svg, r)
    write_md(a.results_md, r, os.path.relpath(a.svg, os.path.dirname(a.results_md)))
    print(open(a.results_md).read())


def run_all(a, emu, r):
    bench = a.bench
    env = emu.env
    print("preparing data in %s ..." % emu.root, file=sys.stderr)
    cat_dir, ls_dir, tree_dir = BENCH + "/cat", BENCH + "/ls", BENCH + "/tree"
    for i in range(a.files):
        p = emu.local("%s/f%05d" % (cat_dir, i))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(os.urandom(a.file_size))
    os.makedirs(emu.local(ls_dir), exist_ok=True)
    for i in range(a.ls_entries):
        open(emu.local("%s/entry-%05d.dat" % (ls_dir, i)), "wb").close()
    dirs, per_dir = (int(x) for x in a.tree.split("x"))
    for d in range(dirs):
        os.makedirs(emu.local("%s/d%03d" % (tree_dir, d)), exist_ok=True)
        for i in range(per_dir):
            open(emu.local("%s/d%03d/f%03d" % (tree_dir, d, i)), "wb").close()
    big = a.big_mib * MIB
    local_dir = os.path.join(emu.root, "local")
    up_src = os.path.join(local_dir, "upload.bin")
    write_random(up_src, big)
    big_remote = BENCH + "/big.bin"
    write_random(emu.local(big_remote), big)

    # --- bulk cat, between two measurements of the ceiling ---
    def ceiling_cat():
        c = run_json([bench, "ceiling", "--dir", cat_dir, "--files", str(a.files), "--token",
                      emu.token(), "--conns", str(a.conns), "--seconds",
                      str(a.ceiling_seconds)], env)
        emu.clear_log()
        return c
    print("cat ...", file=sys.stderr)
    ceil1 = ceiling_cat()
    c0 = emu.cpu_seconds()
    cat = run_json([bench, "cat", "--dir", cat_dir, "--files", str(a.files), "--size",
                    str(a.file_size), "--rounds", str(a.cat_rounds)], env)
    cat["emulator_cpu_s"] = emu.cpu_seconds() - c0
    log = emu.log(cat["t_starts"][0], cat["t_ends"][-1])
    per_round = [in_window(log, t0, t1) for t0, t1 in zip(cat["t_starts"], cat["t_ends"])]
    cat["requests_per_round"] = [len(x) for x in per_round]
    cat["requests_by_kind"] = kinds([e for x in per_round for e in x])
    cat["requests_per_file"] = sum(cat["requests_per_round"]) / (a.files * a.cat_rounds)
    cat["non_2xx"] = sum(1 for x in per_round for e in x if not 200 <= e["status"] < 300)
    emu.clear_log()
    ceil2 = ceiling_cat()
    cat["ceiling_runs"] = [ceil1["requests_per_s"], ceil2["requests_per_s"]]
    cat["ceiling"] = max(cat["ceiling_runs"])
    cat["value"] = cat["files_per_s"]
    cat["ratio"] = cat["value"] / cat["ceiling"]
    r["scenarios"]["cat"] = cat

    # --- ls and find: the client, then the same GET sent raw (one connection) ---
    def listing(kind, args, count_key, rate_key):
        print("%s ..." % kind, file=sys.stderr)
        emu.clear_log()
        c0 = emu.cpu_seconds()
        s = run_json([bench, kind] + args, env)
        s["emulator_cpu_s"] = emu.cpu_seconds() - c0
        starts = s["t_starts"] + ([s["first_t_start"]] if "first_t_start" in s else [])
        ends = s["t_ends"] + ([s["first_t_end"]] if "first_t_end" in s else [])
        log = emu.log(min(starts), max(ends))
        wins = [in_window(log, t0, t1) for t0, t1 in zip(starts, ends)]
        s["requests_per_call"] = [len(w) for w in wins]
        s["requests_by_kind"] = kinds([e for w in wins for e in w])
        s["non_2xx"] = sum(1 for w in wins for e in w if not 200 <= e["status"] < 300)
        req = [e for w in wins for e in w if e["path"].endswith("/ops/ls")][0]
        s["request"] = req["path"] + ("?" + req["query"] if req["query"] else "")
        raw = run_json([bench, "ceiling", "--request", s["request"], "--token", emu.token(),
                        "--count", str(a.raw_count)], env)
        emu.clear_log()
        s["raw_latencies"] = raw["latencies"]
        s["raw_calls_per_s"] = raw["requests_per_s"]
        s["raw_wall_s"] = raw["median_s"]
        s["ceiling"] = s[count_key] * raw["requests_per_s"]  # entries/s of the raw GET
        s["value"] = s[rate_key]
        s["ratio"] = s["value"] / s["ceiling"]
        s["client_overhead_s"] = s["wall_s"] - s["raw_wall_s"]
        # The same calls with glibc's heap trimming raised as the CLI does (mallopt
        # M_TRIM_THRESHOLD 64 MiB in cli/main.cpp): with the default, each call's freed objects
        # go back to the kernel and the next call faults them in again.
        tuned = run_json([bench, kind] + args,
                         dict(env, GLIBC_TUNABLES="glibc.malloc.trim_threshold=%d" % (64 << 20)))
        emu.clear_log()
        s["cli_malloc"] = {"cpu_s": tuned["cpu_s"], "wall_s": tuned["wall_s"],
                           "per_s_client_cpu": s[count_key] / tuned["cpu_s"]}
        return s
    r["scenarios"]["ls"] = listing("ls", ["--dir", ls_dir, "--repeat", str(a.ls_repeat)],
                                   "entries", "entries_per_s_wall")
    r["scenarios"]["find"] = listing("find", ["--dir", tree_dir, "--repeat",
                                              str(a.find_repeat)], "files", "files_per_s_wall")

    # --- 256 MiB put_file / get_file through S3 staging, round by round beside curl ---
    print("put ...", file=sys.stderr)
    put = {"rounds": [], "curl_rounds": []}
    put_remote = BENCH + "/put.bin"
    for i in range(a.rounds):
        t = emu.api("POST", "/filesystem/daint/transfer/upload",
                    {"sourcePath": BENCH + "/curl-put-%d.bin" % i,
                     "transferDirectives": {"transferMethod": "s3", "fileSize": big}})
        parts = t["transferDirectives"]["partsUploadUrls"]
        if len(parts) != 1:
            raise RuntimeError("expected one part URL for %d bytes, got %d" % (big, len(parts)))
        emu.clear_log()
        secs, n, cpu, hdrs = curl(["-X", "PUT", "-T", up_src, "-o", "/dev/null", parts[0]])
        # The rest of the workflow, as a script would do it (not part of the ceiling): complete
        # the multipart upload, then poll the job every 50 ms until the file is in place.
        etag = re.search(r"(?im)^etag:\s*(\S+)", hdrs).group(1)
        t1 = time.monotonic()
        emu.request("POST", t["transferDirectives"]["completeUploadUrl"].replace(emu.url, ""),
                    "<CompleteMultipartUpload><Part><ETag>%s</ETag><PartNumber>1</PartNumber>"
                    "</Part></CompleteMultipartUpload>" % etag,
                    {"Content-Type": "application/xml"})
        t2 = time.monotonic()
        wait_job(emu, t["transferJob"]["jobId"])
        t3 = time.monotonic()
        put["curl_rounds"].append({"seconds": secs, "bytes": n, "mib_per_s": n / MIB / secs,
                                   "cpu_s": cpu, "complete_s": t2 - t1, "job_after_s": t3 - t2,
                                   "workflow_mib_per_s": n / MIB / (secs + t3 - t1)})
        os.unlink(emu.local(BENCH + "/curl-put-%d.bin" % i))
        emu.clear_log()
        c0 = emu.cpu_seconds()
        s = run_json([bench, "put", "--local", up_src, "--remote", put_remote, "--rounds", "1"],
                     env)
        s["emulator_cpu_s"] = emu.cpu_seconds() - c0
        transfer_breakdown(emu, s, upload=True)
        put["rounds"].append(s)
    put["identical"] = filecmp.cmp(up_src, emu.local(put_remote), shallow=False)
    summarize_transfer(put)
    r["scenarios"]["put"] = put

    print("get ...", file=sys.stderr)
    get = {"rounds": [], "curl_rounds": []}
    get_dst = os.path.join(local_dir, "get.bin")
    curl_dst = os.path.join(local_dir, "curl-get.bin")
    for i in range(a.rounds):
        if os.path.exists(curl_dst):
            os.unlink(curl_dst)
        # Staging as a script would do it (not part of the ceiling): the transfer job, polled
        # every 50 ms; then the ceiling itself, curl on the presigned URL.
        t0 = time.monotonic()
        t = emu.api("POST", "/filesystem/daint/transfer/download",
                    {"sourcePath": big_remote, "transferDirectives": {"transferMethod": "s3"}})
        wait_job(emu, t["transferJob"]["jobId"])
        staged = time.monotonic() - t0
        secs, n, cpu, _ = curl(["-o", curl_dst, t["transferDirectives"]["downloadUrl"]])
        get["curl_rounds"].append({"seconds": secs, "bytes": n, "mib_per_s": n / MIB / secs,
                                   "cpu_s": cpu, "staging_s": staged,
                                   "workflow_mib_per_s": n / MIB / (secs + staged)})
        emu.clear_log()
        c0 = emu.cpu_seconds()
        s = run_json([bench, "get", "--remote", big_remote, "--local", get_dst, "--rounds", "1"],
                     env)
        s["emulator_cpu_s"] = emu.cpu_seconds() - c0
        transfer_breakdown(emu, s, upload=False)
        get["rounds"].append(s)
    get["identical"] = filecmp.cmp(emu.local(big_remote), get_dst, shallow=False)
    get["curl_identical"] = filecmp.cmp(emu.local(big_remote), curl_dst, shallow=False)
    summarize_transfer(get)
    r["scenarios"]["get"] = get


def transfer_breakdown(emu, s, upload):
    """Requests of one staged transfer, and the time of its S3 phase from the log: for an
    upload from the part PUT's arrival to the complete POST's arrival (sent as soon as the
    part is answered); for a download from the first ranged GET's arrival to the end."""
    t0, t1 = s["t_starts"][0], s["t_ends"][0]
    log = emu.log(t0, t1)
    emu.clear_log()
    s["requests"] = len(log)
    s["requests_by_kind"] = kinds(log)
    s["non_2xx"] = [(e["method"], e["path"], e["status"]) for e in log
                    if not 200 <= e["status"] < 300]
    s3 = [e for e in log if e["service"] == "s3"]
    if upload:
        puts = [e["time"] for e in s3 if e["method"] == "PUT"]
        posts = [e["time"] for e in s3 if e["method"] == "POST"]
        s3_secs = (min(posts) - min(puts)) if puts and posts else None
        s3_start = min(puts) if puts else t0
    else:
        gets = [e["time"] for e in s3 if e["method"] == "GET"]
        s3_secs = (t1 - min(gets)) if gets else None
        s3_start = min(gets) if gets else t0
    s["s3_phase_s"] = s3_secs
    s["s3_phase_mib_per_s"] = s["bytes"] / MIB / s3_secs if s3_secs else None
    s["before_s3_s"] = s3_start - t0  # requests before the data moves (stat, transfer, job)
    if upload and posts:
        s["after_s3_s"] = t1 - min(posts)  # complete, then the job that moves the object


def summarize_transfer(x):
    rounds = x["rounds"]
    x["bytes"] = rounds[0]["bytes"]
    x["value"] = statistics.median(s["mib_per_s"] for s in rounds)
    x["wall_s"] = statistics.median(s["wall_s"] for s in rounds)
    x["cpu_s"] = statistics.median(s["cpu_s"] for s in rounds)
    x["max_rss_mib"] = max(s["max_rss_mib"] for s in rounds)
    x["requests"] = statistics.median(s["requests"] for s in rounds)
    x["s3_phase_mib_per_s"] = statistics.median(s["s3_phase_mib_per_s"] or 0 for s in rounds)
    x["ceiling"] = statistics.median(c["mib_per_s"] for c in x["curl_rounds"])
    x["curl_cpu_s"] = statistics.median(c["cpu_s"] for c in x["curl_rounds"])
    x["workflow_ceiling"] = statistics.median(c["workflow_mib_per_s"] for c in x["curl_rounds"])
    x["workflow_ratio"] = x["value"] / x["workflow_ceiling"]
    x["ratio"] = x["value"] / x["ceiling"]
    x["s3_phase_ratio"] = x["s3_phase_mib_per_s"] / x["ceiling"]


def verdicts(r, a):
    s = r["scenarios"]
    cat, ls, find, put, get = s["cat"], s["ls"], s["find"], s["put"], s["get"]
    t = []

    def add(name, measured, ok):
        t.append({"target": name, "measured": measured, "met": bool(ok)})
    add("bulk cat: files/s >= 80% of the emulator's ceiling",
        "%.0f%% (%.0f of %.0f/s)" % (100 * cat["ratio"], cat["value"], cat["ceiling"]),
        cat["ratio"] >= 0.8)
    add("bulk cat: exactly one request per file",
        "%.3f requests/file (%s)" % (cat["requests_per_file"], fmt_kinds(cat["requests_by_kind"])),
        cat["requests_per_file"] == 1.0 and cat["failed"] == 0 and cat["wrong_size"] == 0)
    for name, x in (("put_file", put), ("get_file", get)):
        add("%d MiB %s: >= 80%% of curl's S3-side rate" % (a.big_mib, name),
            "%.0f%% (%.0f of %.0f MiB/s)" % (100 * x["ratio"], x["value"], x["ceiling"]),
            x["ratio"] >= 0.8)
        add("%d MiB %s: its S3 phase >= 80%% of curl's S3-side rate" % (a.big_mib, name),
            "%.0f%% (%.0f of %.0f MiB/s)" % (100 * x["s3_phase_ratio"], x["s3_phase_mib_per_s"],
                                            x["ceiling"]),
            x["s3_phase_ratio"] >= 0.8)
        add("%d MiB %s: >= 80%% of the same workflow scripted with curl" % (a.big_mib, name),
            "%.0f%% (%.0f of %.0f MiB/s)" % (100 * x["workflow_ratio"], x["value"],
                                            x["workflow_ceiling"]),
            x["workflow_ratio"] >= 0.8)
        add("%d MiB %s: peak RSS <= 64 MiB" % (a.big_mib, name), "%.1f MiB" % x["max_rss_mib"],
            x["max_rss_mib"] <= 64)
        add("%d MiB %s: the file arrives byte-exact" % (a.big_mib, name),
            "identical" if x["identical"] else "DIFFERENT", x["identical"])
    add("ls of %d entries in one request" % ls["entries"],
        "%s requests per ls" % "/".join(str(n) for n in sorted(set(ls["requests_per_call"]))),
        set(ls["requests_per_call"]) == {1})
    add("ls: >= 1 M entries/s parsed (entries / client CPU per ls), glibc malloc defaults",
        "%.2f M entries/s (%.1f ms CPU per ls)" % (ls["entries_per_s_client_cpu"] / 1e6,
                                                   1e3 * ls["cpu_s"]),
        ls["entries_per_s_client_cpu"] >= 1e6)
    add("ls: >= 1 M entries/s parsed, malloc trim threshold 64 MiB (as the asyncfs CLI sets it)",
        "%.2f M entries/s (%.1f ms CPU per ls)" % (ls["cli_malloc"]["per_s_client_cpu"] / 1e6,
                                                   1e3 * ls["cli_malloc"]["cpu_s"]),
        ls["cli_malloc"]["per_s_client_cpu"] >= 1e6)
    add("find of %d files in one request" % find["files"],
        "%s requests per find" % "/".join(str(n) for n in sorted(set(find["requests_per_call"]))),
        set(find["requests_per_call"]) == {1})
    r["targets"] = t


def fmt_kinds(k):
    return ", ".join("%d %s" % (n, name) for name, n in k.items())


# ------------------------------------------------------------------------------ SVG
def write_svg(path, r):
    s = r["scenarios"]
    rows = [
        ("bulk cat 1,000 x 4 KiB", s["cat"], "files/s", "keep-alive load generator, 64 conns"),
        ("ls 10,000 entries", s["ls"], "entries/s", "raw ops/ls GET, 1 conn"),
        ("find 10,000 files", s["find"], "files/s", "raw ops/ls -R GET, 1 conn"),
        ("put_file 256 MiB", s["put"], "MiB/s", "curl PUT to the part URL"),
        ("get_file 256 MiB", s["get"], "MiB/s", "curl GET of the staged object"),
    ]
    w, left, bar_h, gap, top = 860, 190, 16, 18, 56
    scale_max = max(1.2, max(max(x["ratio"], 1.0) for _, x, _, _ in rows) * 1.05)
    plot_w = w - left - 40
    h = top + len(rows) * (2 * bar_h + gap) + 2 * bar_h + 60

    def xs(v):
        return left + plot_w * v / scale_max
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="20" font-size="15" font-weight="bold">firecrest:// filesystem vs '
           'the emulator\'s ceiling (same run)</text>' % left,
           '<text x="%d" y="38" fill="#555">bar length = throughput / ceiling; '
           'labels = absolute values; put/get: the ceiling is curl\'s transfer alone, the '
           'light bar the whole staged workflow done by hand</text>' % left]
    for k in range(0, int(scale_max * 5) + 1):
        v = k / 5
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" %s/>' % (
            xs(v), top - 6, xs(v), h - 40, "#999" if v in (0, 1.0) else "#e4e4e4",
            'stroke-dasharray="4,3"' if abs(v - 0.8) < 1e-9 else ""))
        out.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%.1f</text>'
                   % (xs(v), h - 26, v))
    out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#c00" '
               'stroke-dasharray="5,3"/>' % (xs(0.8), top - 6, xs(0.8), h - 40))
    out.append('<text x="%.1f" y="%d" fill="#c00" text-anchor="middle">target 0.8</text>'
               % (xs(0.8), top - 10))
    y = top
    for label, x, unit, how in rows:
        out.append('<text x="%d" y="%d" text-anchor="end" font-weight="bold">%s</text>'
                   % (left - 8, y + bar_h - 3, esc(label)))
        out.append('<text x="%d" y="%d" text-anchor="end" fill="#555" font-size="10">%s</text>'
                   % (left - 8, y + 2 * bar_h - 3, esc(how)))
        bars = [("asyncfs", x["value"], "#2b6cb0"), ("ceiling", x["ceiling"], "#aaa")]
        if "workflow_ceiling" in x:
            bars.append(("curl + API workflow", x["workflow_ceiling"], "#ddd"))
        for i, (who, v, colour) in enumerate(bars):
            ratio = v / x["ceiling"]
            yy = y + i * bar_h
            out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>'
                       % (left, yy + 1, max(1.0, xs(ratio) - left), bar_h - 2, colour))
            out.append('<text x="%.1f" y="%d">%s %s %s%s</text>' % (
                xs(ratio) + 4, yy + bar_h - 4, who, fmt_num(v), unit,
                " (%.2f)" % ratio if who == "asyncfs" else ""))
        y += len(bars) * bar_h + gap
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fmt_num(v):
    return "{:,.0f}".format(v) if v >= 100 else "%.1f" % v


# ------------------------------------------------------------------------------ Markdown
def write_md(path, r, svg_rel):
    m, s = r["meta"], r["scenarios"]
    cat, ls, find, put, get = s["cat"], s["ls"], s["find"], s["put"], s["get"]
    L = ["# firecrest:// filesystem benchmark: FirecrestFileSystem vs the emulator's ceiling", "",
         "Generated by `%s` (normally through `scripts/bench_firecrest_fs.sh`) on %s, asyncfs "
         "commit %s; %d CPUs, load %.2f at start / %.2f at the end; took %.0f s. Raw data: "
         "`%s`." % (
             m["command"].replace(ROOT + "/", ""), m["date"], m["commit"], m["cpus"],
             m["load_start"], m["load_end"], m["seconds"],
             os.path.relpath(m["json"], ROOT) if m["json"].startswith(ROOT) else m["json"]), "",
         "Server: `tests/support/firecrest_emulator.py %s` (Python %s, one process pinned to "
         "one CPU) on 127.0.0.1; the client (`bench/firecrest/firecrest_fs_bench.cpp`, Release) "
         "is one process per scenario, configured from FIRECREST_URL & co. with the filesystem's "
         "defaults (64 requests in flight, 1 MiB direct limit, 8 S3 connections). Every "
         "*ceiling* is measured against the same server in the same run: for bulk cat a "
         "trivial load generator (64 keep-alive connections sending the same authenticated "
         "`ops/download` GETs again as soon as an answer is complete, no parsing); for ls and "
         "find the very `ops/ls` GET the client sent, replayed raw on one connection; for put "
         "and get `%s` on presigned URLs obtained from the emulator's API (one `PUT` of the "
         "whole file to the single part URL of a `transfer/upload`, one `GET` of a staged "
         "object), alternating with the client round by round. Client CPU is the bench "
         "process's user+sys (every thread) during the timed call; peak RSS its `ru_maxrss`; "
         "requests are counted from the emulator's request log over the timed interval."
         % (m["emulator_args"], m["python"], m["curl"].split(" (")[0]), "",
         "![asyncfs vs ceiling](%s)" % svg_rel, "",
         "| scenario | asyncfs | ceiling | asyncfs / ceiling | requests | client CPU | "
         "peak RSS MiB | emulator CPU s |", "|---|---:|---:|---:|---|---:|---:|---:|"]
    L.append("| bulk cat, %d x %d B (%d rounds, median) | %.0f files/s | %.0f req/s "
             "(%s) | %.2f | %.3f per file | %.1f µs/file | %.1f | %.2f |" % (
                 cat["files"], cat["file_size"], cat["rounds"], cat["value"], cat["ceiling"],
                 " / ".join("%.0f" % v for v in cat["ceiling_runs"]), cat["ratio"],
                 cat["requests_per_file"], cat["cpu_us_per_file"], cat["max_rss_mib"],
                 cat["emulator_cpu_s"]))
    L.append("| ls, %d entries (%d calls, median) | %.0f entries/s (%.1f ms) | %.0f entries/s "
             "(%.1f ms) | %.2f | %s per ls | %.1f ms/ls = %.2f M entries/s | %.1f | %.2f |" % (
                 ls["entries"], ls["repeat"], ls["value"], 1e3 * ls["wall_s"], ls["ceiling"],
                 1e3 * ls["raw_wall_s"], ls["ratio"],
                 "/".join(str(n) for n in sorted(set(ls["requests_per_call"]))),
                 1e3 * ls["cpu_s"], ls["entries_per_s_client_cpu"] / 1e6, ls["max_rss_mib"],
                 ls["emulator_cpu_s"]))
    L.append("| find, %d files (%d calls, median) | %.0f files/s (%.1f ms) | %.0f files/s "
             "(%.1f ms) | %.2f | %s per find | %.1f ms/find = %.2f M files/s | %.1f | %.2f |" % (
                 find["files"], find["repeat"], find["value"], 1e3 * find["wall_s"],
                 find["ceiling"], 1e3 * find["raw_wall_s"], find["ratio"],
                 "/".join(str(n) for n in sorted(set(find["requests_per_call"]))),
                 1e3 * find["cpu_s"], find["files_per_s_client_cpu"] / 1e6,
                 find["max_rss_mib"], find["emulator_cpu_s"]))
    for name, x in (("put_file", put), ("get_file", get)):
        L.append("| %s, %d MiB staged (%d rounds, median) | %.0f MiB/s (%.2f s) | %.0f MiB/s "
                 "(curl) | %.2f | %g per file | %.2f s | %.1f | %.2f |" % (
                     name, x["bytes"] // MIB, len(x["rounds"]), x["value"], x["wall_s"],
                     x["ceiling"], x["ratio"], x["requests"], x["cpu_s"], x["max_rss_mib"],
                     statistics.median(s["emulator_cpu_s"] for s in x["rounds"])))
    L += ["", "## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    for t in r["targets"]:
        L.append("| %s | %s | %s |" % (t["target"], t["measured"],
                                      "met" if t["met"] else "**missed**"))
    L += ["", "## Details", "",
          "**Bulk cat.** Requests in the timed rounds: %s; %d answered other than 2xx. Per "
          "round: %s files/s. The ceiling was measured before and after the client (%s req/s); "
          "the higher one is used." % (
              fmt_kinds(cat["requests_by_kind"]), cat["non_2xx"],
              ", ".join("%.0f" % (cat["files"] / w) for w in cat["walls"]),
              " and ".join("%.0f" % v for v in cat["ceiling_runs"])), "",
          "**ls / find.** The server needs %.1f ms for the %d-entry `ops/ls` alone (%s) and "
          "%.1f ms for the recursive one of %d files; the client adds %.1f ms and %.1f ms of wall time, "
          "and spends %.1f ms and %.1f ms of CPU per call (HTTP, JSON parse, FileInfo): "
          "%.2f M and %.2f M entries per CPU second. With glibc's heap trim threshold at "
          "64 MiB (what the CLI sets; `GLIBC_TUNABLES=glibc.malloc.trim_threshold=67108864` for "
          "any program) the same calls take %.1f ms and %.1f ms of CPU: %.2f M and %.2f M per "
          "CPU second; the difference is the kernel faulting in again, on every call, the heap "
          "that the previous call's frees gave back. The first ls of the directory took "
          "%.1f ms. Requests: ls %s; find %s." % (
              1e3 * ls["raw_wall_s"], ls["entries"], "`GET " + ls["request"] + "`",
              1e3 * find["raw_wall_s"], find["files"],
              1e3 * ls["client_overhead_s"], 1e3 * find["client_overhead_s"],
              1e3 * ls["cpu_s"], 1e3 * find["cpu_s"], ls["entries_per_s_client_cpu"] / 1e6,
              find["files_per_s_client_cpu"] / 1e6, 1e3 * ls["cli_malloc"]["cpu_s"],
              1e3 * find["cli_malloc"]["cpu_s"], ls["cli_malloc"]["per_s_client_cpu"] / 1e6,
              find["cli_malloc"]["per_s_client_cpu"] / 1e6, 1e3 * ls["first_wall_s"],
              fmt_kinds(ls["requests_by_kind"]), fmt_kinds(find["requests_by_kind"])), ""]
    L += ["**put_file / get_file: the whole workflow.** The targets compare the client's "
          "end-to-end time with curl's transfer alone, but a staged transfer is more than the "
          "bytes: put_file ends when the server has assembled the parts (complete) and its "
          "transfer job has moved the object into place; get_file starts with the job that "
          "stages the file. The same workflow scripted by hand (urllib for the API calls, curl "
          "for the bytes, the job polled every 50 ms) takes, median: put %.2f s (%.0f MiB/s; "
          "complete %.2f s, job after it %.2f s) and get %.2f s (%.0f MiB/s; staging job "
          "%.2f s), so asyncfs reaches %.2f and %.2f of that. curl's own CPU: %.2f s for the "
          "PUT, %.2f s for the GET (asyncfs: %.2f s and %.2f s)." % (
              put["bytes"] / MIB / put["workflow_ceiling"], put["workflow_ceiling"],
              statistics.median(c["complete_s"] for c in put["curl_rounds"]),
              statistics.median(c["job_after_s"] for c in put["curl_rounds"]),
              get["bytes"] / MIB / get["workflow_ceiling"], get["workflow_ceiling"],
              statistics.median(c["staging_s"] for c in get["curl_rounds"]),
              put["workflow_ratio"], get["workflow_ratio"], put["curl_cpu_s"],
              get["curl_cpu_s"], put["cpu_s"], get["cpu_s"]), ""]
    for name, x in (("put_file", put), ("get_file", get)):
        L.append("**%s.** Per round (asyncfs end to end / its S3 phase / curl): %s. The S3 "
                 "phase is, from the request log, %s. Median S3-phase rate %.0f MiB/s = %.2f "
                 "of curl. Requests per round: %s.%s" % (
                     name, "; ".join(
                         "%.0f / %s / %.0f MiB/s (%.2f s; %.2f s before the first S3 request%s)"
                         % (s["mib_per_s"], "%.0f" % s["s3_phase_mib_per_s"]
                            if s["s3_phase_mib_per_s"] else "-", c["mib_per_s"], s["wall_s"],
                            s["before_s3_s"], ", %.2f s from the complete POST to the end"
                            % s["after_s3_s"] if "after_s3_s" in s else "")
                         for s, c in zip(x["rounds"], x["curl_rounds"])),
                     "from the part PUT's arrival to the complete POST's arrival"
                     if name == "put_file" else
                     "from the first ranged GET's arrival to the end of get_file",
                     x["s3_phase_mib_per_s"], x["s3_phase_ratio"],
                     fmt_kinds(x["rounds"][0]["requests_by_kind"]),
                     "" if all(not s["non_2xx"] for s in x["rounds"]) else
                     " Non-2xx answers: %s." % "; ".join(str(s["non_2xx"]) for s in x["rounds"])))
        L.append("")
    st = r.get("emulator_stats", {})
    L.append("Emulator totals for the whole run (ceilings and curl included): %s requests, %s "
             "token requests, %s jobs." % (st.get("requests"), st.get("token_requests"),
                                           st.get("jobs")))
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
