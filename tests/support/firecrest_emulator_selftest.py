#!/usr/bin/python3
"""Self-test of firecrest_emulator.py: starts it as a subprocess and exercises every route.

Usage: /usr/bin/python3 -B tests/support/firecrest_emulator_selftest.py [-v] [unittest args]
Standard library only (unittest, http.client, urllib). Exits non-zero on failure. Each test
class runs its own emulator over a temporary directory; the whole run takes well under a minute.
"""

import base64
import hashlib
import http.client
import io
import json
import os
import re
import select
import shutil
import socket
import stat
import subprocess
import tarfile
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "firecrest_emulator.py")
PYTHON = "/usr/bin/python3"
HOME = "/home/fireuser"
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name)

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:300])


class Emulator:
    """One emulator process over a temporary root, with a keep-alive client."""

    def __init__(self, *args):
        self.tmp = tempfile.mkdtemp(prefix="fc-emu-selftest-")
        self.root = os.path.join(self.tmp, "fs")
        self.log = open(os.path.join(self.tmp, "stderr.log"), "wb")
        self.proc = subprocess.Popen([PYTHON, "-B", "-u", "-I", EMULATOR, "--root", self.root]
                                     + list(args), stdout=subprocess.PIPE, stderr=self.log)
        ready, _, _ = select.select([self.proc.stdout], [], [], 15)
        line = self.proc.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError("emulator did not print its port: %r" % line)
        self.port = int(line)
        self.conn = None
        self.token = self.fetch_token()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def stderr(self):
        with open(os.path.join(self.tmp, "stderr.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def local(self, remote, system="daint"):
        return os.path.join(self.root, system) + remote

    def write(self, remote, data, system="daint"):
        path = self.local(remote, system)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)

    def read(self, remote, system="daint"):
        with open(self.local(remote, system), "rb") as f:
            return f.read()

    # -- HTTP ------------------------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, auth=True):
        h = dict(headers or {})
        if auth is True:
            h["Authorization"] = "Bearer " + self.token
        elif isinstance(auth, str):
            h["Authorization"] = auth
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        for attempt in (0, 1):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
            except (ConnectionError, http.client.HTTPException, socket.timeout):
                self.conn.close()
                self.conn = None
                if attempt or not reused:
                    raise
                continue  # the server had closed our idle keep-alive connection
            if r.will_close:
                self.conn.close()
                self.conn = None
            return Response(r.status, r.headers, data)

    def api(self, method, url, body=None, **params):
        """An authenticated API call; keyword arguments become the query string."""
        if params:
            url += "?" + urllib.parse.urlencode(params)
        return self.request(method, url, body)

    def ok(self, method, url, body=None, expect=200, **params):
        r = self.api(method, url, body, **params)
        if r.status != expect:
            raise AssertionError("%s %s -> %d (want %d): %r" % (method, url, r.status, expect,
                                                                 r.body[:500]))
        return r.json() if r.body else None

    def control(self, method, path, body=None):
        r = self.request(method, "/_emulator/" + path, body, auth=False)
        if r.status != 200:
            raise AssertionError("control %s -> %d %r" % (path, r.status, r.body))
        return r.json()

    def config(self, **knobs):
        return self.control("POST", "config", knobs)

    def fetch_token(self):
        r = self.request("POST", "/auth/token", "grant_type=client_credentials&client_id="
                         "asyncfs-client&client_secret=asyncfs-secret",
                         {"Content-Type": "application/x-www-form-urlencoded"}, auth=False)
        assert r.status == 200, r
        return r.json()["access_token"]

    def job(self, job_id, system="daint"):
        return self.ok("GET", "/compute/%s/jobs/%s" % (system, job_id))["jobs"][0]

    def wait_state(self, job_id, wanted, system="daint", timeout=20):
        """Polls until the job is in `wanted`; returns the states seen on the way."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.job(job_id, system)["status"]["state"]
            if not seen or seen[-1] != state:
                seen.append(state)
            if state == wanted:
                return seen
            time.sleep(0.02)
        raise AssertionError("job %s never reached %s (saw %s)" % (job_id, wanted, seen))

    def wait_job(self, job_id, system="daint", timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id, system)
            state = job["status"]["state"]
            state = ",".join(state) if isinstance(state, list) else state
            if state in TERMINAL:
                return job
            if time.monotonic() > deadline:
                raise AssertionError("job %s still %s" % (job_id, state))
            time.sleep(0.05)

    def view(self, remote, system="daint"):
        return self.ok("GET", "/filesystem/%s/ops/view" % system, path=remote)["output"]

    def transfer(self, resp):
        """Waits for a transfer job and reads its logs the way pyFirecREST does."""
        job = self.wait_job(resp["transferJob"]["jobId"], resp["transferJob"]["system"])
        logs = resp["transferJob"]["logs"]
        return job["status"]["state"], self.view(logs["outputLog"]), self.view(logs["errorLog"])


def raw_request(url, method="GET", body=None, headers=None):
    """A request to a presigned URL: no auth header."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request(method, u.path + ("?" + u.query if u.query else ""), body=body,
                     headers=headers or {})
        r = conn.getresponse()
        return Response(r.status, r.headers, r.read())
    finally:
        conn.close()


def s3_code(resp):
    return ET.fromstring(resp.body).findtext("Code")


def multipart(fields, boundary="emulatorBoundary7MA4YWxkTrZu0gW"):
    body = b""
    for name, filename, data in fields:
        body += b"--" + boundary.encode() + b"\r\n"
        disp = 'form-data; name="%s"' % name
        if filename is not None:
            disp += '; filename="%s"' % filename
        body += ("Content-Disposition: %s\r\nContent-Type: application/octet-stream\r\n\r\n"
                 % disp).encode()
        body += data + b"\r\n"
    body += b"--" + boundary.encode() + b"--\r\n"
    return body, "multipart/form-data; boundary=" + boundary


class EmulatorTestCase(unittest.TestCase):
    ARGS = ("--job-delay", "0.2")

    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator(*cls.ARGS)

    @classmethod
    def tearDownClass(cls):
        log = cls.emu.stderr()
        cls.emu.stop()
        # Tracebacks on stderr mean an unexpected exception inside the emulator.
        if "Traceback" in log:
            raise AssertionError("emulator stderr has a traceback:\n" + log[-3000:])

    def assertError(self, resp, status, substring=None, error_type="error"):
        self.assertEqual(resp.status, status, resp)
        body = resp.json()
        self.assertEqual(set(body), {"errorType", "message", "causedBy", "data", "user"})
        self.assertEqual(body["errorType"], error_type, body)
        if substring is not None:
            self.assertIn(substring, body["message"])
        return body


# ------------------------------------------------------------------------------------ CLI
class CommandLineTest(unittest.TestCase):
    def test_port_line_systems_and_user_dirs(self):
        tmp = tempfile.mkdtemp(prefix="fc-emu-selftest-")
        try:
            proc = subprocess.Popen([PYTHON, "-B", "-u", "-I", EMULATOR, "--root", tmp,
                                     "--systems", "Alpha,beta", "--user", "bob"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            try:
                ready, _, _ = select.select([proc.stdout], [], [], 15)
                line = proc.stdout.readline()
                self.assertRegex(line.decode(), r"^\d+\n$")
                for system in ("alpha", "beta"):
                    for fs in ("home", "scratch"):
                        self.assertTrue(os.path.isdir(os.path.join(tmp, system, fs, "bob")))
                conn = http.client.HTTPConnection("127.0.0.1", int(line), timeout=10)
                conn.request("GET", "/status/liveness/")
                r = conn.getresponse()
                self.assertEqual(sorted(json.loads(r.read())["healthcheckRuns"]),
                                 ["alpha", "beta"])
                conn.close()
            finally:
                proc.terminate()
                proc.wait(5)
                proc.stdout.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_exits_when_parent_dies(self):
        tmp = tempfile.mkdtemp(prefix="fc-emu-selftest-")
        try:
            wrapper = ("import subprocess, sys\n"
                       "p = subprocess.Popen([%r, '-B', '-u', '-I', %r, '--root', %r],"
                       " stdout=subprocess.PIPE)\n"
                       "p.stdout.readline()\nprint(p.pid, flush=True)\n"
                       % (PYTHON, EMULATOR, tmp))
            out = subprocess.run([PYTHON, "-c", wrapper], capture_output=True, timeout=20)
            pid = int(out.stdout)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    with open("/proc/%d/status" % pid) as f:
                        if re.search(r"State:\s+Z", f.read()):
                            break  # exited, not yet reaped by its new parent
                except FileNotFoundError:
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, 9)
                self.fail("emulator kept running after its parent exited")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_root_is_required(self):
        r = subprocess.run([PYTHON, "-B", "-I", EMULATOR], capture_output=True, timeout=20)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"--root", r.stderr)


# ------------------------------------------------------------------------------------ auth
class AuthTest(EmulatorTestCase):
    def token_request(self, body, headers=None):
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        return self.emu.request("POST", "/auth/token", body, h, auth=False)

    def test_client_secret_post_and_jwt_shape(self):
        r = self.token_request("grant_type=client_credentials&client_id=asyncfs-client&"
                               "client_secret=asyncfs-secret")
        self.assertEqual(r.status, 200)
        body = r.json()
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["expires_in"], 300)
        for key in ("refresh_expires_in", "not-before-policy", "scope"):
            self.assertIn(key, body)
        parts = body["access_token"].split(".")
        self.assertEqual(len(parts), 3)
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=="))
        for key in ("sub", "preferred_username", "iat", "exp", "jti"):
            self.assertIn(key, payload)
        self.assertEqual(payload["preferred_username"], "fireuser")

    def test_client_secret_basic(self):
        basic = base64.b64encode(b"asyncfs-client:asyncfs-secret").decode()
        r = self.token_request("grant_type=client_credentials",
                               {"Authorization": "Basic " + basic})
        self.assertEqual(r.status, 200, r)

    def test_token_errors(self):
        r = self.token_request("grant_type=client_credentials&client_id=asyncfs-client&"
                               "client_secret=wrong")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["error"], "invalid_client")
        r = self.token_request("grant_type=password&client_id=asyncfs-client&"
                               "client_secret=asyncfs-secret")
        self.assertEqual((r.status, r.json()["error"]), (400, "unsupported_grant_type"))
        r = self.token_request("client_id=asyncfs-client&client_secret=asyncfs-secret")
        self.assertEqual((r.status, r.json()["error"]), (400, "invalid_request"))
        r = self.emu.request("GET", "/auth/token", auth=False)
        self.assertEqual(r.status, 405)

    def test_bearer_checks(self):
        path = "/status/systems"
        body = self.assertError(self.emu.request("GET", path, auth=False), 401,
                                "Not authenticated")
        self.assertIsNone(body["user"])
        self.assertError(self.emu.request("GET", path, auth="Bearer a.b.c"), 401,
                         "Access token is invalid.")
        self.assertError(self.emu.request("GET", path, auth="Bearer " + self.emu.token[:-2]
                                          + "xx"), 401, "Access token is invalid.")
        expired = self.emu.control("POST", "token", {"ttl": 0})["access_token"]
        self.assertError(self.emu.request("GET", path, auth="Bearer " + expired), 401,
                         "Access token expired")
        soon = self.emu.control("POST", "token", {"ttl": 10})["access_token"]
        self.assertError(self.emu.request("GET", path, auth="Bearer " + soon), 401,
                         "Access token expires too soon (less than 30s remaining).")
        r = self.emu.request("GET", path)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("F7T-AuthUsername"), "fireuser")
        self.assertEqual(r.header("F7T-AppVersion"), "2.5.6")
        self.assertGreater(float(r.header("F7T-Timestamp")), 1e9)

    def test_expire_tokens_fault(self):
        old = self.emu.token
        self.emu.control("POST", "faults", {"expire_tokens": True})
        self.assertError(self.emu.request("GET", "/status/systems"), 401, "Access token expired")
        self.emu.token = self.emu.fetch_token()
        self.assertNotEqual(old, self.emu.token)
        self.assertEqual(self.emu.request("GET", "/status/systems").status, 200)

    def test_min_token_ttl_is_runtime_config(self):
        self.emu.config(min_token_ttl=299)
        try:
            token = self.emu.control("POST", "token", {"ttl": 200})["access_token"]
            self.assertEqual(self.emu.request("GET", "/status/systems",
                                              auth="Bearer " + token).status, 401)
        finally:
            self.emu.config(min_token_ttl=30)


# ------------------------------------------------------------------------------------ status
class StatusTest(EmulatorTestCase):
    def test_liveness_needs_no_auth(self):
        r = self.emu.request("GET", "/status/liveness/", auth=False)
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("F7T-AuthUsername"))
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(set(r.json()), {"healthcheckRuns", "lastUpdate"})

    def test_systems(self):
        systems = self.emu.ok("GET", "/status/systems")["systems"]
        self.assertEqual([s["name"] for s in systems], ["daint", "eiger"])
        s = systems[0]
        for key in ("ssh", "scheduler", "servicesHealth", "probing", "fileSystems",
                    "dataOperation"):
            self.assertIn(key, s)
        self.assertEqual(s["scheduler"]["type"], "slurm")
        self.assertEqual(s["fileSystems"], [
            {"path": "/home", "dataType": "users", "defaultWorkDir": True},
            {"path": "/scratch", "dataType": "scratch", "defaultWorkDir": False}])
        op = s["dataOperation"]
        self.assertEqual(op["max_ops_file_size"], 5242880)
        self.assertIsInstance(op["datatransfer_jobs_directives"], list)
        dt = op["data_transfer"]
        self.assertEqual(dt["serviceType"], "s3")
        self.assertEqual(dt["ttl"], 3600)
        self.assertEqual(set(dt["multipart"]), {"max_part_size", "parallel_runs", "use_split",
                                                "tmp_folder"})
        self.assertEqual(dt["multipart"]["max_part_size"], 1073741824)

    def test_system_routes(self):
        info = self.emu.ok("GET", "/status/daint/userinfo")
        self.assertEqual(info["user"], {"id": "1000", "name": "fireuser"})
        self.assertTrue(info["groups"])
        self.assertTrue(self.emu.ok("GET", "/status/daint/partitions")["partitions"])
        nodes = self.emu.ok("GET", "/status/daint/nodes")["nodes"]
        self.assertTrue(all({"name", "cpus", "state"} <= set(n) for n in nodes))
        self.assertIsInstance(self.emu.ok("GET", "/status/eiger/reservations")["reservations"],
                              list)
        # System names are case-insensitive: the URL path is lower-cased.
        self.assertEqual(self.emu.api("GET", "/STATUS/DAINT/userinfo").status, 200)
        self.assertError(self.emu.api("GET", "/status/nosuch/userinfo"), 404, "System not found")

    def test_unknown_route_and_method(self):
        self.assertError(self.emu.api("GET", "/status/nothing/here/at/all"), 404, "Not Found")
        self.assertError(self.emu.api("DELETE", "/status/systems"), 405)
        self.assertError(self.emu.api("GET", "/filesystem/daint/ops/upload"), 405)


# ------------------------------------------------------------------------------------ ops
class OpsTest(EmulatorTestCase):
    D = HOME + "/ops"  # read-only fixtures (listed exactly by test_ls)
    W = HOME + "/opsw"  # scratch space of the tests that write

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        e = cls.emu
        e.write(cls.D + "/a.txt", "".join("line%d\n" % i for i in range(1, 21)))
        e.write(cls.D + "/.hidden", "h")
        e.write(cls.D + "/sub/inner.txt", "inner\n")
        e.write(cls.D + "/bin.dat", bytes(range(256)) * 4)
        e.write(cls.D + "/empty", b"")
        e.write(cls.D + "/bad.txt", b"ok\xff\xfe!")
        os.makedirs(e.local(cls.W))
        # A link planted on disk that points out of the emulated tree.
        os.symlink("/etc", e.local(cls.D + "/escape"))

    def fs(self, op):
        return "/filesystem/daint/ops/" + op

    def test_ls(self):
        out = self.emu.ok("GET", self.fs("ls"), path=self.D)["output"]
        self.assertEqual([e["name"] for e in out],
                         ["a.txt", "bad.txt", "bin.dat", "empty", "escape", "sub"])
        a = out[0]
        self.assertEqual(set(a), {"name", "type", "linkTarget", "user", "group", "permissions",
                                  "lastModified", "size"})
        self.assertEqual((a["type"], a["size"], a["user"], a["group"], a["permissions"]),
                         ("-", "131", "fireuser", "fireuser", "rw-r--r--"))
        self.assertIsNone(a["linkTarget"])
        self.assertRegex(a["lastModified"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
        self.assertEqual(out[-1]["type"], "d")
        self.assertEqual(out[4]["linkTarget"], "/etc")

    def test_ls_options(self):
        names = [e["name"] for e in self.emu.ok("GET", self.fs("ls"), path=self.D,
                                                  showHidden="true")["output"]]
        self.assertIn(".hidden", names)
        rec = self.emu.ok("GET", self.fs("ls"), path=self.D, recursive="true")["output"]
        self.assertIn("sub", [e["name"] for e in rec])
        self.assertIn("sub/inner.txt", [e["name"] for e in rec])
        num = self.emu.ok("GET", self.fs("ls"), path=self.D, numericUid="true")["output"]
        self.assertEqual((num[0]["user"], num[0]["group"]), ("1000", "1000"))
        one = self.emu.ok("GET", self.fs("ls"), path=self.D + "//a.txt")["output"]
        self.assertEqual([e["name"] for e in one], [self.D + "//a.txt"])
        self.assertError(self.emu.api("GET", self.fs("ls"), path=self.D + "/a.txt/"), 500,
                         "Not a directory")
        top = self.emu.ok("GET", self.fs("ls"), path="/home")["output"]
        self.assertEqual([(e["name"], e["user"]) for e in top], [("fireuser", "fireuser")])
        self.assertError(self.emu.api("GET", self.fs("ls"), path=self.D + "/nope"), 404,
                         "ls: cannot access '%s/nope': No such file or directory" % self.D)
        self.assertError(self.emu.api("GET", self.fs("ls"), path=self.D, recursive="maybe"), 400,
                         error_type="validation")

    def test_ls_dereference_and_symlinks(self):
        out = self.emu.ok("POST", self.fs("symlink"), {"sourcePath": self.D + "/a.txt",
                                                       "linkPath": self.D + "/sub/lnk"},
                          expect=201)["output"]
        self.assertEqual((out["name"], out["type"], out["linkTarget"], out["size"]),
                         (self.D + "/sub/lnk", "l", self.D + "/a.txt", str(len(self.D) + 6)))
        plain = self.emu.ok("GET", self.fs("ls"), path=self.D + "/sub")["output"]
        self.assertEqual([(e["name"], e["type"]) for e in plain],
                         [("inner.txt", "-"), ("lnk", "l")])
        deref = self.emu.ok("GET", self.fs("ls"), path=self.D + "/sub",
                            dereference="true")["output"]
        self.assertEqual([(e["name"], e["type"], e["linkTarget"]) for e in deref],
                         [("inner.txt", "-", None), ("lnk", "-", None)])
        st = self.emu.ok("GET", self.fs("stat"), path=self.D + "/sub/lnk")["output"]
        self.assertEqual(stat.S_IFMT(st["mode"]), stat.S_IFLNK)
        st = self.emu.ok("GET", self.fs("stat"), path=self.D + "/sub/lnk",
                         dereference="true")["output"]
        self.assertEqual((stat.S_IFMT(st["mode"]), st["size"]), (stat.S_IFREG, 131))
        self.assertError(self.emu.api("POST", self.fs("symlink"), {
            "path": self.D + "/a.txt", "link_path": self.D + "/sub/lnk"}), 400, "File exists")
        self.assertError(self.emu.api("POST", self.fs("symlink"), {
            "sourcePath": self.D + "/a.txt", "linkPath": self.D + "/no/lnk"}), 404)

    def test_escaping_links_do_not_exist(self):
        self.assertError(self.emu.api("GET", self.fs("stat"), path=self.D + "/escape",
                                      dereference="true"), 404)
        self.assertError(self.emu.api("GET", self.fs("view"), path=self.D + "/escape/passwd"),
                         404)
        self.assertError(self.emu.api("GET", self.fs("ls"), path=self.D + "/escape/"), 404)

    def test_stat(self):
        st = self.emu.ok("GET", self.fs("stat"), path=self.D + "/a.txt")["output"]
        self.assertEqual(set(st), {"mode", "ino", "dev", "nlink", "uid", "gid", "size", "atime",
                                   "mtime", "ctime"})
        self.assertTrue(all(isinstance(v, int) for v in st.values()))
        self.assertEqual((stat.S_IFMT(st["mode"]), st["size"], st["uid"]),
                         (stat.S_IFREG, 131, 1000))
        self.assertError(self.emu.api("GET", self.fs("stat"), path=self.D + "/zz"), 404,
                         "Remote process failed with exit status:1 and error message:stat: "
                         "cannot statx '%s/zz': No such file or directory" % self.D)

    def test_head_and_tail(self):
        def get(op, **q):
            return self.emu.ok("GET", self.fs(op), path=self.D + "/a.txt", **q)["output"]
        out = get("head")
        self.assertEqual(out["content"], "".join("line%d\n" % i for i in range(1, 11)))
        self.assertEqual((out["contentType"], out["startPosition"], out["endPosition"]),
                         ("lines", 0, 10))
        out = get("head", bytes=7)
        self.assertEqual((out["content"], out["contentType"], out["endPosition"]),
                         ("line1\nl", "bytes", 7))
        self.assertEqual(get("head", lines=18, skipTrailing="true")["content"],
                         "line1\nline2\n")
        self.assertEqual(get("head", bytes=126, skipTrailing="true")["content"], "line1")
        out = get("tail", lines=2)
        self.assertEqual((out["content"], out["startPosition"], out["endPosition"]),
                         ("line19\nline20\n", -2, -1))
        self.assertEqual(get("tail", lines=20, skipHeading="true")["content"], "line20\n")
        self.assertEqual(get("tail", bytes=3)["content"], "20\n")
        self.assertEqual(get("tail", bytes=129, skipHeading="true")["content"], "20\n")
        self.assertError(self.emu.api("GET", self.fs("head"), path=self.D + "/a.txt", bytes=1,
                                      lines=1), 400, "Only one of `bytes` or `lines`")
        self.assertError(self.emu.api("GET", self.fs("tail"), path=self.D + "/a.txt",
                                      lines="x"), 400, error_type="validation")
        self.assertError(self.emu.api("GET", self.fs("head"), path=self.D), 500,
                         "Is a directory")

    def test_view(self):
        self.assertEqual(self.emu.view(self.D + "/sub/inner.txt"), "inner\n")
        out = self.emu.ok("GET", self.fs("view"), path=self.D + "/a.txt", size=5,
                          offset=6)["output"]
        self.assertEqual(out, "line2")
        self.assertEqual(self.emu.view(self.D + "/bad.txt"), "ok\ufffd\ufffd!")
        self.assertError(self.emu.api("GET", self.fs("view"), path=self.D + "/a.txt",
                                      size=5242881), 400, "`size` value must be less than")
        self.assertError(self.emu.api("GET", self.fs("view"), path=self.D + "/a.txt", size=0),
                         400)
        self.assertError(self.emu.api("GET", self.fs("view"), path=self.D + "/a.txt",
                                      offset=-1), 400)

    def test_size_limits(self):
        self.emu.write(self.W + "/limits/3000", b"x" * 3000)
        self.emu.write(self.W + "/limits/3100", b"x" * 3100)
        self.emu.write(self.W + "/limits/5000", b"y" * 5000)
        self.emu.config(max_ops_file_size=4096)
        try:
            r = self.emu.api("GET", self.fs("download"), path=self.W + "/limits/3000")
            self.assertEqual((r.status, len(r.body)), (200, 3000))
            # The base64 text of the file counts against the limit (about 3/4 of it).
            self.assertError(self.emu.api("GET", self.fs("download"),
                                          path=self.W + "/limits/3100"),
                             413, "Command output exceeded buffer limit.")
            self.assertEqual(len(self.emu.ok("GET", self.fs("view"),
                                             path=self.W + "/limits/5000",
                                             size=1000)["output"]), 1000)
            self.assertError(self.emu.api("GET", self.fs("view"), path=self.W + "/limits/5000",
                                          size=2048), 413)
            self.assertError(self.emu.api("GET", self.fs("view"), path=self.W + "/limits/5000"),
                             400, "`size` value must be less than 4096 bytes")
            self.assertError(self.emu.api("GET", self.fs("head"), path=self.W + "/limits/5000",
                                          bytes=4096), 413)
            body, ctype = multipart([("file", "big", b"z" * 4097)])
            self.assertError(self.emu.request("POST", self.fs("upload") + "?path=" + self.W,
                                              body, {"Content-Type": ctype}), 413,
                             "File to upload is too large.")
            self.emu.config(max_ops_file_size=300)
            self.assertError(self.emu.api("GET", self.fs("ls"), path=self.D), 413)
        finally:
            self.emu.config(max_ops_file_size=5242880)

    def test_download_and_upload_are_binary_safe(self):
        r = self.emu.api("GET", self.fs("download"), path=self.D + "/bin.dat")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "application/octet-stream")
        self.assertEqual(r.body, bytes(range(256)) * 4)
        boundary = "emulatorBoundary7MA4YWxkTrZu0gW"
        data = (bytes(range(256)) + b"\r\n--" + boundary.encode()[:-1] + b"\r\n\r\n--\r\n" +
                bytes(range(255, -1, -1)))
        body, ctype = multipart([("file", "up.bin", data)], boundary)
        r = self.emu.request("POST", self.fs("upload") + "?path=" + self.W,
                             body, {"Content-Type": ctype})
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, b"")
        self.assertEqual(self.emu.read(self.W + "/up.bin"), data)
        body, ctype = multipart([("file", "up.bin", b"second")])
        self.assertEqual(self.emu.request("POST", self.fs("upload") + "?path=" + self.W, body,
                                          {"Content-Type": ctype}).status, 204)
        self.assertEqual(self.emu.read(self.W + "/up.bin"), b"second")  # silently overwritten
        body, ctype = multipart([("other", None, b"x")])
        self.assertError(self.emu.request("POST", self.fs("upload") + "?path=" + self.W,
                                          body, {"Content-Type": ctype}), 400,
                         error_type="validation")
        body, ctype = multipart([("file", "x.bin", b"x")])
        self.assertError(self.emu.request("POST", self.fs("upload") + "?path=" + self.W + "/no",
                                          body, {"Content-Type": ctype}), 404)
        self.assertError(self.emu.request("POST", self.fs("upload") + "?path=/home",
                                          body, {"Content-Type": ctype}), 403, "Permission denied")

    def test_mkdir(self):
        out = self.emu.ok("POST", self.fs("mkdir"), {"sourcePath": self.W + "/m1"},
                          expect=201)["output"]
        self.assertEqual((out["name"], out["type"], out["permissions"]),
                         (self.W + "/m1", "d", "rwxr-xr-x"))
        self.assertError(self.emu.api("POST", self.fs("mkdir"), {"sourcePath": self.W + "/m1"}),
                         400, "File exists")
        self.assertError(self.emu.api("POST", self.fs("mkdir"), {"path": self.W + "/m2/a/b"}),
                         404, "No such file or directory")
        self.emu.ok("POST", self.fs("mkdir"), {"source_path": self.W + "/m2/a/b", "parent": True},
                    expect=201)
        self.assertTrue(os.path.isdir(self.emu.local(self.W + "/m2/a/b")))
        self.emu.ok("POST", self.fs("mkdir"), {"sourcePath": self.W + "/m2/a", "parent": True},
                    expect=201)
        self.assertError(self.emu.api("POST", self.fs("mkdir"), {"sourcePath": "/home/x"}), 403,
                         "mkdir: cannot create directory '/home/x': Permission denied")
        self.assertError(self.emu.api("POST", self.fs("mkdir"), {"parent": True}), 400,
                         error_type="validation")
        self.assertError(self.emu.api("POST", self.fs("mkdir"), "{not json"), 400,
                         error_type="validation")

    def test_rm(self):
        self.emu.write(self.W + "/rmme/deep/x", "x")
        r = self.emu.api("DELETE", self.fs("rm"), path=self.W + "/rmme")
        self.assertEqual((r.status, r.body), (204, b""))
        self.assertFalse(os.path.exists(self.emu.local(self.W + "/rmme")))
        self.assertError(self.emu.api("DELETE", self.fs("rm"), path=self.W + "/rmme"), 404,
                         "rm: cannot remove")
        self.assertError(self.emu.api("DELETE", self.fs("rm"), path="/home"), 403)
        self.assertError(self.emu.api("DELETE", self.fs("rm"), path=self.D + "/sub/.."), 500,
                         "refusing to remove")

    def test_chmod_and_permissions(self):
        self.emu.write(self.W + "/perm.txt", "secret")
        out = self.emu.ok("PUT", self.fs("chmod"), {"path": self.W + "/perm.txt", "mode": "600"})
        self.assertEqual(out["output"]["permissions"], "rw-------")
        self.emu.ok("PUT", self.fs("chmod"), {"sourcePath": self.W + "/perm.txt", "mode": "000"})
        self.assertError(self.emu.api("GET", self.fs("view"), path=self.W + "/perm.txt"), 403,
                         "Permission denied")
        out = self.emu.ok("PUT", self.fs("chmod"), {"path": self.W + "/perm.txt",
                                                    "mode": "u+rwx,g+r"})
        self.assertEqual(out["output"]["permissions"], "rwxr-----")
        self.assertError(self.emu.api("PUT", self.fs("chmod"), {"path": self.W + "/perm.txt",
                                                                "mode": "9z"}), 500,
                         "invalid mode")
        self.assertError(self.emu.api("PUT", self.fs("chmod"), {"path": "/home", "mode": "777"}),
                         403, "Operation not permitted")
        self.assertError(self.emu.api("PUT", self.fs("chmod"), {"path": self.D + "/zz",
                                                                "mode": "777"}), 404)
        self.assertError(self.emu.api("PUT", self.fs("chmod"), {"path": self.W + "/perm.txt"}),
                         400, error_type="validation")

    def test_chown(self):
        out = self.emu.ok("PUT", self.fs("chown"), {"path": self.D + "/a.txt",
                                                    "owner": "fireuser", "group": "fireuser"})
        self.assertEqual(out["output"]["user"], "fireuser")
        self.emu.ok("PUT", self.fs("chown"), {"path": self.D + "/a.txt"})
        self.assertError(self.emu.api("PUT", self.fs("chown"), {"path": self.D + "/a.txt",
                                                                "owner": "root"}), 403,
                         "Operation not permitted")
        self.assertError(self.emu.api("PUT", self.fs("chown"), {"path": self.D + "/a.txt",
                                                                "owner": "nobodyxyz"}), 400,
                         "invalid user")

    def test_checksum_and_file(self):
        out = self.emu.ok("GET", self.fs("checksum"), path=self.D + "/bin.dat")["output"]
        self.assertEqual(out, {"algorithm": "SHA256",
                               "checksum": hashlib.sha256(bytes(range(256)) * 4).hexdigest()})
        self.assertError(self.emu.api("GET", self.fs("checksum"), path=self.D + "/zz"), 404)

        def kind(name):
            return self.emu.ok("GET", self.fs("file"), path=self.D + name)["output"]
        self.assertEqual(kind("/sub"), "directory")
        self.assertEqual(kind("/a.txt"), "ASCII text")
        self.assertEqual(kind("/bin.dat"), "data")
        self.assertEqual(kind("/empty"), "empty")
        self.assertEqual(kind("/nope"), "cannot open `%s/nope' (No such file or directory)"
                         % self.D)

    def test_compress_and_extract(self):
        self.emu.write(self.W + "/tree/x/one.txt", "1")
        self.emu.write(self.W + "/tree/two.dat", "2")
        for compression in ("gzip", "none", "bzip2", "xz"):
            archive = self.W + "/tree-%s.tar" % compression
            r = self.emu.api("POST", self.fs("compress"), {
                "sourcePath": self.W + "/tree", "targetPath": archive,
                "compression": compression})
            self.assertEqual(r.status, 204, r)
            with tarfile.open(self.emu.local(archive)) as tar:
                self.assertEqual(sorted(tar.getnames()),
                                 ["tree", "tree/two.dat", "tree/x", "tree/x/one.txt"])
            out = self.W + "/out-" + compression
            os.mkdir(self.emu.local(out))
            r = self.emu.api("POST", self.fs("extract"), {
                "source_path": archive, "target_path": out, "compression": compression})
            self.assertEqual(r.status, 204, r)
            self.assertEqual(self.emu.read(out + "/tree/x/one.txt"), b"1")
        r = self.emu.api("POST", self.fs("compress"), {
            "sourcePath": self.W + "/tree/two.dat", "targetPath": self.W + "/txt.tgz",
            "matchPattern": r".*\.txt"})
        self.assertEqual(r.status, 204, r)
        with tarfile.open(self.emu.local(self.W + "/txt.tgz")) as tar:
            self.assertEqual(tar.getnames(), ["./x/one.txt"])
        self.assertError(self.emu.api("POST", self.fs("extract"), {
            "sourcePath": self.W + "/tree-none.tar", "targetPath": self.W + "/out-none",
            "compression": "gzip"}), 500, "not in gzip format")
        self.assertError(self.emu.api("POST", self.fs("compress"), {
            "sourcePath": self.W + "/nothere", "targetPath": self.W + "/n.tgz"}), 404)
        self.assertError(self.emu.api("POST", self.fs("compress"), {
            "sourcePath": self.W + "/tree", "targetPath": self.W + "/n.tgz",
            "compression": "zip"}), 400, error_type="validation")

    def test_extract_refuses_escapes(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, data in (("../../evil.txt", b"e"), ("/abs.txt", b"a"), ("ok.txt", b"o")):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            link = tarfile.TarInfo("uplink")
            link.type = tarfile.SYMTYPE
            link.linkname = "../../../../../../../../etc"
            tar.addfile(link)
        self.emu.write(self.W + "/evil.tar", buf.getvalue())
        os.mkdir(self.emu.local(self.W + "/evil"))
        self.assertEqual(self.emu.api("POST", self.fs("extract"), {
            "sourcePath": self.W + "/evil.tar", "targetPath": self.W + "/evil",
            "compression": "none"}).status, 204)
        self.assertEqual(sorted(os.listdir(self.emu.local(self.W + "/evil"))),
                         ["abs.txt", "ok.txt"])
        self.assertFalse(os.path.exists(self.emu.local(HOME + "/evil.txt")))

    def test_path_validation(self):
        self.assertError(self.emu.api("GET", self.fs("stat"), path="home/x"), 400,
                         "The provided path (home/x) is not an absolute path.")
        self.assertError(self.emu.api("GET", self.fs("stat"), path="/etc/passwd"), 400,
                         "does not match any of the defined filesystem paths for the requested "
                         "system (daint).")
        self.assertError(self.emu.api("GET", self.fs("stat"), path="/home/../etc/passwd"), 400,
                         "The provided path (/etc/passwd) does not match")
        body = self.assertError(self.emu.api("GET", self.fs("stat")), 400,
                                error_type="validation")
        self.assertEqual(body["data"], {"fields": [{"location": "query", "name": "path",
                                                    "message": "Field required"}]})
        self.assertError(self.emu.api("GET", "/filesystem/nosuch/ops/stat", path=HOME), 404,
                         "System not found")

    def test_command_timeout(self):
        self.emu.write(self.W + "/large.bin", b"\0" * (3 << 20))
        self.emu.config(command_timeout=0.001)
        try:
            self.assertError(self.emu.api("GET", self.fs("checksum"), path=self.W + "/large.bin"),
                             408, "Remote process failed with exit status:124")
        finally:
            self.emu.config(command_timeout=5.0)


# ------------------------------------------------------------------------------------ transfers
class TransferTest(EmulatorTestCase):
    ARGS = ("--job-delay", "0.1")
    D = HOME + "/xfer"

    def t(self, op):
        return "/filesystem/daint/transfer/" + op

    def test_mv_cp_rm(self):
        e = self.emu
        e.write(self.D + "/f.txt", "payload")
        e.write(self.D + "/dir/a/b.txt", "deep")
        r = e.ok("POST", self.t("mv"), {"sourcePath": self.D + "/f.txt",
                                        "targetPath": self.D + "/g.txt"}, expect=201)
        self.assertEqual(set(r["transferJob"]), {"jobId", "system", "workingDirectory", "logs"})
        self.assertEqual(r["transferJob"]["workingDirectory"], HOME)
        self.assertRegex(r["transferJob"]["logs"]["outputLog"],
                         r"^/home/fireuser/\.f7t_file_handling_job_[0-9a-f-]{36}\.log$")
        self.assertRegex(r["transferJob"]["logs"]["errorLog"],
                         r"^/home/fireuser/\.f7t_file_handling_job_error_[0-9a-f-]{36}\.log$")
        state, out, err = e.transfer(r)
        self.assertEqual(state, "COMPLETED")
        self.assertIn("Files were successfully moved.", out)
        self.assertEqual(e.read(self.D + "/g.txt"), b"payload")
        # cp of a file into an existing directory, and of a directory tree.
        r = e.ok("POST", self.t("cp"), {"path": self.D + "/g.txt", "target_path": self.D + "/dir"},
                 expect=201)
        self.assertIn("Files were successfully copied.", e.transfer(r)[1])
        self.assertEqual(e.read(self.D + "/dir/g.txt"), b"payload")
        r = e.ok("POST", self.t("cp"), {"sourcePath": self.D + "/dir",
                                        "targetPath": self.D + "/dir2", "dereference": True},
                 expect=201)
        self.assertEqual(e.transfer(r)[0], "COMPLETED")
        self.assertEqual(e.read(self.D + "/dir2/a/b.txt"), b"deep")
        r = e.ok("DELETE", self.t("rm"), path=self.D + "/dir2")  # 200, not 201
        state, out, _ = e.transfer(r)
        self.assertIn("Files were successfully deleted.", out)
        self.assertFalse(os.path.exists(e.local(self.D + "/dir2")))
        # Both jobs show up in the scheduler.
        ids = [j["jobId"] for j in e.ok("GET", "/compute/daint/jobs")["jobs"]]
        self.assertIn(r["transferJob"]["jobId"], ids)

    def test_failing_transfer_jobs(self):
        e = self.emu
        r = e.ok("POST", self.t("mv"), {"sourcePath": self.D + "/missing",
                                        "targetPath": self.D + "/x"}, expect=201)
        state, out, err = e.transfer(r)
        self.assertEqual(state, "FAILED")
        self.assertNotIn("successfully", out)
        self.assertIn("mv: cannot stat '%s/missing': No such file or directory" % self.D, err)
        self.assertIn("Unable to move files", err)
        e.config(transfer_failure_state="COMPLETED")
        try:
            r = e.ok("DELETE", self.t("rm"), path=self.D + "/missing")
            state, out, err = e.transfer(r)
            self.assertEqual(state, "COMPLETED")  # like the real scripts' `exit $?` after echo
            self.assertNotIn("successfully", out)
            self.assertIn("No such file or directory", err)
        finally:
            e.config(transfer_failure_state="FAILED")
        e.config(require_account=True)
        try:
            self.assertError(e.api("POST", self.t("mv"), {"sourcePath": self.D + "/a",
                                                          "targetPath": self.D + "/b"}), 400,
                             "Account parameter is required on this system.")
            e.ok("POST", self.t("mv"), {"sourcePath": self.D + "/a", "targetPath": self.D + "/b",
                                        "account": "proj01"}, expect=201)
        finally:
            e.config(require_account=False)
        self.assertError(e.api("POST", self.t("mv"), {"sourcePath": self.D + "/a"}), 400,
                         error_type="validation")
        self.assertError(e.api("POST", self.t("cp"), {"sourcePath": self.D + "/a",
                                                      "targetPath": "/etc/x"}), 400)

    def test_transfer_compress_extract(self):
        e = self.emu
        e.write(self.D + "/ctree/f1", "one")
        r = e.ok("POST", self.t("compress"), {"sourcePath": self.D + "/ctree",
                                              "targetPath": self.D + "/ctree.tgz"}, expect=201)
        self.assertIn("Files were successfully compressed.", e.transfer(r)[1])
        os.mkdir(e.local(self.D + "/cout"))
        r = e.ok("POST", self.t("extract"), {"sourcePath": self.D + "/ctree.tgz",
                                             "targetPath": self.D + "/cout"}, expect=201)
        self.assertIn("Files were successfully extracted.", e.transfer(r)[1])
        self.assertEqual(e.read(self.D + "/cout/ctree/f1"), b"one")

    def s3_upload_start(self, target, size):
        return self.emu.ok("POST", self.t("upload"), {
            "sourcePath": target,
            "transferDirectives": {"transferMethod": "s3", "fileSize": size}}, expect=201)

    def test_s3_upload(self):
        e = self.emu
        e.config(max_part_size=1000)
        try:
            data = os.urandom(2500)
            r = self.s3_upload_start(self.D + "/up.bin", len(data))
        finally:
            e.config(max_part_size=1073741824)
        td = r["transferDirectives"]
        self.assertEqual(td["transferMethod"], "s3")
        self.assertEqual(td["maxPartSize"], 1000)
        urls = td["partsUploadUrls"]
        self.assertEqual(len(urls), 3)
        for key in ("partNumber=1", "uploadId=", "X-Amz-Signature=", "X-Amz-Expires=",
                    "X-Amz-Date=", "X-Amz-Algorithm="):
            self.assertIn(key, urls[0])
        # The upload job waits for the object.
        time.sleep(0.3)
        self.assertEqual(e.job(r["transferJob"]["jobId"])["status"]["state"], "RUNNING")
        etags = []
        for i, url in enumerate(urls):
            chunk = data[i * 1000:(i + 1) * 1000]
            resp = raw_request(url, "PUT", chunk)
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(resp.header("ETag"), '"%s"' % hashlib.md5(chunk).hexdigest())
            etags.append(resp.header("ETag"))
        xml = ("<?xml version='1.0' encoding='utf-8'?>\n<CompleteMultipartUpload xmlns="
               "\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
               "".join("<Part><ETag>%s</ETag><PartNumber>%d</PartNumber></Part>" % (t, i + 1)
                       for i, t in enumerate(etags)) + "</CompleteMultipartUpload>")
        bad = xml.replace(etags[1], '"00000000000000000000000000000000"')
        self.assertEqual(s3_code(raw_request(td["completeUploadUrl"], "POST", bad)),
                         "InvalidPart")
        swapped = xml.replace("<PartNumber>1<", "<PartNumber>9<")
        self.assertEqual(s3_code(raw_request(td["completeUploadUrl"], "POST", swapped)),
                         "InvalidPartOrder")
        self.assertEqual(s3_code(raw_request(td["completeUploadUrl"], "POST", "<oops")),
                         "MalformedXML")
        resp = raw_request(td["completeUploadUrl"], "POST", xml)
        self.assertEqual(resp.status, 200, resp)
        self.assertIn(b"CompleteMultipartUploadResult", resp.body)
        state, out, _ = e.transfer(r)
        self.assertEqual(state, "COMPLETED")
        self.assertIn("File was successfully downloaded", out)
        self.assertEqual(e.read(self.D + "/up.bin"), data)
        again = raw_request(td["completeUploadUrl"], "POST", xml)
        self.assertEqual((again.status, s3_code(again)), (404, "NoSuchUpload"))

    def test_s3_upload_errors(self):
        e = self.emu
        os.makedirs(e.local(self.D + "/adir"), exist_ok=True)
        r = self.s3_upload_start(self.D + "/adir", 10)
        state, _, err = e.transfer(r)
        self.assertEqual(state, "FAILED")
        self.assertIn("targetPath must point to a file path", err)
        r = self.s3_upload_start(self.D + "/sig.bin", 10)
        url = r["transferDirectives"]["partsUploadUrls"][0]
        tampered = re.sub(r"partNumber=1", "partNumber=2", url)
        resp = raw_request(tampered, "PUT", b"x")
        self.assertEqual((resp.status, s3_code(resp)), (403, "SignatureDoesNotMatch"))
        resp = raw_request(url.split("?")[0], "PUT", b"x")
        self.assertEqual((resp.status, s3_code(resp)), (403, "AccessDenied"))
        self.assertError(e.api("POST", self.t("upload"), {
            "sourcePath": self.D + "/z", "transferDirectives": {"transferMethod": "s3",
                                                                "fileSize": 0}}), 400,
            error_type="validation")
        self.assertError(e.api("POST", self.t("upload"), {
            "sourcePath": self.D + "/z", "transferDirectives": {"transferMethod": "streamer"}}),
            400, "Requested transfer method is not available.")
        self.assertError(e.api("POST", self.t("upload"), {"sourcePath": self.D + "/z"}), 400,
                         error_type="validation")

    def test_s3_download(self):
        e = self.emu
        data = os.urandom(5000)
        e.write(self.D + "/down.bin", data)
        e.config(job_delay=1.5, max_part_size=2048)
        try:
            r = e.ok("POST", self.t("download"), {
                "source_path": self.D + "/down.bin",
                "transfer_directives": {"transfer_method": "s3"}}, expect=201)
        finally:
            e.config(job_delay=0.1, max_part_size=1073741824)
        url = r["transferDirectives"]["downloadUrl"]
        early = raw_request(url)
        self.assertEqual((early.status, s3_code(early)), (404, "NoSuchKey"))
        state, out, _ = e.transfer(r)
        self.assertEqual(state, "COMPLETED")
        self.assertIn("Multipart file upload successfully completed", out)
        full = raw_request(url)
        self.assertEqual((full.status, full.body), (200, data))
        part = raw_request(url, headers={"Range": "bytes=100-199"})
        self.assertEqual((part.status, part.body), (206, data[100:200]))
        self.assertEqual(part.header("Content-Range"), "bytes 100-199/5000")
        tail = raw_request(url, headers={"Range": "bytes=-10"})
        self.assertEqual(tail.body, data[-10:])
        bad = raw_request(url, headers={"Range": "bytes=6000-"})
        self.assertEqual((bad.status, s3_code(bad)), (416, "InvalidRange"))
        head = raw_request(url, "HEAD")
        self.assertEqual((head.status, head.header("Content-Length"), head.body),
                         (200, "5000", b""))
        self.assertError(e.api("POST", self.t("download"), {
            "sourcePath": self.D + "/none", "transferDirectives": {"transferMethod": "s3"}}),
            404, "No such file or directory")

    def test_s3_presigned_url_expiry(self):
        e = self.emu
        e.write(self.D + "/exp.bin", b"abc")
        e.config(s3_ttl=1)
        try:
            r = e.ok("POST", self.t("download"), {
                "sourcePath": self.D + "/exp.bin",
                "transferDirectives": {"transferMethod": "s3"}}, expect=201)
        finally:
            e.config(s3_ttl=3600)
        self.assertEqual(e.transfer(r)[0], "COMPLETED")
        time.sleep(2.1)
        resp = raw_request(r["transferDirectives"]["downloadUrl"])
        self.assertEqual((resp.status, s3_code(resp)), (403, "AccessDenied"))
        self.assertIn(b"Request has expired", resp.body)


# ------------------------------------------------------------------------------------ compute
class ComputeTest(EmulatorTestCase):
    ARGS = ("--job-delay", "0.2")
    J = "/compute/daint/jobs"

    def submit(self, script, **job):
        job.setdefault("workingDirectory", HOME)
        job["script"] = script
        return self.emu.ok("POST", self.J, {"job": job}, expect=201)["jobId"]

    def test_job_lifecycle(self):
        e = self.emu
        e.config(job_delay=1.2)
        try:
            t0 = time.monotonic()
            jid = self.submit("#!/bin/bash\necho 'hello world'\n  echo \"two\"\nls -l\n")
        finally:
            e.config(job_delay=0.2)
        self.assertIsInstance(jid, str)
        job = e.job(jid)
        if time.monotonic() - t0 < 0.5:  # (a very loaded machine may have missed the window)
            self.assertEqual(job["status"]["state"], "PENDING")
        for key in ("jobId", "name", "status", "time", "tasks", "account", "allocationNodes",
                    "cluster", "group", "nodes", "partition", "priority", "killRequestUser",
                    "user", "workingDirectory"):
            self.assertIn(key, job)
        seen = e.wait_state(jid, "COMPLETED")
        self.assertEqual(seen[-2:], ["RUNNING", "COMPLETED"])
        self.assertGreaterEqual(time.monotonic() - t0, 1.2)  # terminal only after job_delay
        done = e.wait_job(jid)
        self.assertEqual((done["status"]["state"], done["status"]["exitCode"]), ("COMPLETED", 0))
        self.assertIsNotNone(done["time"]["end"])
        self.assertEqual(e.read(HOME + "/slurm-%s.out" % jid), b"hello world\ntwo\n")
        meta = e.ok("GET", self.J + "/" + jid + "/metadata")["jobs"][0]
        self.assertEqual(meta["jobId"], jid)
        self.assertEqual(meta["standardOutput"], HOME + "/slurm-%s.out" % jid)
        self.assertIn("echo 'hello world'", meta["script"])
        listed = e.ok("GET", self.J, allusers="true")["jobs"]
        self.assertIn(jid, [j["jobId"] for j in listed])

    def test_failing_job_and_injected_failure(self):
        e = self.emu
        jid = self.submit("echo before\nexit 3\necho after\n", standardError="err-%j.txt",
                          standardOutput="out-%j.txt")
        job = e.wait_job(jid)
        self.assertEqual((job["status"]["state"], job["status"]["exitCode"]), ("FAILED", 3))
        self.assertEqual(e.read(HOME + "/out-%s.txt" % jid), b"before\n")
        self.assertIn(b"emulated failure: exit 3", e.read(HOME + "/err-%s.txt" % jid))
        e.control("POST", "faults", {"job_fail": True, "count": 1})
        jid = self.submit("echo fine\n")
        job = e.wait_job(jid)
        self.assertEqual((job["status"]["state"], job["status"]["exitCode"]), ("FAILED", 1))
        self.assertIn(b"emulated failure", e.read(HOME + "/slurm-%s.out" % jid))
        self.assertEqual(e.wait_job(self.submit("echo fine\n"))["status"]["state"], "COMPLETED")

    def test_submit_variants(self):
        e = self.emu
        e.write(HOME + "/job.sh", "#!/bin/bash\necho from file\n")
        jid = e.ok("POST", self.J, {"job": {"scriptPath": HOME + "/job.sh",
                                            "working_directory": HOME, "name": "named",
                                            "env": ["A=1", "B=2"], "account": "acct7",
                                            "partition": "debug"}}, expect=201)["jobId"]
        job = e.wait_job(jid)
        self.assertEqual((job["name"], job["account"], job["partition"]),
                         ("named", "acct7", "debug"))
        self.assertEqual(e.read(HOME + "/slurm-%s.out" % jid), b"from file\n")
        accounts = {j["account"] for j in e.ok("GET", self.J, account="acct7")["jobs"]}
        self.assertEqual(accounts, {"acct7"})
        body = self.assertError(e.api("POST", self.J, {"job": {"script": "echo"}}), 400,
                                error_type="validation")
        self.assertEqual(body["data"]["fields"][0]["location"], "body")
        self.assertError(e.api("POST", self.J, {"nojob": {}}), 400, error_type="validation")
        self.assertError(e.api("POST", self.J, {"job": {"workingDirectory": HOME}}), 400)
        # A missing working directory makes the job fail, like slurmstepd.
        self.assertEqual(e.wait_job(self.submit("echo", workingDirectory=HOME + "/nope"))
                         ["status"]["state"], "FAILED")

    def test_lookup_errors(self):
        e = self.emu
        self.assertError(e.api("GET", self.J + "/999999"), 404, "Job not found.")
        self.assertError(e.api("GET", self.J + "/a-b"), 400, error_type="validation")
        self.assertError(e.api("GET", self.J + "/999999/metadata"), 404, "Job not found.")
        self.assertError(e.api("DELETE", self.J + "/999999"), 404, "Job not found")
        jid = self.submit("echo\n")
        self.assertError(e.api("GET", "/compute/eiger/jobs/" + jid), 404)

    def test_cancel_and_attach(self):
        e = self.emu
        e.config(job_delay=30)
        try:
            jid = self.submit("sleep 100\n")
        finally:
            e.config(job_delay=0.2)
        self.assertError(e.api("PUT", self.J + "/" + jid + "/attach", {"command": "hostname"}),
                         400)  # still PENDING
        r = e.api("DELETE", self.J + "/" + jid)
        self.assertEqual((r.status, r.body), (204, b""))
        job = e.job(jid)
        self.assertEqual((job["status"]["state"], job["killRequestUser"]),
                         ("CANCELLED", "fireuser"))
        e.config(job_delay=4.0)
        try:
            jid = self.submit("echo\n")
        finally:
            e.config(job_delay=0.2)
        e.wait_state(jid, "RUNNING")
        r = e.api("PUT", self.J + "/" + jid + "/attach", {"command": "hostname"})
        self.assertEqual(r.status, 204, r)


class ExecJobsTest(EmulatorTestCase):
    ARGS = ("--job-delay", "0.1", "--exec-jobs")

    def test_scripts_really_run(self):
        e = self.emu
        os.makedirs(e.local(HOME + "/run"), exist_ok=True)
        jid = e.ok("POST", "/compute/daint/jobs", {"job": {
            "workingDirectory": HOME + "/run", "env": {"MYVAR": "42"},
            "standardError": "err.txt",
            "script": "#!/bin/bash\necho \"hi $MYVAR $SLURM_JOB_ID\"\npwd\necho oops >&2\n"
                      "touch made-by-job\nnproc\nexit 2\n"}}, expect=201)["jobId"]
        job = e.wait_job(jid)
        self.assertEqual((job["status"]["state"], job["status"]["exitCode"]), ("FAILED", 2))
        out = e.read(HOME + "/run/slurm-%s.out" % jid).decode().splitlines()
        self.assertEqual(out[0], "hi 42 %s" % jid)
        self.assertEqual(os.path.realpath(out[1]), os.path.realpath(e.local(HOME + "/run")))
        self.assertEqual(e.read(HOME + "/run/err.txt"), b"oops\n")
        self.assertTrue(os.path.exists(e.local(HOME + "/run/made-by-job")))
        # The server pins itself to one CPU (--pin-cpu auto); job scripts must not inherit it.
        self.assertEqual(int(out[2]), len(os.sched_getaffinity(0)))
        ok = e.ok("POST", "/compute/daint/jobs", {"job": {
            "workingDirectory": HOME, "script": "true\n"}}, expect=201)["jobId"]
        self.assertEqual(e.wait_job(ok)["status"]["state"], "COMPLETED")
        slow = e.ok("POST", "/compute/daint/jobs", {"job": {
            "workingDirectory": HOME, "script": "sleep 30\n"}}, expect=201)["jobId"]
        deadline = time.monotonic() + 10
        while e.job(slow)["status"]["state"] != "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(e.api("DELETE", "/compute/daint/jobs/" + slow).status, 204)
        self.assertEqual(e.job(slow)["status"]["state"], "CANCELLED")


# ------------------------------------------------------------------------------------ versions
class Version242Test(EmulatorTestCase):
    ARGS = ("--job-delay", "0.1", "--api-version", "2.4.2", "--max-part-size", "100")

    def test_shapes(self):
        e = self.emu
        r = e.api("GET", "/status/systems")
        self.assertEqual(r.header("F7T-AppVersion"), "2.4.2")
        jid = e.ok("POST", "/compute/daint/jobs", {"job": {"workingDirectory": HOME,
                                                           "script": "echo"}}, expect=201)["jobId"]
        self.assertIsInstance(jid, int)
        job = e.wait_job(jid)
        self.assertEqual((job["jobId"], job["status"]["state"]), (jid, "COMPLETED"))
        up = e.ok("POST", "/filesystem/daint/transfer/upload", {
            "path": HOME + "/v.bin",
            "transfer_directives": {"transfer_method": "s3", "file_size": 150}}, expect=201)
        self.assertIsInstance(up["transferJob"]["jobId"], int)
        self.assertEqual(set(up["transferDirectives"]), {"transfer_method", "parts_upload_urls",
                                                         "complete_upload_url", "max_part_size"})
        self.assertEqual(len(up["transferDirectives"]["parts_upload_urls"]), 2)
        e.write(HOME + "/d.bin", b"d" * 10)
        down = e.ok("POST", "/filesystem/daint/transfer/download", {
            "sourcePath": HOME + "/d.bin", "transferDirectives": {"transferMethod": "s3"}},
            expect=201)
        self.assertEqual(set(down["transferDirectives"]), {"transfer_method", "download_url"})


class Version231Test(EmulatorTestCase):
    ARGS = ("--job-delay", "0.1", "--api-version", "2.3.1", "--max-part-size", "100")

    def test_shapes_and_legacy_upload(self):
        e = self.emu
        data = os.urandom(150)
        up = e.ok("POST", "/filesystem/daint/transfer/upload", {
            "sourcePath": HOME, "fileName": "legacy.bin", "fileSize": len(data)}, expect=201)
        self.assertNotIn("transferDirectives", up)
        self.assertEqual(set(up), {"transferJob", "partsUploadUrls", "completeUploadUrl",
                                   "maxPartSize"})
        etags = []
        for i, url in enumerate(up["partsUploadUrls"]):
            etags.append(raw_request(url, "PUT", data[i * 100:(i + 1) * 100]).header("ETag"))
        xml = "<CompleteMultipartUpload>%s</CompleteMultipartUpload>" % "".join(
            "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % (i + 1, t)
            for i, t in enumerate(etags))
        self.assertEqual(raw_request(up["completeUploadUrl"], "POST", xml).status, 200)
        job = e.wait_job(up["transferJob"]["jobId"])
        self.assertEqual(job["status"]["state"], ["COMPLETED"])
        self.assertIsInstance(job["jobId"], int)
        self.assertEqual(e.read(HOME + "/legacy.bin"), data)
        down = e.ok("POST", "/filesystem/daint/transfer/download",
                    {"sourcePath": HOME + "/legacy.bin"}, expect=201)
        self.assertIn("downloadUrl", down)
        e.wait_job(down["transferJob"]["jobId"])
        self.assertEqual(raw_request(down["downloadUrl"]).body, data)


# ------------------------------------------------------------------------------------ controls
class ControlsTest(EmulatorTestCase):
    def test_log_and_stats(self):
        e = self.emu
        e.control("POST", "log/clear")
        before = e.control("GET", "stats")
        e.request("GET", "/status/liveness/", auth=False)
        e.api("GET", "/filesystem/daint/ops/stat", path="/home/fireuser/missing")
        e.fetch_token()
        log = e.control("GET", "log")
        self.assertEqual([(x["method"], x["path"], x["status"], x["service"]) for x in log], [
            ("GET", "/status/liveness/", 200, "status"),
            ("GET", "/filesystem/daint/ops/stat", 404, "filesystem"),
            ("POST", "/auth/token", 200, "auth")])
        self.assertEqual(log[1]["query"], "path=%2Fhome%2Ffireuser%2Fmissing")
        self.assertLess(log[0]["time"], log[1]["time"])
        self.assertLessEqual(log[2]["time"], time.monotonic())
        since = e.control("GET", "log?since=%r" % log[1]["time"])
        self.assertEqual(len(since), 2)
        after = e.control("GET", "stats")
        self.assertEqual(after["requests"] - before["requests"], 3)
        self.assertEqual(after["token_requests"] - before["token_requests"], 1)
        self.assertIn("jobs", after)

    def test_status_faults(self):
        e = self.emu
        e.control("POST", "faults", {"match": "/status/systems", "status": 503,
                                     "retry_after": "1", "count": 2})
        e.control("POST", "faults", {"match": "/filesystem/", "method": "PUT", "status": 500,
                                     "body": {"custom": True}})
        for _ in range(2):
            r = e.api("GET", "/status/systems")
            self.assertEqual((r.status, r.header("Retry-After")), (503, "1"))
            self.assertEqual(r.json()["errorType"], "error")
        self.assertEqual(e.api("GET", "/status/systems").status, 200)
        self.assertEqual(e.api("GET", "/filesystem/daint/ops/stat", path=HOME).status, 200)
        r = e.api("PUT", "/filesystem/daint/ops/chmod", {"path": HOME, "mode": "755"})
        self.assertEqual((r.status, r.json()), (500, {"custom": True}))
        self.assertEqual(e.control("GET", "faults")["rules"], [])
        log = e.control("GET", "log")
        self.assertIn(503, [x["status"] for x in log])

    def test_delay_and_drop_faults(self):
        e = self.emu
        e.control("POST", "faults", {"match": "/status/daint/nodes", "delay": 0.3})
        t0 = time.monotonic()
        self.assertEqual(e.api("GET", "/status/daint/nodes").status, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        e.control("POST", "faults", {"match": "/status/daint/nodes", "drop": True})
        conn = http.client.HTTPConnection("127.0.0.1", e.port, timeout=10)
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            conn.request("GET", "/status/daint/nodes",
                         headers={"Authorization": "Bearer " + e.token})
            conn.getresponse().read()
        conn.close()
        self.assertEqual(e.api("GET", "/status/daint/nodes").status, 200)

    def test_token_faults(self):
        e = self.emu
        e.control("POST", "faults", {"token": "garbage"})
        e.control("POST", "faults", {"token": "html"})
        e.control("POST", "faults", {"token": "500"})
        form = ("grant_type=client_credentials&client_id=asyncfs-client&"
                "client_secret=asyncfs-secret")
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        r = e.request("POST", "/auth/token", form, h, auth=False)
        self.assertEqual(r.status, 200)
        with self.assertRaises(ValueError):
            r.json()
        r = e.request("POST", "/auth/token", form, h, auth=False)
        self.assertTrue(r.header("Content-Type").startswith("text/html"))
        self.assertEqual(e.request("POST", "/auth/token", form, h, auth=False).status, 500)
        self.assertEqual(e.request("POST", "/auth/token", form, h, auth=False).status, 200)

    def test_clear_config_and_errors(self):
        e = self.emu
        e.control("POST", "faults", {"match": "/status/", "status": 500, "count": 5})
        e.control("POST", "faults", {"job_fail": True, "count": 3})
        e.control("POST", "faults/clear")
        self.assertEqual(e.control("GET", "faults"), {"rules": [], "token": [], "job_fail": 0})
        cfg = e.control("GET", "config")
        self.assertEqual(cfg["job_delay"], 0.2)
        self.assertEqual(e.config(job_delay=0)["job_delay"], 0.0)
        e.config(job_delay=0.2)
        for bad in ({"job_delay": "fast"}, {"nope": 1}, {"api_version": "9"}):
            self.assertEqual(e.request("POST", "/_emulator/config", bad, auth=False).status, 400)
        self.assertEqual(e.request("POST", "/_emulator/faults", {"status": 500},
                                   auth=False).status, 400)
        self.assertEqual(e.request("GET", "/_emulator/nothing", auth=False).status, 404)
        r = e.request("GET", "/_emulator/help", auth=False)
        self.assertIn(b"Test controls", r.body)


# ------------------------------------------------------------------------------------ HTTP
class KeepAliveTest(EmulatorTestCase):
    def test_one_connection_many_requests(self):
        e = self.emu
        conn = http.client.HTTPConnection("127.0.0.1", e.port, timeout=10)
        auth = {"Authorization": "Bearer " + e.token}
        conn.connect()
        sock = conn.sock
        e.write(HOME + "/ka/x", "x")
        requests = [("GET", "/filesystem/daint/ops/stat?path=%2Fhome%2Ffireuser", None),
                    ("GET", "/filesystem/daint/ops/stat?path=%2Fnope", None),
                    ("HEAD", "/status/systems", None),
                    ("POST", "/status/systems", b'{"unread": "body"}'),
                    ("DELETE", "/filesystem/daint/ops/rm?path=%2Fhome%2Ffireuser%2Fka%2Fx", None),
                    ("GET", "/status/liveness/", None)] * 8
        for method, path, body in requests:
            h = dict(auth)
            if body:
                h["Content-Type"] = "application/json"
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            if r.status not in (204, 304):
                self.assertEqual(r.getheader("Content-Length"), str(len(data)) if method != "HEAD"
                                 else r.getheader("Content-Length"))
            self.assertFalse(r.will_close, (method, path, r.status))
            if method == "HEAD":
                self.assertEqual(data, b"")
        self.assertIs(conn.sock, sock)
        conn.close()

    def test_concurrent_clients(self):
        e = self.emu
        errors = []

        def worker():
            conn = http.client.HTTPConnection("127.0.0.1", e.port, timeout=20)
            try:
                for _ in range(25):
                    conn.request("GET", "/filesystem/daint/ops/stat?path=%2Fhome%2Ffireuser",
                                 headers={"Authorization": "Bearer " + e.token})
                    r = conn.getresponse()
                    r.read()
                    if r.status != 200:
                        errors.append(r.status)
            except Exception as exc:
                errors.append(exc)
            finally:
                conn.close()

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])

    def test_connection_close_is_honoured(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=10)
        conn.request("GET", "/status/liveness/", headers={"Connection": "close"})
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.getheader("Connection"), "close")
        conn.close()


if __name__ == "__main__":
    unittest.main()
