#!/usr/bin/python3
"""asyncfs FirecREST emulator: a FirecREST v2 REST API (plus a token endpoint and a presigned-S3
staging area) backed by a local directory, for tests of the FirecREST backend and client.

Usage: /usr/bin/python3 -u -I firecrest_emulator.py --root DIR [options]
Prints the chosen port as the first stdout line (just the number), then serves on 127.0.0.1
until killed. Standard library only. Exits by itself when its parent process goes away (a
crashed test binary does not leave it behind), after --max-lifetime seconds, or on SIGTERM.
Behaviour follows the real server (eth-cscs/firecrest-v2 2.5.6; 2.4.2 and 2.3.1 variants via
--api-version) as described in shared/reference/firecrest.md: status codes, error bodies and the
coreutils-style messages inside them are those of the real server.

Options
  --root DIR                  required. System S maps remote absolute paths onto DIR/S/...
                              (remote /home/alice/x on daint -> DIR/daint/home/alice/x).
                              Staged S3 parts and objects live in DIR/.s3, --exec-jobs scripts
                              in DIR/.jobs.
  --port N                    0 (default) = a free port
  --systems a,b               default daint,eiger (lower-cased). Each has fileSystems /home
                              (users, defaultWorkDir) and /scratch (scratch); /home/<user> and
                              /scratch/<user> are created at start.
  --user NAME                 default fireuser: the username of every token, F7T-AuthUsername
  --client-id ID --client-secret SECRET     default asyncfs-client / asyncfs-secret
  --token-ttl S               default 300 (expires_in of issued tokens)
  --min-token-ttl S           default 30 (tokens with less left get 401 "expires too soon")
  --job-delay S               default 1.0 (float, 0 allowed): a job is PENDING for delay/2, then
                              RUNNING, and terminal no earlier than delay after submission
  --max-ops-file-size B       default 5242880 (dataOperation.max_ops_file_size)
  --max-part-size B           default 1073741824 (S3 multipart part size)
  --s3-ttl S                  default 3600 (presigned URL lifetime)
  --api-version V             2.5.6 (default) | 2.4.2 | 2.3.1, see "Version variants"
  --exec-jobs                 run submitted job scripts with /bin/bash (see "Jobs")
  --command-timeout S         default 5: the ops/* command timeout (408 past it)
  --transfer-failure-state S  FAILED (default) | COMPLETED: the state of a transfer job whose
                              work failed. The real scripts end with `exit $?` after an echo, so
                              the real server reports COMPLETED (exit 0) with no success line in
                              the log; COMPLETED reproduces that quirk.
  --require-account           transfer jobs need `account` (400 "Account parameter is required
                              on this system."), like a site whose directives use {account}
  --max-lifetime S            default 21600: exit after this long (0 = never)
  --pin-cpu auto|none|N       default auto: run every server thread on one CPU (the last one
                              allowed). CPython threads on two cores spend their time handing
                              the GIL across cores; pinned, 64 keep-alive clients get 2-3x the
                              throughput with far less variance, and the client keeps a core.
  --verbose                   one stderr line per request

Every API response is JSON unless binary and carries F7T-AppVersion, F7T-Timestamp and, when
authenticated, F7T-AuthUsername. Errors: {"errorType":"error"|"validation","message","causedBy",
"data","user"}; validation errors are 400 with data.fields=[{location,name,message}]. The URL path
of API routes is lower-cased before routing (system names are case-insensitive); queries and bodies
are not. Request bodies accept camelCase and snake_case keys, and path/sourcePath/source_path.

Routes (B = needs "Authorization: Bearer <token>")
  Token (Keycloak-like; also any path ending /protocol/openid-connect/token)
    POST /auth/token        form grant_type=client_credentials with client_id/client_secret in the
                            form or HTTP Basic -> {access_token, expires_in, refresh_expires_in,
                            token_type, not-before-policy, scope}; 401 invalid_client; 400
                            unsupported_grant_type / invalid_request
  Status
    GET /status/liveness/                   no auth
    GET /status/systems                     B  {systems:[HPCCluster]}
    GET /status/{sys}/userinfo|partitions|nodes|reservations     B
  Filesystem ops (B; query `path` unless noted; JSON bodies for POST/PUT)
    GET ls (showHidden, recursive, numericUid, dereference) | stat (dereference) |
        head/tail (bytes|lines, skipTrailing/skipHeading) | view (size, offset) | checksum |
        file | download (raw bytes)
    POST upload (query path = target DIRECTORY, multipart part `file`, filename = basename) 204
    POST mkdir {path, parent} 201 | DELETE rm 204 (always recursive) | PUT chmod {path, mode} |
    PUT chown {path, owner, group} | POST symlink {path, linkPath} 201 |
    POST compress {path, targetPath, matchPattern, dereference, compression} 204 |
    POST extract {path, targetPath, compression} 204
  Filesystem transfer jobs (B): POST mv | POST cp | DELETE rm (200) | POST compress | POST extract
    | POST upload | POST download -> 201 {transferJob{jobId, system, workingDirectory,
    logs{outputLog, errorLog}}, transferDirectives?}. The job does the work; logs are
    /home/<user>/.f7t_file_handling_job_[error_]<uuid>.log with the real success lines.
  Compute (B)
    POST /compute/{sys}/jobs {job:{script|scriptPath, workingDirectory, env, name, account,
        partition, reservation, constraints, standardInput, standardOutput, standardError}} 201
    GET /compute/{sys}/jobs[?allusers&account]   GET|DELETE /compute/{sys}/jobs/{id}
    GET /compute/{sys}/jobs/{id}/metadata        PUT /compute/{sys}/jobs/{id}/attach
  S3 staging (presigned: X-Amz-Algorithm/Credential/Date/Expires/SignedHeaders/Signature; no auth)
    PUT  /s3/<bucket>/<key>?partNumber=i&uploadId=U&...   store a part -> ETag: "<md5>"
    POST /s3/<bucket>/<key>?uploadId=U&...                CompleteMultipartUpload XML
    GET|HEAD /s3/<bucket>/<key>?...                       object (single Range, 206/416)
    Errors are S3 XML: NoSuchKey, NoSuchUpload, InvalidPart, InvalidPartOrder, MalformedXML,
    AccessDenied ("Request has expired"), SignatureDoesNotMatch (403), InvalidRange (416).

Filesystem model: the user owns /home/<user> and /scratch/<user> (owner permission bits apply);
everything else (/home, /scratch, other users' dirs) is root's and read-only for the user (other
bits), so e.g. mkdir /home/x is 403 even though the emulator runs as root. Only the user and root
exist (chown to root -> 403 Operation not permitted, to an unknown user -> 400 invalid user).
Absolute symlink targets are stored translated into DIR/S and shown as written; a path whose
resolution leaves DIR/S (a link planted on disk to /etc, ../ climbing) does not exist (404).
Real-server quirks kept on purpose: ops/download counts the file's base64 text against
max_ops_file_size (so about 3/4 of it is the real limit: 413 "Command output exceeded buffer
limit."); ops/view defaults to size=5 MiB and 400s if that is above max_ops_file_size; `file`
on a missing path is a 200 "cannot open `...' (No such file or directory)"; ops/rm is always
recursive; ops/upload silently overwrites; transfer/rm answers 200. The download object of
transfer/download is served only once its job shows COMPLETED; transfer/upload with fileSize 0
is a 400 (zero-byte files go through ops/upload). The command timeout (408) is checked while
checksum, ls -R, rm -r, compress and extract run.

Jobs: state is computed from timestamps (no thread per job); one timer thread starts work at
delay/2. Simulated (default): the output file (default <workingDirectory>/slurm-<id>.out, stderr
to the same file unless standardError) gets the text of each `echo ` line (quotes stripped);
`exit N` (N != 0) -> FAILED, exitCode N, "emulated failure: exit N" in the error file. With
--exec-jobs the script runs under /bin/bash (cwd = mapped workingDirectory, env = request env +
HOME/USER/SLURM_JOB_ID, at most 4 at once, killed after 60 s -> TIMEOUT). The scripts themselves
are not sandboxed: absolute paths in them are host paths.

Version variants: 2.4.2 -> transferDirectives keys snake_case, integer jobIds; 2.3.1 -> presigned
URLs at the top level of the transfer response (partsUploadUrls, completeUploadUrl, maxPartSize,
downloadUrl), upload body {path: DIR, fileName, fileSize}, integer jobIds, status.state a list.

Test controls (no auth, not logged, not faulted)
  GET  /_emulator/log[?since=T]  [{method, path, query, time (monotonic at arrival), status,
                                 service (status|filesystem|compute|auth|s3)}] of API requests,
                                 oldest first, the last 200000; an entry is recorded before its
                                 response is sent. `time` is CLOCK_MONOTONIC (std::chrono::
                                 steady_clock in a C++ test on the same machine).
  POST /_emulator/log/clear
  POST /_emulator/faults   one rule per call:
         {"match": "/path/prefix", "method": "GET"?, "status": 503?, "retry_after": "1"?,
          "count": 1, "delay": seconds?, "body": str|obj?, "content_type": str?, "drop": bool?,
          "truncate": N?}
           (status -> answer it instead of serving; delay only -> sleep, then serve; drop ->
            close the connection without answering; truncate -> serve, but reset the connection
            after N bytes of the body: S3 GETs only)
         {"token": "garbage"|"html"|"500", "count": N}   next N token responses broken
         {"expire_tokens": true}                        every token issued so far is expired
         {"job_fail": true, "count": N}                  next N submitted jobs FAIL (exit 1;
                                                         transfer jobs too: no success line)
         Rules apply to every route but /_emulator/ (token and S3 routes included), match the
         raw or the lower-cased path, first matching rule wins; faulted requests are logged.
  GET  /_emulator/faults            POST /_emulator/faults/clear
  GET  /_emulator/stats             {token_requests, requests, jobs}
  GET|POST /_emulator/config        {job_delay, token_ttl, min_token_ttl, max_ops_file_size,
                                     max_part_size, s3_ttl, command_timeout, api_version,
                                     exec_jobs, verbose, transfer_failure_state, require_account}
  POST /_emulator/token [{"ttl": S}] mint a token without going through /auth/token
  GET  /_emulator/help              this text
"""

import argparse
import base64
import collections
import concurrent.futures
import email.utils
import hashlib
import heapq
import hmac
import http
import itertools
import json
import math
import os
import posixpath
import re
import secrets
import shlex
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tarfile
import threading
import time
import traceback
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_VERSIONS = ("2.5.6", "2.4.2", "2.3.1")
FS_PATHS = ("/home", "/scratch")
UID, GID = "1000", "1000"
DEFAULT_ACCOUNT = "proj01"
MAX_JSON_BODY = 16 << 20
MAX_DRAIN = 64 << 20
MAX_FAULT_DELAY = 60.0
EXEC_TIMEOUT = 60.0
LOG_MAX = 200000  # entries kept by /_emulator/log (about 80 MB at most)
CHUNK = 1 << 20
JOB_ID_BASE = 100000
S3_REGION = "us-east-1"
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT")


# ------------------------------------------------------------------------------------ config
class Config:
    """Start-up options; the fields in RUNTIME can also be changed by POST /_emulator/config."""

    RUNTIME = {
        "job_delay": ("float", 0.0), "token_ttl": ("int", 1), "min_token_ttl": ("int", 0),
        "max_ops_file_size": ("int", 1), "max_part_size": ("int", 1), "s3_ttl": ("int", 1),
        "command_timeout": ("float", 0.001), "api_version": ("version", None),
        "exec_jobs": ("bool", None), "verbose": ("bool", None),
        "transfer_failure_state": ("failstate", None), "require_account": ("bool", None),
    }

    def __init__(self):
        self.root = None
        self.systems = []
        self.user = "fireuser"
        self.client_id = "asyncfs-client"
        self.client_secret = "asyncfs-secret"
        self.token_ttl = 300
        self.min_token_ttl = 30
        self.job_delay = 1.0
        self.max_ops_file_size = 5242880
        self.max_part_size = 1073741824
        self.s3_ttl = 3600
        self.api_version = "2.5.6"
        self.exec_jobs = False
        self.command_timeout = 5.0
        self.transfer_failure_state = "FAILED"
        self.require_account = False
        self.verbose = False
        self.port = 0

    @property
    def group(self):
        return self.user

    def runtime_view(self):
        return {k: getattr(self, k) for k in self.RUNTIME}

    def update(self, changes):
        """Validates every knob first, so a bad request changes nothing."""
        if not isinstance(changes, dict):
            raise ValueError("expected a JSON object")
        parsed = {}
        for key, value in changes.items():
            if key not in self.RUNTIME:
                raise ValueError("unknown setting %r (known: %s)" % (key, ", ".join(self.RUNTIME)))
            kind, minimum = self.RUNTIME[key]
            if kind in ("float", "int"):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError("%s must be a number" % key)
                value = float(value) if kind == "float" else int(value)
                if value < minimum:
                    raise ValueError("%s must be >= %s" % (key, minimum))
            elif kind == "bool":
                if not isinstance(value, bool):
                    raise ValueError("%s must be true or false" % key)
            elif kind == "version":
                if value not in API_VERSIONS:
                    raise ValueError("api_version must be one of %s" % ", ".join(API_VERSIONS))
            elif kind == "failstate":
                if value not in ("FAILED", "COMPLETED"):
                    raise ValueError("transfer_failure_state must be FAILED or COMPLETED")
            parsed[key] = value
        for key, value in parsed.items():
            setattr(self, key, value)


CFG = Config()
_json_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(obj):
    return _json_encode(obj).encode("utf-8")


def v_job_id(job_id):
    # Job IDs became strings in 2.5.0 (PBS arrays); 2.4.x and older sent integers.
    return int(job_id) if CFG.api_version in ("2.4.2", "2.3.1") else str(job_id)


def utc_iso(ts=None):
    ts = time.time() if ts is None else ts
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%06dZ" % int((ts % 1) * 1e6)


def log_date(ts=None):
    # What `$(date -u)` prints in the real job scripts' logs.
    return time.strftime("%a %b %e %H:%M:%S UTC %Y", time.gmtime(ts))


_date_cache = [0, ""]


def http_date():
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[1] = email.utils.formatdate(now, usegmt=True)
        _date_cache[0] = now
    return _date_cache[1]


# ------------------------------------------------------------------------------------ errors
class ApiError(Exception):
    """A FirecREST error response (ApiResponseError body)."""

    def __init__(self, status, message, error_type="error", data=None, headers=()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.data = data
        self.headers = headers


class S3Error(Exception):
    MESSAGES = {
        "NoSuchKey": (404, "The specified key does not exist."),
        "NoSuchUpload": (404, "The specified multipart upload does not exist. The upload ID may be "
                              "invalid, or the upload may have been aborted or completed."),
        "InvalidPart": (400, "One or more of the specified parts could not be found.  The part may "
                             "not have been uploaded, or the specified entity tag may not match "
                             "the part's entity tag."),
        "InvalidPartOrder": (400, "The list of parts was not in ascending order. Parts must be "
                                  "ordered by part number."),
        "MalformedXML": (400, "The XML you provided was not well-formed or did not validate "
                              "against our published schema."),
        "AccessDenied": (403, "Access Denied"),
        "SignatureDoesNotMatch": (403, "The request signature we calculated does not match the "
                                       "signature you provided. Check your key and signing "
                                       "method."),
        "InvalidRange": (416, "The requested range is not satisfiable"),
        "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
        "InvalidRequest": (400, "Invalid Request"),
    }

    def __init__(self, code, message=None, headers=()):
        status, default = self.MESSAGES[code]
        super().__init__(message or default)
        self.code = code
        self.status = status
        self.message = message or default
        self.headers = headers


def remote_error(stderr, exit_status=1):
    """The real server's mapping of a failed remote command (base_command_error_handling.py)."""
    stderr = stderr.strip()
    message = "Remote process failed with exit status:%d" % exit_status
    if stderr:
        message += " and error message:" + stderr
    if exit_status == 124:
        status = 408
    elif "No such file or directory" in stderr:
        status = 404
    elif "Permission denied" in stderr or "Operation not permitted" in stderr:
        status = 403
    elif "File exists" in stderr or "invalid user" in stderr:
        status = 400
    else:
        status = 500
    return ApiError(status, message)


def err2(fmt, raw, msg, exit_status=1):
    """A coreutils message `fmt % (path as given, reason)` as a remote error."""
    return remote_error(fmt % (raw, msg), exit_status)


def strerror(exc):
    return exc.strerror or str(exc)


def timeout_error():
    # `timeout 5 <cmd>` killed the command: exit 124, no stderr.
    return remote_error("", 124)


def output_limit_error():
    return ApiError(413, "Command output exceeded buffer limit.")


def validation_error(errors):
    """errors: list of (loc tuple, msg, type, input), like pydantic's."""
    fields = []
    text = "%d validation error%s:\n" % (len(errors), "" if len(errors) == 1 else "s")
    for loc, msg, etype, value in errors:
        fields.append({"location": loc[0], "name": loc[1] if len(loc) > 1 else None,
                       "message": msg})
        text += "  %s\n" % ({"type": etype, "loc": loc, "msg": msg, "input": value},)
    # The real server sends str(RequestValidationError).capitalize().
    return ApiError(400, text.capitalize(), "validation", {"fields": fields})


def missing(loc):
    return (loc, "Field required", "missing", None)


# ------------------------------------------------------------------------------------ params
_TRUE = frozenset(("true", "1", "yes", "on", "t", "y"))
_FALSE = frozenset(("false", "0", "no", "off", "f", "n"))
_MISSING = object()


class Params:
    """Query-string access with pydantic-like validation messages."""

    def __init__(self, query):
        self.q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True)) if query else {}
        self.errors = []

    def check(self):
        if self.errors:
            raise validation_error(self.errors)

    def q_str(self, name, required=True, default=None):
        value = self.q.get(name)
        if value is None:
            if required:
                self.errors.append(missing(("query", name)))
            return default
        return value

    def q_bool(self, name, default=False):
        value = self.q.get(name)
        if value is None:
            return default
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        self.errors.append((("query", name), "Input should be a valid boolean, unable to "
                            "interpret input", "bool_parsing", value))
        return default

    def q_int(self, name, default=None):
        value = self.q.get(name)
        if value is None:
            return default
        try:
            return int(value.strip())
        except ValueError:
            self.errors.append((("query", name), "Input should be a valid integer, unable to "
                                "parse string as an integer", "int_parsing", value))
            return default


def snake(name):
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def b_get(body, name, *aliases):
    """A body field by its camelCase name, its snake_case name or an alias (populate_by_name)."""
    for key in (name, snake(name)) + aliases:
        if key in body:
            return body[key]
    return _MISSING


class Body:
    """JSON-body field access with pydantic-like validation messages."""

    def __init__(self, obj, prefix=("body",)):
        self.obj = obj
        self.prefix = prefix
        self.errors = []

    def check(self):
        if self.errors:
            raise validation_error(self.errors)

    def str(self, name, *aliases, required=True, default=None):
        value = b_get(self.obj, name, *aliases)
        if value is _MISSING or (value is None and not required):
            if required:
                self.errors.append(missing(self.prefix + (name,)))
            return default
        if not isinstance(value, str):
            self.errors.append((self.prefix + (name,), "Input should be a valid string",
                                "string_type", value))
            return default
        return value

    def path(self, required=True):
        # The real models: field `path`, validation_alias sourcePath | source_path.
        return self.str("sourcePath", "path", required=required)

    def bool(self, name, default=False):
        value = b_get(self.obj, name)
        if value is _MISSING:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        self.errors.append((self.prefix + (name,), "Input should be a valid boolean",
                            "bool_type", value))
        return default

    def int(self, name, required=False, default=None):
        value = b_get(self.obj, name)
        if value is _MISSING or value is None:
            if required:
                self.errors.append(missing(self.prefix + (name,)))
            return default
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        self.errors.append((self.prefix + (name,), "Input should be a valid integer",
                            "int_parsing", value))
        return default

    def choice(self, name, choices, default):
        value = b_get(self.obj, name)
        if value is _MISSING:
            return default
        if value not in choices:
            names = ["'%s'" % c for c in choices]
            self.errors.append((self.prefix + (name,), "Input should be %s or %s"
                                % (", ".join(names[:-1]), names[-1]), "enum", value))
            return default
        return value


# ------------------------------------------------------------------------------------ state
_lock = threading.Lock()
_log = collections.deque(maxlen=LOG_MAX)  # (method, path, query, time, status, service)
_stats = {"requests": 0, "token_requests": 0, "jobs": 0}
_faults = []  # rule dicts, see add_fault
_token_faults = []  # [kind, remaining]
_job_fail = [0]


def add_fault(spec):
    if not isinstance(spec, dict):
        raise ValueError("expected a JSON object")
    count = spec.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError("count must be a positive integer")
    if "token" in spec:
        if spec["token"] not in ("garbage", "html", "500"):
            raise ValueError("token must be garbage, html or 500")
        with _lock:
            _token_faults.append([spec["token"], count])
        return
    if spec.get("expire_tokens"):
        TOKENS.expire_all()
        return
    if spec.get("job_fail"):
        with _lock:
            _job_fail[0] += count
        return
    match = spec.get("match")
    if not isinstance(match, str) or not match.startswith("/"):
        raise ValueError("a fault rule needs a \"match\" path prefix starting with /")
    status = spec.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)
                               or not 100 <= status <= 599):
        raise ValueError("status must be an HTTP status code")
    delay = spec.get("delay", 0)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
        raise ValueError("delay must be a non-negative number")
    truncate = spec.get("truncate")
    if truncate is not None and (isinstance(truncate, bool) or not isinstance(truncate, int)
                                 or truncate < 0):
        raise ValueError("truncate must be a non-negative integer")
    if status is None and not delay and not spec.get("drop") and truncate is None:
        raise ValueError("a fault rule needs a status, a delay, drop or truncate")
    method = spec.get("method")
    rule = {
        "match": match, "method": method.upper() if isinstance(method, str) else None,
        "status": status, "retry_after": spec.get("retry_after"), "count": count,
        "delay": min(float(delay), MAX_FAULT_DELAY), "body": spec.get("body"),
        "content_type": spec.get("content_type"), "drop": bool(spec.get("drop")),
        "truncate": truncate,
    }
    with _lock:
        _faults.append(rule)


def take_fault(method, path, lowered):
    with _lock:
        for i, rule in enumerate(_faults):
            if rule["method"] and rule["method"] != method:
                continue
            if not (path.startswith(rule["match"]) or lowered.startswith(rule["match"])):
                continue
            rule["count"] -= 1
            if rule["count"] <= 0:
                del _faults[i]
            return dict(rule)
    return None


def take_token_fault():
    with _lock:
        if not _token_faults:
            return None
        entry = _token_faults[0]
        entry[1] -= 1
        if entry[1] <= 0:
            _token_faults.pop(0)
        return entry[0]


def take_job_fail():
    with _lock:
        if _job_fail[0] > 0:
            _job_fail[0] -= 1
            return True
    return False


# ------------------------------------------------------------------------------------ tokens
def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


class Tokens:
    """JWT-like HS256 tokens signed with a per-process random key."""

    def __init__(self):
        self.key = secrets.token_bytes(32)
        self.serial = itertools.count(1)
        self.last = 0
        self.expired_upto = 0
        self.cache = {}  # token -> (exp, jti, user): skips HMAC and JSON on every request

    def issue(self, ttl):
        now = int(time.time())
        jti = next(self.serial)
        self.last = max(self.last, jti)
        header = {"alg": "HS256", "typ": "JWT", "kid": "firecrest-emulator"}
        payload = {"exp": now + ttl, "iat": now, "jti": str(jti), "iss": "firecrest-emulator",
                   "typ": "Bearer", "azp": CFG.client_id, "sub": CFG.user,
                   "preferred_username": CFG.user, "scope": "profile email"}
        signing = b64url(dumps(header)) + b"." + b64url(dumps(payload))
        sig = b64url(hmac.new(self.key, signing, hashlib.sha256).digest())
        return (signing + b"." + sig).decode()

    def expire_all(self):
        self.expired_upto = self.last

    def verify(self, token):
        """Returns the username or raises the real server's 401."""
        entry = self.cache.get(token)
        if entry is None:
            parts = token.encode("ascii", "replace").split(b".")
            try:
                if len(parts) != 3:
                    raise ValueError("not three parts")
                signing = parts[0] + b"." + parts[1]
                expected = b64url(hmac.new(self.key, signing, hashlib.sha256).digest())
                if not hmac.compare_digest(expected, parts[2]):
                    raise ValueError("bad signature")
                payload = json.loads(b64url_decode(parts[1]))
                entry = (int(payload["exp"]), int(payload["jti"]),
                         payload.get("preferred_username") or payload.get("sub"))
            except (ValueError, KeyError, TypeError):
                raise ApiError(401, "Access token is invalid.")
            if len(self.cache) > 10000:
                self.cache.clear()
            self.cache[token] = entry
        exp, jti, user = entry
        now = time.time()
        if jti <= self.expired_upto or exp <= now:
            raise ApiError(401, "Access token expired")
        if exp - now < CFG.min_token_ttl:
            raise ApiError(401, "Access token expires too soon (less than %ds remaining)."
                           % CFG.min_token_ttl)
        return user


TOKENS = Tokens()


# ------------------------------------------------------------------------------------ filesystem
class System:
    def __init__(self, name):
        self.name = name
        self.base = os.path.realpath(os.path.join(CFG.root, name))
        self.prefix = self.base + "/"

    # -- mapping ----------------------------------------------------------------------------
    def local(self, norm):
        return self.base if norm == "/" else self.base + norm

    def inside(self, real):
        return real == self.base or real.startswith(self.prefix)

    def remote_of(self, real):
        return real[len(self.base):] or "/"

    def resolve(self, norm):
        """The real local path of remote `norm`, following every symlink (non-strict, like
        realpath), or None when resolution leaves DIR/S: then the path does not exist for the
        client. Only the part below the system directory is walked, which keeps stat cheap."""
        cur = self.base
        todo = [p for p in reversed(norm.split("/")) if p]
        hops = 0
        exists = True
        while todo:
            part = todo.pop()
            if part == ".":
                continue
            if part == "..":
                if cur == self.base:
                    return None
                cur = cur[:cur.rfind("/")]
                continue
            nxt = cur + "/" + part
            if not exists:
                cur = nxt
                continue
            try:
                st = os.lstat(nxt)
            except OSError:
                exists = False
                cur = nxt
                continue
            if not stat.S_ISLNK(st.st_mode):
                cur = nxt
                continue
            hops += 1
            if hops > 40:
                return None
            try:
                target = os.readlink(nxt)
            except OSError:
                return None
            if target.startswith("/"):
                if target == self.base or target.startswith(self.prefix):
                    cur = self.base
                    target = target[len(self.base):]
                else:
                    return None  # a link to a host path outside DIR/S
            todo.extend(p for p in reversed(target.split("/")) if p)
        return cur

    def lresolve(self, norm):
        """Like resolve, but the last component is not followed (lstat semantics)."""
        parent, name = posixpath.split(norm)
        real = self.resolve(parent)
        if real is None:
            return None
        return real + "/" + name if name else real

    def link_target_remote(self, target):
        # Absolute targets are stored translated into DIR/S so that following them stays inside
        # the emulated tree; show them as the client wrote them.
        if target == self.base or target.startswith(self.prefix):
            return target[len(self.base):] or "/"
        return target

    def link_target_local(self, target):
        if target.startswith("/"):
            return self.local(norm_remote(target))
        return target

    # -- ownership and permissions ----------------------------------------------------------
    def owned(self, remote):
        for d in USER_DIRS:
            if remote == d or remote.startswith(d + "/"):
                return True
        return False

    def may(self, real, bit, st=None):
        """Permission check for the emulated user: everything under /home/<user> and
        /scratch/<user> is the user's (owner bits), everything else is root's (other bits). The
        emulator usually runs as root, where the kernel alone would allow everything."""
        if st is None:
            try:
                st = os.stat(real)
            except OSError:
                return True  # the operation itself will report the error
        shift = 6 if self.owned(self.remote_of(real)) else 0
        return bool(st.st_mode & ({"r": 4, "w": 2, "x": 1}[bit] << shift))

    def ids(self, remote, numeric):
        if self.owned(remote):
            return (UID, GID) if numeric else (CFG.user, CFG.group)
        return ("0", "0") if numeric else ("root", "root")


SYSTEMS = {}
USER_DIRS = ()


def norm_remote(path):
    norm = posixpath.normpath(path)
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    return norm


def check_path(system, raw):
    """The real server's ServiceAvailabilityDependency checks: absolute, under a filesystem.
    Normalising first also rejects `..` traversal out of the filesystems."""
    if "\x00" in raw:
        raise ApiError(400, "The provided path (%s) is not valid." % raw.replace("\x00", "\\0"))
    if not raw.startswith("/"):
        raise ApiError(400, "The provided path (%s) is not an absolute path." % raw)
    norm = norm_remote(raw)
    for fs in FS_PATHS:
        if norm == fs or norm.startswith(fs + "/"):
            return norm
    raise ApiError(400, "The provided path (%s) does not match any of the defined filesystem "
                        "paths for the requested system (%s)." % (norm, system.name))


def ls_time(ts):
    # ls --time-style='+%Y-%m-%dT%H:%M:%S': server-local time, no zone.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(ts))


def file_entry(system, name, remote, st, link_target, numeric):
    mode = stat.filemode(st.st_mode)
    user, group = system.ids(remote, numeric)
    size = st.st_size
    if link_target is not None:
        size = len(link_target.encode("utf-8", "surrogateescape"))
    return {"name": name, "type": mode[0], "linkTarget": link_target, "user": user,
            "group": group, "permissions": mode[1:], "lastModified": ls_time(st.st_mtime),
            "size": str(size)}


def entry_len(entry):
    # Length of the `ls -l` line the real server would have read, for the output cap.
    n = 40 + len(entry["user"]) + len(entry["group"]) + len(entry["size"]) + len(entry["name"])
    if entry["linkTarget"] is not None:
        n += 6 + len(entry["linkTarget"])
    return n


class Deadline:
    """The real ops run under `timeout <commandExecution>`: past it the request is a 408."""

    def __init__(self, seconds=None):
        self.end = time.monotonic() + (CFG.command_timeout if seconds is None else seconds)
        self.n = 0

    def check(self):
        self.n += 1
        if self.n & 63 == 0 and time.monotonic() > self.end:
            raise timeout_error()

    def check_now(self):
        if time.monotonic() > self.end:
            raise timeout_error()


def ls_one(system, raw, norm, numeric):
    """`ls -l -d`: the entry of the path itself, named as given (mkdir/chmod/chown/symlink)."""
    local = system.lresolve(norm)
    try:
        if local is None:
            raise FileNotFoundError(2, "No such file or directory")
        st = os.lstat(local)
    except OSError as exc:
        raise err2("ls: cannot access '%s': %s", raw, strerror(exc), 2)
    target = None
    if stat.S_ISLNK(st.st_mode):
        target = system.link_target_remote(os.readlink(local))
    return file_entry(system, raw, norm, st, target, numeric)


def op_ls(system, raw, norm, show_hidden, numeric, recursive, deref):
    deadline = Deadline()
    limit = CFG.max_ops_file_size
    # `ls -l link` shows the link itself; `ls -l link/` and `ls -L` list what it points to.
    follow = deref or raw.endswith("/")
    local = system.resolve(norm) if follow else system.lresolve(norm)
    try:
        if local is None:
            raise FileNotFoundError(2, "No such file or directory")
        st = os.stat(local) if follow else os.lstat(local)
    except OSError as exc:
        raise err2("ls: cannot access '%s': %s", raw, strerror(exc), 2)
    if not stat.S_ISDIR(st.st_mode):
        if raw.endswith("/"):
            raise err2("ls: cannot access '%s': %s", raw, "Not a directory", 2)
        target = None
        if stat.S_ISLNK(st.st_mode):
            target = system.link_target_remote(os.readlink(local))
        return [file_entry(system, raw, norm, st, target, numeric)]
    out = []
    total = [0]
    errors = []
    seen = set()
    display_root = raw.rstrip("/") or "/"

    def walk(dlocal, dremote, prefix, dst):
        # `ls -R` order: a directory's entries, then each subdirectory's, depth first. The
        # real server names nested entries relative to the listed directory.
        if (dst.st_dev, dst.st_ino) in seen:
            return
        seen.add((dst.st_dev, dst.st_ino))
        shown = display_root + ("/" + prefix.rstrip("/") if prefix else "")
        if not (system.may(dlocal, "r", dst) and system.may(dlocal, "x", dst)):
            errors.append("ls: cannot open directory '%s': Permission denied" % shown)
            return
        try:
            names = os.listdir(dlocal)
        except OSError as exc:
            errors.append("ls: cannot open directory '%s': %s" % (shown, strerror(exc)))
            return
        if not show_hidden:
            names = [n for n in names if not n.startswith(".")]
        names.sort()
        subdirs = []
        for name in names:
            deadline.check()
            plocal = dlocal + "/" + name
            premote = dremote.rstrip("/") + "/" + name
            try:
                lst = os.lstat(plocal)
            except OSError:
                continue  # vanished meanwhile
            est, target = lst, None
            if stat.S_ISLNK(lst.st_mode):
                if deref:
                    real = system.resolve(premote)
                    try:
                        if real is None:
                            raise FileNotFoundError(2, "No such file or directory")
                        est = os.stat(real)
                    except OSError as exc:
                        errors.append("ls: cannot access '%s/%s': %s"
                                      % (shown, name, strerror(exc)))
                        continue
                else:
                    target = system.link_target_remote(os.readlink(plocal))
            entry = file_entry(system, prefix + name, premote, est, target, numeric)
            out.append(entry)
            total[0] += entry_len(entry)
            if total[0] >= limit:
                raise output_limit_error()
            if recursive and stat.S_ISDIR(est.st_mode):
                subdirs.append((system.resolve(premote) if deref else plocal, premote,
                                prefix + name + "/", est))
        for sub in subdirs:
            if sub[0] is not None:
                walk(*sub)

    walk(local, norm, "", st)
    if errors:
        # ls exits non-zero; the real server turns that into an error for the whole listing.
        raise remote_error("\n".join(errors), 2)
    return out


def op_stat(system, raw, norm, deref):
    local = system.resolve(norm) if deref else system.lresolve(norm)
    try:
        if local is None:
            raise FileNotFoundError(2, "No such file or directory")
        st = os.stat(local) if deref else os.lstat(local)
        if not system.may(os.path.dirname(local), "x"):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise err2("stat: cannot statx '%s': %s", raw, strerror(exc))
    uid, gid = system.ids(system.remote_of(local), True)
    size = st.st_size
    if stat.S_ISLNK(st.st_mode):
        size = len(system.link_target_remote(os.readlink(local)).encode("utf-8",
                                                                          "surrogateescape"))
    return {"mode": st.st_mode, "ino": st.st_ino, "dev": st.st_dev, "nlink": st.st_nlink,
            "uid": int(uid), "gid": int(gid), "size": size, "atime": int(st.st_atime),
            "mtime": int(st.st_mtime), "ctime": int(st.st_ctime)}


def open_for_read(system, raw, norm, open_fmt, dir_msg):
    """Opens a remote file for reading as a command would: returns (file object, size)."""
    local = system.resolve(norm)
    try:
        if local is None:
            raise FileNotFoundError(2, "No such file or directory")
        st = os.stat(local)
        if not system.may(local, "r", st):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise err2(open_fmt, raw, strerror(exc))
    if stat.S_ISDIR(st.st_mode):
        raise remote_error(dir_msg)
    if not stat.S_ISREG(st.st_mode):
        # Devices, fifos, sockets: read as empty rather than block a request thread.
        return open(os.devnull, "rb"), 0
    try:
        return open(local, "rb"), st.st_size
    except OSError as exc:
        raise err2(open_fmt, raw, strerror(exc))


def lines_end_offset(f, n):
    """Offset just after the first n lines (or EOF)."""
    if n <= 0:
        return 0
    f.seek(0)
    pos = 0
    while True:
        data = f.read(CHUNK)
        if not data:
            return pos
        start = 0
        while True:
            i = data.find(b"\n", start)
            if i < 0:
                break
            n -= 1
            if n == 0:
                return pos + i + 1
            start = i + 1
        pos += len(data)


def last_lines_start(f, size, n):
    """Offset where the last n lines start (a final line without newline counts as a line)."""
    if n <= 0:
        return size
    pos = size
    first = True
    while pos > 0:
        block = min(65536, pos)
        pos -= block
        f.seek(pos)
        data = f.read(block)
        end = len(data)
        if first:
            first = False
            if data.endswith(b"\n"):
                end -= 1
        while True:
            i = data.rfind(b"\n", 0, end)
            if i < 0:
                break
            n -= 1
            if n == 0:
                return pos + i + 1
            end = i
    return 0


def read_range(f, start, end):
    f.seek(start)
    return f.read(max(0, end - start))


def head_tail(system, raw, norm, file_bytes, lines, skip, is_head):
    """head/tail as the real server runs them: `--bytes='-N'`, `--lines='+N'`, etc."""
    cmd = "head" if is_head else "tail"
    sign = ("-" if is_head else "+") if skip else ""
    spec = None
    if file_bytes:  # 0 is falsy in the real server too: the option is then omitted
        spec = ("bytes", sign + str(file_bytes))
    if lines:
        spec = ("lines", sign + str(lines))  # (both given is rejected before we get here)
    unit, text = spec if spec else ("lines", "10")
    # Parse the option as coreutils does (a negative number with skip is "--5": invalid).
    mode, number = None, None
    m = re.fullmatch(r"([-+]?)(\d+)", text)
    if m:
        number = int(m.group(2))
        if is_head:
            mode = "allbut" if m.group(1) == "-" else ("first" if m.group(1) == "" else None)
        else:
            mode = "from" if m.group(1) == "+" else "last"
    if mode is None:
        raise remote_error("%s: invalid number of %s: '%s'" % (cmd, unit, text))
    f, size = open_for_read(system, raw, norm, cmd + ": cannot open '%s' for reading: %s",
                            "%s: error reading '%s': Is a directory" % (cmd, raw))
    with f:
        if unit == "bytes":
            if mode == "first":
                start, end = 0, min(size, number)
            elif mode == "allbut":
                start, end = 0, max(0, size - number)
            elif mode == "last":
                start, end = max(0, size - number), size
            else:
                start, end = min(size, max(0, number - 1)), size
        else:
            if mode == "first":
                start, end = 0, lines_end_offset(f, number)
            elif mode == "allbut":
                start, end = 0, last_lines_start(f, size, number)
            elif mode == "last":
                start, end = last_lines_start(f, size, number), size
            else:
                start, end = lines_end_offset(f, max(0, number - 1)), size
        if end - start >= CFG.max_ops_file_size:
            raise output_limit_error()
        data = read_range(f, start, end)
    return data.decode("utf-8", "replace")


def op_view(system, raw, norm, size, offset):
    """`dd bs=size skip=offset//size count=2`, decoded, then sliced (dd_command.py)."""
    skip = offset // size
    f, fsize = open_for_read(system, raw, norm, "dd: failed to open '%s': %s",
                             "dd: error reading '%s': Is a directory" % raw)
    with f:
        start = min(fsize, skip * size)
        end = min(fsize, start + 2 * size)
        if end - start >= CFG.max_ops_file_size:
            raise output_limit_error()
        text = read_range(f, start, end).decode("utf-8", "replace")
    i = offset % size
    return text[i:i + size]  # the real server slices the decoded text, not the bytes


def op_download(system, raw, norm):
    f, size = open_for_read(system, raw, norm, "base64: %s: %s",
                            "base64: read error: Is a directory")
    limit = CFG.max_ops_file_size
    with f:
        # The server reads the file as `base64 --wrap=0` output, capped at max_ops_file_size:
        # the effective limit is about 3/4 of it (see the reference, section 2.3.1).
        if 4 * ((size + 2) // 3) >= limit:
            raise output_limit_error()
        if size > limit:
            raise ApiError(413, "File to download is too large.")
        return f.read()


def op_checksum(system, raw, norm):
    f, size = open_for_read(system, raw, norm, "sha256sum: %s: %s",
                            "sha256sum: %s: Is a directory" % raw)
    deadline = Deadline()
    h = hashlib.sha256()
    with f:
        while True:
            data = f.read(CHUNK)
            if not data:
                break
            h.update(data)
            deadline.check_now()
    return {"algorithm": "SHA256", "checksum": h.hexdigest()}


_MAGIC = [
    (b"\x1f\x8b", "gzip compressed data"),
    (b"BZh", "bzip2 compressed data"),
    (b"\xfd7zXZ\x00", "XZ compressed data"),
    (b"\x7fELF", "ELF"),
    (b"\x89PNG\r\n\x1a\n", "PNG image data"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "Zip archive data"),
]


def op_file(system, raw, norm):
    """`file -b`: like the real command it answers 200 even for a missing file."""
    local = system.lresolve(norm)
    try:
        if local is None:
            raise FileNotFoundError(2, "No such file or directory")
        st = os.lstat(local)
    except OSError as exc:
        return "cannot open `%s' (%s)" % (raw, strerror(exc))
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        return "symbolic link to %s" % system.link_target_remote(os.readlink(local))
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "fifo (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character special"
    if stat.S_ISBLK(mode):
        return "block special"
    if not system.may(local, "r", st):
        return "regular file, no read permission"
    if st.st_size == 0:
        return "empty"
    with open(local, "rb") as f:
        head = f.read(65536)
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if len(head) > 262 and head[257:262] == b"ustar":
        return "POSIX tar archive"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte sequence cut at the end of the sample is still text.
        text = head[:exc.start].decode("utf-8") if exc.start >= len(head) - 3 and \
            len(head) == 65536 else None
    if text is None or any(c in text for c in "\x00\x01\x02\x03\x04\x05\x06\x0e\x0f\x7f"):
        return "data"
    kind = "ASCII text" if text.isascii() else "Unicode text, UTF-8 text"
    if text.startswith("#!"):
        words = text[2:].split("\n", 1)[0].split()
        prog = os.path.basename(words[-1] if words and words[0].endswith("env") else
                                (words[0] if words else ""))
        names = {"bash": "Bourne-Again shell script", "sh": "POSIX shell script",
                 "python3": "Python script", "python": "Python script"}
        kind = "%s, %s executable" % (names.get(prog, "a %s script" % prog), kind)
    if "\r\n" in text:
        kind += ", with CRLF line terminators"
    elif "\n" not in text:
        kind += ", with no line terminators"
    return kind


def parent_for_create(system, raw, norm, fmt):
    """The real local path for a new entry `norm`, after the parent-directory checks."""
    local = system.lresolve(norm)
    try:
        if local is None:
            raise FileNotFoundError(2, "No such file or directory")
        parent = os.path.dirname(local)
        pst = os.stat(parent)
        if not stat.S_ISDIR(pst.st_mode):
            raise NotADirectoryError(20, "Not a directory")
        if not (system.may(parent, "w", pst) and system.may(parent, "x", pst)):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise err2(fmt, raw, strerror(exc))
    return local


def op_mkdir(system, raw, norm, parent):
    fmt = "mkdir: cannot create directory '%s': %s"
    if parent:
        # mkdir -p: create every missing component, each under a writable parent.
        cur = "/"
        for part in norm.split("/")[1:]:
            cur = posixpath.join(cur, part)
            real = system.resolve(cur)
            try:
                if real is None:
                    raise FileNotFoundError(2, "No such file or directory")
                st = os.stat(real)
                if not stat.S_ISDIR(st.st_mode):
                    raise (FileExistsError(17, "File exists") if cur == norm
                           else NotADirectoryError(20, "Not a directory"))
                continue
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise err2(fmt, raw, strerror(exc))
            local = parent_for_create(system, raw, cur, fmt)
            try:
                os.mkdir(local, 0o777)
            except FileExistsError:
                pass
            except OSError as exc:
                raise err2(fmt, raw, strerror(exc))
    else:
        local = parent_for_create(system, raw, norm, fmt)
        try:
            os.mkdir(local, 0o777)
        except OSError as exc:
            raise err2(fmt, raw, strerror(exc))
    return ls_one(system, raw, norm, False)


def remove_tree(path, deadline, on_error):
    """rm -r: children first; `deadline` may abort it (408 for ops/rm)."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        on_error(path, exc)
        return
    if stat.S_ISDIR(st.st_mode):
        try:
            names = os.listdir(path)
        except OSError as exc:
            on_error(path, exc)
            return
        for name in names:
            if deadline:
                deadline.check()
            remove_tree(path + "/" + name, deadline, on_error)
        try:
            os.rmdir(path)
        except OSError as exc:
            on_error(path, exc)
    else:
        try:
            os.unlink(path)
        except OSError as exc:
            on_error(path, exc)


def do_rm(system, raw, norm, deadline, cmd="rm"):
    """rm -r --interactive=never (ops) / rm -R (transfer job). Returns stderr text or ''."""
    last = raw.rstrip("/").rsplit("/", 1)[-1]
    if last in (".", ".."):
        return "%s: refusing to remove '.' or '..' directory: skipping '%s'" % (cmd, raw)
    local = system.lresolve(norm)
    try:
        if local is None:
            raise FileNotFoundError(2, "No such file or directory")
        os.lstat(local)
        parent = os.path.dirname(local)
        if not (system.may(parent, "w") and system.may(parent, "x")):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        return "%s: cannot remove '%s': %s" % (cmd, raw, strerror(exc))
    errors = []

    def on_error(path, exc):
        shown = raw.rstrip("/") + system.remote_of(path)[len(norm):] if path != local else raw
        errors.append("%s: cannot remove '%s': %s" % (cmd, shown, strerror(exc)))

    remove_tree(local, deadline, on_error)
    return "\n".join(errors)


_CLAUSE = re.compile(r"([ugoa]*)((?:[-+=](?:[rwxXst]*|[ugo]))+)$")
_ACTION = re.compile(r"([-+=])([rwxXst]*|[ugo])")


def apply_mode(text, cur, is_dir):
    """chmod MODE: octal, or symbolic clauses like u+x,go-w. None if invalid."""
    if re.fullmatch(r"[0-7]{1,4}", text):
        new = int(text, 8)
        if is_dir and len(text) <= 3:
            new |= cur & (stat.S_ISUID | stat.S_ISGID)  # GNU chmod keeps these on directories
        return new
    mode = stat.S_IMODE(cur)
    shifts = {"u": 6, "g": 3, "o": 0}
    for clause in text.split(","):
        m = _CLAUSE.match(clause)
        if not m:
            return None
        targets = "ugo" if (m.group(1) == "" or "a" in m.group(1)) else m.group(1)
        for op, perms in _ACTION.findall(m.group(2)):
            bits = 0
            for t in targets:
                shift = shifts[t]
                for p in perms:
                    if p == "r":
                        bits |= 4 << shift
                    elif p == "w":
                        bits |= 2 << shift
                    elif p == "x" or (p == "X" and (is_dir or mode & 0o111)):
                        bits |= 1 << shift
                    elif p == "s" and t in "ug":
                        bits |= stat.S_ISUID if t == "u" else stat.S_ISGID
                    elif p == "t":
                        bits |= stat.S_ISVTX
                    elif p in "ugo":
                        bits |= ((mode >> shifts[p]) & 7) << shift
            if op == "+":
                mode |= bits
            elif op == "-":
                mode &= ~bits
            else:
                for t in targets:
                    mode &= ~(7 << shifts[t])
                mode |= bits
    return mode


def op_chmod(system, raw, norm, mode_text):
    local = system.resolve(norm)  # chmod follows symlinks
    try:
        if local is None:
            raise FileNotFoundError(2, "No such file or directory")
        st = os.stat(local)
    except OSError as exc:
        raise err2("chmod: cannot access '%s': %s", raw, strerror(exc))
    new = apply_mode(mode_text, st.st_mode, stat.S_ISDIR(st.st_mode))
    if new is None:
        raise remote_error("chmod: invalid mode: '%s'" % mode_text)
    if not system.owned(system.remote_of(local)):
        raise err2("chmod: changing permissions of '%s': %s", raw, "Operation not permitted")
    try:
        os.chmod(local, new)
    except OSError as exc:
        raise err2("chmod: changing permissions of '%s': %s", raw, strerror(exc))
    return ls_one(system, raw, norm, False)


def op_chown(system, raw, norm, owner, group):
    """Only the user and root exist; the user may only 'change' ownership to itself."""
    spec = "%s:%s" % (owner, group)
    if owner and owner not in (CFG.user, UID, "root", "0"):
        raise remote_error("chown: invalid user: '%s'" % spec)
    if group and group not in (CFG.group, GID, "root", "0"):
        raise remote_error("chown: invalid group: '%s'" % spec)
    local = system.resolve(norm)
    try:
        if local is None:
            raise FileNotFoundError(2, "No such file or directory")
        os.stat(local)
    except OSError as exc:
        raise err2("chown: cannot access '%s': %s", raw, strerror(exc))
    if owner or group:
        mine = system.owned(system.remote_of(local))
        if (not mine or (owner and owner not in (CFG.user, UID))
                or (group and group not in (CFG.group, GID))):
            raise err2("chown: changing ownership of '%s': %s", raw, "Operation not permitted")
    return ls_one(system, raw, norm, False)


def op_symlink(system, target_raw, target_norm, link_raw, link_norm):
    fmt = "ln: failed to create symbolic link '%s': %s"
    shown, local_norm = link_raw, link_norm
    real = system.resolve(link_norm)
    if real is not None and os.path.isdir(real):
        # ln -s target existing_dir: the link goes inside the directory.
        name = posixpath.basename(target_norm)
        shown = link_raw.rstrip("/") + "/" + name
        local_norm = posixpath.join(system.remote_of(real), name)
    local = parent_for_create(system, shown, local_norm, fmt)
    try:
        os.symlink(system.link_target_local(target_raw), local)
    except OSError as exc:
        raise err2(fmt, shown, strerror(exc))
    return ls_one(system, link_raw, link_norm, False)


class _Tar(tarfile.TarFile):
    def chown(self, *args, **kwargs):
        pass  # never give extracted files to other host users (the emulator often runs as root)


TAR_WRITE = {"none": "w", "gzip": "w:gz", "bzip2": "w:bz2", "xz": "w:xz"}
TAR_READ = {"none": "r:", "gzip": "r:gz", "bzip2": "r:bz2", "xz": "r:xz"}
TAR_FLAG = {"none": "", "gzip": "z", "bzip2": "j", "xz": "J"}
COMPRESSIONS = ("none", "bzip2", "gzip", "xz")


def do_compress(system, src_raw, src_norm, tgt_raw, tgt_norm, pattern, deref, compression,
                deadline):
    """tar -c[zjJ]vf target -C dirname(src) basename(src); with matchPattern, like the real
    server: `cd dirname(src); find . -type f -regex P | tar -czvf target --files-from -`.
    Raises ApiError (remote-style) on failure."""
    src_dir = posixpath.dirname(src_norm)
    src_name = posixpath.basename(src_norm)
    tgt_local = system.lresolve(tgt_norm)
    try:
        if tgt_local is None:
            raise FileNotFoundError(2, "No such file or directory")
        parent = os.path.dirname(tgt_local)
        pst = os.stat(parent)
        if not (system.may(parent, "w", pst) and system.may(parent, "x", pst)):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        child = " (child)" if compression != "none" else ""
        raise remote_error("tar%s: %s: Cannot open: %s\ntar%s: Error is not recoverable: exiting "
                           "now" % (child, tgt_raw, strerror(exc), child), 2)
    members = []
    if pattern:
        try:
            regex = re.compile(pattern)
        except re.error:
            raise remote_error("find: Invalid regular expression", 1)
        base_local = system.resolve(src_dir)
        if base_local is None or not os.path.isdir(base_local):
            raise remote_error("bash: line 1: cd: %s: No such file or directory" % src_dir, 1)
        for dirpath, dirnames, filenames in os.walk(base_local):
            dirnames.sort()
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                rel = "./" + os.path.relpath(full, base_local)
                if regex.fullmatch(rel) and os.path.isfile(full) and not os.path.islink(full):
                    members.append((full, rel))
        compression = "gzip"  # the real pattern command always uses -z
    else:
        src_local = system.lresolve(src_norm)
        try:
            if src_local is None:
                raise FileNotFoundError(2, "No such file or directory")
            os.lstat(src_local)
        except OSError as exc:
            raise remote_error("tar: %s: Cannot stat: %s\ntar: Exiting with failure status due "
                               "to previous errors" % (src_name, strerror(exc)), 2)
        members.append((src_local, src_name))

    def tar_filter(info):
        if deadline:
            deadline.check()
        info.uname, info.gname = CFG.user, CFG.group
        info.uid, info.gid = int(UID), int(GID)
        if info.issym():
            info.linkname = system.link_target_remote(info.linkname)
        return info

    try:
        with _Tar.open(tgt_local, TAR_WRITE[compression], dereference=deref) as tar:
            for full, arcname in members:
                tar.add(full, arcname=arcname, recursive=True, filter=tar_filter)
    except ApiError:
        try:
            os.unlink(tgt_local)
        except OSError:
            pass
        raise
    except OSError as exc:
        raise remote_error("tar: %s: %s\ntar: Exiting with failure status due to previous "
                           "errors" % (exc.filename or src_name, strerror(exc)), 2)


def do_extract(system, src_raw, src_norm, tgt_raw, tgt_norm, compression, deadline):
    """tar -x[zjJ]f src -C target, refusing members that would land outside the target (the
    stdlib here predates tarfile's extraction filters)."""
    src_local = system.resolve(src_norm)
    try:
        if src_local is None:
            raise FileNotFoundError(2, "No such file or directory")
        st = os.stat(src_local)
        if not system.may(src_local, "r", st):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise remote_error("tar: %s: Cannot open: %s\ntar: Error is not recoverable: exiting now"
                           % (src_raw, strerror(exc)), 2)
    tgt_local = system.resolve(tgt_norm)
    try:
        if tgt_local is None:
            raise FileNotFoundError(2, "No such file or directory")
        tst = os.stat(tgt_local)
        if not stat.S_ISDIR(tst.st_mode):
            raise NotADirectoryError(20, "Not a directory")
        if not (system.may(tgt_local, "w", tst) and system.may(tgt_local, "x", tst)):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise remote_error("tar: %s: Cannot open: %s\ntar: Error is not recoverable: exiting now"
                           % (tgt_raw, strerror(exc)), 2)
    bad_format = {
        "gzip": "gzip: stdin: not in gzip format\ntar: Child returned status 1\ntar: Error is "
                "not recoverable: exiting now",
        "bzip2": "bzip2: (stdin) is not a bzip2 file.\ntar: Child returned status 2\ntar: Error "
                 "is not recoverable: exiting now",
        "xz": "xz: (stdin): File format not recognized\ntar: Child returned status 1\ntar: Error "
              "is not recoverable: exiting now",
        "none": "tar: This does not look like a tar archive\ntar: Exiting with failure status due "
                "to previous errors",
    }[compression]
    tgt_remote = system.remote_of(tgt_local)
    try:
        with _Tar.open(src_local, TAR_READ[compression]) as tar:
            for member in tar:
                if deadline:
                    deadline.check()
                name = posixpath.normpath(member.name.lstrip("/"))
                if name in (".", "") or name == ".." or name.startswith("../"):
                    continue
                if member.isdev() or member.isfifo():
                    continue
                dest_remote = posixpath.join(tgt_remote, name)
                parent_real = system.resolve(posixpath.dirname(dest_remote))
                if parent_real is None or not (parent_real == tgt_local or
                                               parent_real.startswith(tgt_local + "/")):
                    continue  # through a symlink out of the target
                if member.issym():
                    link = member.linkname
                    if link.startswith("/"):
                        link = system.link_target_local(link)
                    else:
                        depth = posixpath.dirname(dest_remote).count("/")
                        ups = 0
                        for part in link.split("/"):
                            ups += -1 if part == ".." else (1 if part not in ("", ".") else 0)
                            if -ups > depth - 1:
                                break
                        else:
                            ups = None
                        if ups is not None:
                            continue  # a relative link climbing out of the emulated tree
                    member.linkname = link
                elif member.islnk():
                    linked = posixpath.normpath(member.linkname.lstrip("/"))
                    if linked == ".." or linked.startswith("../"):
                        continue
                    member.linkname = linked
                member.name = name
                tar.extract(member, tgt_local, set_attrs=not member.issym())
    except (tarfile.ReadError, tarfile.CompressionError, EOFError):
        raise remote_error(bad_format, 2)
    except OSError as exc:
        raise remote_error("tar: %s: %s\ntar: Exiting with failure status due to previous "
                           "errors" % (exc.filename or src_raw, strerror(exc)), 2)


def simulate_script(script):
    """Output lines of a simulated batch script: the text of its `echo` lines, up to `exit N`."""
    out = []
    for line in script.splitlines():
        s = line.strip()
        m = re.match(r"exit(?:\s+(-?\d+))?\s*(?:;|$|#)", s)
        if m:
            return out, int(m.group(1) or 0) & 0xFF
        if s == "echo" or s.startswith("echo "):
            text = s[5:]
            try:
                out.append(" ".join(shlex.split(text)))
            except ValueError:
                out.append(text.strip("'\""))
    return out, 0


# ------------------------------------------------------------------------------------ scheduler
class Timer:
    """One thread for every timed event (job starts, timeouts): jobs cost no threads."""

    def __init__(self):
        self.heap = []
        self.cond = threading.Condition()
        self.seq = itertools.count()
        threading.Thread(target=self.loop, name="timer", daemon=True).start()

    def at(self, when, fn):
        with self.cond:
            heapq.heappush(self.heap, (when, next(self.seq), fn))
            self.cond.notify()

    def loop(self):
        while True:
            with self.cond:
                while not self.heap or self.heap[0][0] > time.monotonic():
                    wait = self.heap[0][0] - time.monotonic() if self.heap else None
                    self.cond.wait(wait)
                _, _, fn = heapq.heappop(self.heap)
            try:
                fn()
            except Exception:
                traceback.print_exc()


TIMER = None
ALL_CPUS = None  # the CPUs allowed before --pin-cpu, for --exec-jobs children
TRANSFER_POOL = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="transfer")
EXEC_POOL = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="exec")
_jobs = {}  # (system name, job id str) -> Job
_job_ids = itertools.count(JOB_ID_BASE + 1)
_procs = {}  # job id -> Popen, to kill them at exit


class Job:
    def __init__(self, system, kind, name, wd, script, stdout, stderr, stdin, env, account,
                 partition, reservation=None, constraints=None, action=None):
        self.id = next(_job_ids)
        self.system = system
        self.kind = kind  # "batch" | "transfer"
        self.name = name
        self.wd = wd
        self.script = script
        self.stdout = stdout
        self.stderr = stderr
        self.stdin = stdin
        self.env = env
        self.account = account or DEFAULT_ACCOUNT
        self.partition = partition or "normal"
        self.reservation = reservation
        self.constraints = constraints
        self.action = action
        self.lock = threading.Lock()
        self.submit_wall = time.time()
        self.submit_mono = time.monotonic()
        self.delay = CFG.job_delay
        self.start_at = self.submit_mono + self.delay / 2
        self.due = self.submit_mono + self.delay
        self.queued = kind == "batch" and CFG.exec_jobs  # waits for a worker before RUNNING
        self.fail_injected = take_job_fail()
        self.dispatched = False
        self.started_mono = None
        self.result = None  # (state, exit code, signal)
        self.finished_mono = None
        self.cancelled_mono = None
        self.waiting = None  # ingress job: the Upload it waits for
        self.ingress_copy = None  # ingress job: finishes it once the upload is complete
        self.out = []  # ingress job: output log lines written so far
        self.proc = None

    def poke(self, now):
        if not self.dispatched and now >= self.start_at and self.cancelled_mono is None:
            dispatch(self)

    def state(self, now):
        # Computed from timestamps on every read: PENDING until delay/2, then RUNNING, and the
        # result only once `delay` has passed (and the work has finished).
        if self.cancelled_mono is not None:
            return "CANCELLED"
        if self.result is not None and now >= self.finished_mono and now >= self.due:
            return self.result[0]
        if self.started_mono is not None or (not self.queued and now >= self.start_at):
            return "RUNNING"
        return "PENDING"

    def wall(self, mono):
        return int(self.submit_wall + (mono - self.submit_mono))

    def model(self, now):
        self.poke(now)
        state = self.state(now)
        exit_code, signal_no, reason = 0, None, "None"
        start = end = None
        if state == "PENDING":
            reason = "Priority"
        else:
            start_mono = self.started_mono if self.started_mono is not None else self.start_at
            start = self.wall(start_mono)
            if state == "CANCELLED":
                end = self.wall(self.cancelled_mono)
                start = min(start, end)
            elif state != "RUNNING":
                end = self.wall(max(self.finished_mono, self.due))
                exit_code, signal_no = self.result[1], self.result[2]
                if state == "FAILED":
                    reason = "NonZeroExitCode"
        elapsed = 0 if start is None else max(0, (end if end is not None else int(time.time()))
                                              - start)
        return {
            "jobId": v_job_id(self.id), "name": self.name,
            "status": {"state": [state] if CFG.api_version == "2.3.1" else state,
                       "stateReason": reason, "exitCode": exit_code,
                       "interruptSignal": signal_no},
            "time": {"elapsed": elapsed, "start": start, "end": end, "suspended": 0,
                     "limit": 60},
            "tasks": [], "account": self.account,
            "allocationNodes": 1, "cluster": self.system.name, "group": CFG.group,
            "nodes": "" if state == "PENDING" else "nid%06d" % (self.id % 1000 + 1),
            "partition": self.partition, "priority": 1000,
            "killRequestUser": CFG.user if state == "CANCELLED" else None,
            "user": CFG.user, "workingDirectory": self.wd,
        }

    def finish(self, state, exit_code=0, signal_no=None):
        with self.lock:
            if self.result is None and self.cancelled_mono is None:
                self.result = (state, exit_code, signal_no)
                self.finished_mono = time.monotonic()
            self.waiting = None


def dispatch(job):
    with job.lock:
        if job.dispatched or job.cancelled_mono is not None:
            return
        job.dispatched = True
    if job.fail_injected:
        job.started_mono = time.monotonic()
        if job.stdout != job.stderr:
            write_remote(job.system, job.stdout, "")
        write_remote(job.system, job.stderr, "emulated failure\n", append=True)
        job.finish("FAILED", 1)
    elif job.kind == "batch" and CFG.exec_jobs:
        EXEC_POOL.submit(guard(run_exec), job)
    elif job.kind == "batch":
        run_simulated(job)
    else:
        TRANSFER_POOL.submit(guard(job.action), job)


def guard(fn):
    def wrapper(job):
        try:
            fn(job)
        except Exception:
            traceback.print_exc()
            job.finish("FAILED", 1)
    return wrapper


def schedule(job):
    with _lock:
        _jobs[(job.system.name, str(job.id))] = job
        _stats["jobs"] += 1
    if job.delay <= 0 and not job.queued:
        dispatch(job)
    else:
        TIMER.at(job.start_at, lambda: job.poke(time.monotonic()))


def find_job(system, job_id):
    with _lock:
        return _jobs.get((system.name, job_id))


def write_remote(system, remote, text, append=False):
    """Writes a job log/output file; quietly does nothing where the file cannot be created."""
    if not remote or not remote.startswith("/"):
        return False
    local = system.lresolve(norm_remote(remote))
    if local is None:
        return False
    try:
        with open(local, "a" if append else "w", encoding="utf-8", errors="replace") as f:
            f.write(text)
        return True
    except OSError:
        return False


def run_simulated(job):
    job.started_mono = time.monotonic()
    lines, code = simulate_script(job.script or "")
    wd_local = job.system.resolve(norm_remote(job.wd)) if job.wd.startswith("/") else None
    if wd_local is None or not os.path.isdir(wd_local):
        job.finish("FAILED", 1)  # slurmstepd cannot chdir or create the output file
        return
    ok = write_remote(job.system, job.stdout, "".join(line + "\n" for line in lines))
    if job.stderr != job.stdout:
        write_remote(job.system, job.stderr, "")
    if not ok:
        job.finish("FAILED", 1)
    elif code != 0:
        write_remote(job.system, job.stderr, "emulated failure: exit %d\n" % code, append=True)
        job.finish("FAILED", code)
    else:
        job.finish("COMPLETED", 0)


def run_exec(job):
    """--exec-jobs: the script really runs under /bin/bash, at most 60 s."""
    if ALL_CPUS:
        os.sched_setaffinity(0, ALL_CPUS)  # this worker thread only: jobs get every CPU
    system = job.system
    wd_local = system.resolve(norm_remote(job.wd)) if job.wd.startswith("/") else None
    if wd_local is None or not os.path.isdir(wd_local):
        job.started_mono = time.monotonic()
        job.finish("FAILED", 1)
        return
    if job.cancelled_mono is not None:
        return
    script_file = os.path.join(CFG.root, ".jobs", "%d.sh" % job.id)
    with open(script_file, "w") as f:
        f.write(job.script or "")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
           "HOME": system.local("/home/" + CFG.user), "USER": CFG.user, "LOGNAME": CFG.user,
           "SLURM_JOB_ID": str(job.id), "SLURM_JOBID": str(job.id),
           "SLURM_JOB_NAME": job.name, "SLURM_SUBMIT_DIR": wd_local,
           "SLURM_CLUSTER_NAME": system.name, "FIRECREST_EMULATOR_ROOT": system.base}
    env.update(job.env)
    files = []
    try:
        def open_out(remote):
            local = system.lresolve(norm_remote(remote))
            if local is None:
                raise FileNotFoundError(2, "No such file or directory")
            f = open(local, "wb")  # Slurm's default --open-mode=truncate
            files.append(f)
            return f
        out = open_out(job.stdout)
        err = out if job.stderr == job.stdout else open_out(job.stderr)
        stdin_local = os.devnull
        if job.stdin and job.stdin != "/dev/null":
            stdin_local = system.resolve(norm_remote(job.stdin)) or os.devnull
        inp = open(stdin_local, "rb")
        files.append(inp)
        proc = subprocess.Popen(["/bin/bash", script_file], cwd=wd_local, env=env, stdin=inp,
                                stdout=out, stderr=err, start_new_session=True)
    except OSError:
        for f in files:
            f.close()
        job.started_mono = time.monotonic()
        job.finish("FAILED", 1)
        return
    with job.lock:
        job.proc = proc
        job.started_mono = time.monotonic()
        cancelled = job.cancelled_mono is not None
    _procs[job.id] = proc
    if cancelled:
        kill_group(proc)
    try:
        code = proc.wait(timeout=EXEC_TIMEOUT)
        if code < 0:
            job.finish("FAILED", 0, -code)
        else:
            job.finish("COMPLETED" if code == 0 else "FAILED", code)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        proc.wait()
        job.finish("TIMEOUT", 0, int(signal.SIGKILL))
    finally:
        _procs.pop(job.id, None)
        for f in files:
            f.close()
        try:
            os.unlink(script_file)
        except OSError:
            pass


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass


def cancel_job(job):
    with job.lock:
        now = time.monotonic()
        if job.state(now) in TERMINAL:
            return
        job.cancelled_mono = now
        job.waiting = None
        proc = job.proc
    if proc is not None:
        kill_group(proc)


# ------------------------------------------------------------------------------------ transfers
DIRECTIVES = ["#SBATCH --nodes=1", "#SBATCH --time=0-00:15:00"]


def job_directives():
    return DIRECTIVES + (["#SBATCH --account={account}"] if CFG.require_account else [])


def transfer_job(system, name, account, script_body, action):
    """A job like the real JobHelper builds: in /home/<user>, logs left behind there."""
    if CFG.require_account and not account:
        raise ApiError(400, "Account parameter is required on this system.")
    wd = "/home/" + CFG.user
    unique = uuid.uuid4()
    out = "%s/.f7t_file_handling_job_%s.log" % (wd, unique)
    err = "%s/.f7t_file_handling_job_error_%s.log" % (wd, unique)
    directives = "\n".join(job_directives()).replace("{account}", account or "")
    script = "#!/bin/bash\n\n%s\n\n%s\n" % (directives, script_body)
    return Job(system, "transfer", name, wd, script, out, err, "/dev/null",
               {"PATH": "/bin:/usr/bin/:/usr/local/bin/"}, account, None, action=action)


def transfer_job_json(job):
    return {"jobId": v_job_id(job.id), "system": job.system.name, "workingDirectory": job.wd,
            "logs": {"outputLog": job.stdout, "errorLog": job.stderr}}


def run_transfer(job, title, work):
    """Writes the job logs like the real scripts do: a header line, then the success line, or
    the command's stderr and `Unable to ... exit code:1 error: ` in the error log."""
    job.started_mono = time.monotonic()
    out = ["%s %s (id:%d)" % (log_date(), title, job.id)]
    err = []
    ok = work(out, err)
    write_remote(job.system, job.stdout, "".join(line + "\n" for line in out))
    write_remote(job.system, job.stderr, "".join(line + "\n" for line in err))
    if ok or CFG.transfer_failure_state == "COMPLETED":
        job.finish("COMPLETED", 0)
    else:
        job.finish("FAILED", 1)


def failure_line(what):
    return "%s Unable to %s files exit code:1 error: " % (log_date(), what)


def stderr_of(exc):
    # The ops implementations raise ApiError whose message embeds the command's stderr.
    return exc.message.split("error message:", 1)[-1]


def act_move(system, src_raw, src_norm, dst_raw, dst_norm):
    def work(out, err):
        src = system.lresolve(src_norm)
        try:
            if src is None:
                raise FileNotFoundError(2, "No such file or directory")
            sst = os.lstat(src)
        except OSError as exc:
            err += ["mv: cannot stat '%s': %s" % (src_raw, strerror(exc)), failure_line("move")]
            return False
        dst, shown = system.lresolve(dst_norm), dst_raw
        real_dst = system.resolve(dst_norm)
        if real_dst is not None and os.path.isdir(real_dst) and real_dst != src:
            # mv a existing_dir: into the directory.
            dst = real_dst + "/" + os.path.basename(src)
            shown = dst_raw.rstrip("/") + "/" + os.path.basename(src)
        try:
            if dst is None:
                raise FileNotFoundError(2, "No such file or directory")
            for d in (os.path.dirname(src), os.path.dirname(dst)):
                if not (system.may(d, "w") and system.may(d, "x")):
                    raise PermissionError(13, "Permission denied")
            if stat.S_ISDIR(sst.st_mode) and (dst + "/").startswith(src + "/"):
                err += ["mv: cannot move '%s' to a subdirectory of itself, '%s'"
                        % (src_raw, shown), failure_line("move")]
                return False
            try:
                os.rename(src, dst)
            except OSError as exc:
                if exc.errno != 18:  # EXDEV
                    raise
                shutil.move(src, dst)
        except OSError as exc:
            err += ["mv: cannot move '%s' to '%s': %s" % (src_raw, shown, strerror(exc)),
                    failure_line("move")]
            return False
        out.append("%s Files were successfully moved." % log_date())
        return True
    return lambda job: run_transfer(job, "Move Files Job", work)


def act_copy(system, src_raw, src_norm, dst_raw, dst_norm, deref):
    def work(out, err):
        src = system.resolve(src_norm) if deref else system.lresolve(src_norm)
        try:
            if src is None:
                raise FileNotFoundError(2, "No such file or directory")
            sst = os.stat(src) if deref else os.lstat(src)
            if not system.may(src, "r", sst):
                raise PermissionError(13, "Permission denied")
        except OSError as exc:
            err += ["cp: cannot stat '%s': %s" % (src_raw, strerror(exc)), failure_line("copy")]
            return False
        dst, shown = system.lresolve(dst_norm), dst_raw
        real_dst = system.resolve(dst_norm)
        name = posixpath.basename(src_norm)
        if real_dst is not None and os.path.isdir(real_dst):
            dst = real_dst + "/" + name
            shown = dst_raw.rstrip("/") + "/" + name
        try:
            if dst is None:
                raise FileNotFoundError(2, "No such file or directory")
            parent = os.path.dirname(dst)
            if not (system.may(parent, "w") and system.may(parent, "x")):
                raise PermissionError(13, "Permission denied")
            if stat.S_ISDIR(sst.st_mode):
                real_src = os.path.realpath(src)
                if (os.path.realpath(parent) + "/").startswith(real_src + "/"):
                    err += ["cp: cannot copy a directory, '%s', into itself, '%s'"
                            % (src_raw, shown), failure_line("copy")]
                    return False

                def outside(dirpath, names):
                    # -L follows links: never follow one out of the emulated tree.
                    return [n for n in names if os.path.islink(os.path.join(dirpath, n)) and
                            not system.inside(os.path.realpath(os.path.join(dirpath, n)))]
                shutil.copytree(src, dst, symlinks=not deref, dirs_exist_ok=True,
                                ignore=outside if deref else None)
            elif stat.S_ISLNK(sst.st_mode):
                if os.path.lexists(dst):
                    os.unlink(dst)
                os.symlink(os.readlink(src), dst)
            else:
                if os.path.islink(dst):
                    os.unlink(dst)  # --force: replace, do not write through
                shutil.copy2(src, dst)
        except (OSError, shutil.Error) as exc:
            msg = strerror(exc) if isinstance(exc, OSError) else str(exc)
            err += ["cp: cannot create regular file '%s': %s" % (shown, msg),
                    failure_line("copy")]
            return False
        out.append("%s Files were successfully copied." % log_date())
        return True
    return lambda job: run_transfer(job, "Copy Files Job", work)


def act_delete(system, raw, norm):
    def work(out, err):
        text = do_rm(system, raw, norm, None)
        if text:
            err += [text, failure_line("delete")]
            return False
        out.append("%s Files were successfully deleted." % log_date())
        return True
    return lambda job: run_transfer(job, "Delete Files Job", work)


def act_compress(system, src_raw, src_norm, tgt_raw, tgt_norm, pattern, deref, compression):
    def work(out, err):
        try:
            do_compress(system, src_raw, src_norm, tgt_raw, tgt_norm, pattern, deref,
                        compression, None)
        except ApiError as exc:
            err += [stderr_of(exc), failure_line("compress")]
            return False
        out.append("%s Files were successfully compressed." % log_date())
        return True
    return lambda job: run_transfer(job, "Compress Files Job", work)


def act_extract(system, src_raw, src_norm, tgt_raw, tgt_norm, compression):
    def work(out, err):
        try:
            do_extract(system, src_raw, src_norm, tgt_raw, tgt_norm, compression, None)
        except ApiError as exc:
            err += [stderr_of(exc), failure_line("extract")]
            return False
        out.append("%s Files were successfully extracted." % log_date())
        return True
    return lambda job: run_transfer(job, "Extract Files Job", work)


# -- S3 staging area --------------------------------------------------------------------------
class Upload:
    def __init__(self, bucket, key, nparts, max_part):
        self.id = uuid.uuid4().hex
        self.bucket = bucket
        self.key = key
        self.nparts = nparts
        self.max_part = max_part
        self.parts = {}  # number -> (path, etag hex)
        self.completed = False
        self.object = None
        self.job = None
        self.dir = os.path.join(CFG.root, ".s3", "parts", self.id)


class S3Object:
    def __init__(self, path, size, etag, job=None):
        self.path = path
        self.size = size
        self.etag = etag
        self.mtime = time.time()
        self.job = job  # egress objects are visible only once this job shows COMPLETED


_uploads = {}  # upload id -> Upload
_objects = {}  # (bucket, key) -> S3Object
S3_KEY = secrets.token_bytes(32)


def s3_object_path():
    # Objects and parts live on disk, not in memory: they can be gigabytes.
    return os.path.join(CFG.root, ".s3", "objects", uuid.uuid4().hex)


def s3_sign(method, path, amz_date, expires, upload_id, part):
    msg = "\n".join((method, path, amz_date, str(expires), upload_id or "", str(part or "")))
    return hmac.new(S3_KEY, msg.encode("utf-8"), hashlib.sha256).hexdigest()


def presign(method, bucket, key, upload_id=None, part=None):
    ttl = CFG.s3_ttl
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = "/s3/%s/%s" % (bucket, key)
    params = []
    if part is not None:
        params.append(("partNumber", str(part)))
    if upload_id is not None:
        params.append(("uploadId", upload_id))
    params += [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
               ("X-Amz-Credential", "emulator/%s/%s/s3/aws4_request" % (amz_date[:8], S3_REGION)),
               ("X-Amz-Date", amz_date), ("X-Amz-Expires", str(ttl)),
               ("X-Amz-SignedHeaders", "host"),
               ("X-Amz-Signature", s3_sign(method, path, amz_date, ttl, upload_id, part))]
    return "http://127.0.0.1:%d%s?%s" % (CFG.port, urllib.parse.quote(path),
                                         urllib.parse.urlencode(params))


def s3_verify(method, path, q):
    sig = q.get("X-Amz-Signature")
    amz_date = q.get("X-Amz-Date", "")
    expires = q.get("X-Amz-Expires", "")
    if not sig:
        raise S3Error("AccessDenied")
    sign_method = "GET" if method == "HEAD" else method
    expected = s3_sign(sign_method, path, amz_date, expires, q.get("uploadId"),
                       q.get("partNumber"))
    if not hmac.compare_digest(expected, sig):
        raise S3Error("SignatureDoesNotMatch")
    try:
        issued = time.mktime(time.strptime(amz_date, "%Y%m%dT%H%M%SZ")) - time.timezone
        expired = time.time() > issued + int(expires)
    except ValueError:
        expired = True
    if expired:
        raise S3Error("AccessDenied", "Request has expired")


def act_ingress(system, target_raw, target_norm, upload):
    """The IngressFileTransfer job: fails at once on a directory target, then waits for the
    multipart upload to complete and copies the object to the target."""
    def start(job):
        job.started_mono = time.monotonic()
        write_remote(system, job.stderr, "")  # Slurm creates both log files at job start
        job.out = ["%s Ingress File Transfer Job (id:%d)" % (log_date(), job.id)]
        real = system.resolve(target_norm)
        if real is not None and os.path.isdir(real):
            # The real script prints an unset variable here, hence the double space.
            write_remote(system, job.stdout, "".join(line + "\n" for line in job.out))
            write_remote(system, job.stderr, "%s targetPath must point to a file path:  is a "
                                             "directory.\n" % log_date())
            job.finish("FAILED", 3)
            return
        job.out.append("%s Waiting till file to tranfer is available..." % log_date())
        write_remote(system, job.stdout, "".join(line + "\n" for line in job.out))
        with job.lock:
            ready = upload.completed
            if not ready:
                job.waiting = upload
        if ready:
            copy(job)
        else:
            TIMER.at(time.monotonic() + CFG.s3_ttl, lambda: expire(job))

    def expire(job):
        if job.waiting is not None and job.result is None:
            write_remote(system, job.stderr, "%s File to transfer not found in S3 bucket\n"
                         % log_date(), append=True)
            job.finish("FAILED", 1)

    def copy(job):
        if job.cancelled_mono is not None or job.result is not None:
            return
        obj = upload.object
        out = job.out + ["%s File to transfer found in S3 bucket" % log_date(),
                         "%s Downloading file to: %s ..." % (log_date(), target_raw)]
        local = system.lresolve(target_norm)
        try:
            if local is None:
                raise FileNotFoundError(2, "No such file or directory")
            parent = os.path.dirname(local)
            if not (system.may(parent, "w") and system.may(parent, "x")):
                raise PermissionError(13, "Permission denied")
            if os.path.lexists(local) and not os.path.isdir(local):
                os.unlink(local)
            shutil.copyfile(obj.path, local)
        except OSError as exc:
            write_remote(system, job.stdout, "".join(line + "\n" for line in out))
            write_remote(system, job.stderr, "%s: %s\n%s Download failed: part 1\n"
                         % (target_raw, strerror(exc), log_date()))
            job.finish("FAILED", 1)
            return
        finally:
            drop_object(upload)  # nobody can read an upload's object: free the disk now
        out += ["%s Received %d bytes" % (log_date(), obj.size),
                "%s File was successfully downloaded (size: %0.3fMB)"
                % (log_date(), obj.size / 1024.0 / 1024.0)]
        write_remote(system, job.stdout, "".join(line + "\n" for line in out))
        job.finish("COMPLETED", 0)

    return start, copy


def drop_object(upload):
    with _lock:
        obj = _objects.pop((upload.bucket, upload.key), None)
    if obj is not None:
        try:
            os.unlink(obj.path)
        except OSError:
            pass


def act_egress(system, src_raw, src_norm, bucket, key):
    """The OutgressFileTransfer job: puts the file into the staging bucket as a multipart
    upload; the presigned GET URL works once this job has completed."""
    def work(job):
        job.started_mono = time.monotonic()
        max_part = CFG.max_part_size
        out = ["%s Upload File Job (id:%d)" % (log_date(), job.id)]
        src = system.resolve(src_norm)
        size = None
        if src is not None and os.path.isfile(src) and system.may(src, "r"):
            size = os.path.getsize(src)
        nparts = math.ceil(size / max_part) if size else 0
        out.append("Uploading file:%s into %d chunks" % (src_raw, nparts))
        if size is None:
            write_remote(system, job.stdout, "".join(line + "\n" for line in out))
            write_remote(system, job.stderr, "file_not_found\n")
            job.finish("FAILED", 34)
            return
        out.append("[INFO] Creating temporary folder:tmp/%s/" % uuid.uuid1())
        if nparts == 0:
            # S3 cannot complete a multipart upload without parts: the real job fails too.
            out.append("[INFO] Parts upload completed.")
            out.append("[INFO] Signaling multipart upload completion")
            write_remote(system, job.stdout, "".join(line + "\n" for line in out))
            write_remote(system, job.stderr, "curl: (22) The requested URL returned error: 400\n")
            job.finish("FAILED", 70)
            return
        path = s3_object_path()
        digests = []
        try:
            with open(src, "rb") as fin, open(path, "wb") as fout:
                for part in range(1, nparts + 1):
                    out.append("[INFO] Uploading part %d..." % part)
                    h = hashlib.md5()
                    left = max_part
                    while left > 0:
                        data = fin.read(min(CHUNK, left))
                        if not data:
                            break
                        fout.write(data)
                        h.update(data)
                        left -= len(data)
                    digests.append(h.digest())
        except OSError as exc:
            write_remote(system, job.stdout, "".join(line + "\n" for line in out))
            write_remote(system, job.stderr, "error_generating_part_file %s\n" % strerror(exc))
            job.finish("FAILED", 1)
            return
        out.append("[INFO] Parts upload completed.")
        for i, d in enumerate(digests, 1):
            out.append("[INFO] Upload of part %d succeded with ETag: %s" % (i, d.hex()))
        out.append("[INFO] Signaling multipart upload completion")
        etag = "%s-%d" % (hashlib.md5(b"".join(digests)).hexdigest(), len(digests))
        with _lock:
            _objects[(bucket, key)] = S3Object(path, os.path.getsize(path), etag, job)
        out.append("[INFO] Multipart file upload successfully completed")
        write_remote(system, job.stdout, "".join(line + "\n" for line in out))
        write_remote(system, job.stderr, "")
        job.finish("COMPLETED", 0)
    return work


# ------------------------------------------------------------------------------------ HTTP
REASONS = {c.value: c.phrase for c in http.HTTPStatus}
MAX_HEADERS = 100


class Headers(dict):
    """Request headers keyed by lower-case name. The stdlib parses them with the email package,
    which was about a third of the cost of a whole request."""

    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)

    def __getitem__(self, name):
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name):
        return dict.__contains__(self, name.lower())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "firecrest-emulator/1"
    sys_version = ""
    # Idle keep-alive connections and stalled clients must not pin a thread forever.
    timeout = 60
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        if CFG.verbose:
            sys.stderr.write("%s [%s] %s\n" % (self.address_string(), self.log_date_time_string(),
                                               fmt % args))

    def parse_request(self):
        """BaseHTTPRequestHandler.parse_request with a lean header parser; same keep-alive and
        Expect: 100-continue behaviour."""
        self.command = None
        self.request_version = self.default_request_version
        self.close_connection = True
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = line
        words = line.split()
        if len(words) != 3 or not words[2].startswith("HTTP/"):
            self.send_error(400, "Bad request syntax (%r)" % line)
            return False
        command, path, version = words
        try:
            major, minor = (int(x) for x in version[5:].split(".", 1))
        except ValueError:
            self.send_error(400, "Bad request version (%r)" % version)
            return False
        if major != 1:
            self.send_error(505, "Invalid HTTP version (%s)" % version)
            return False
        self.command, self.path, self.request_version = command, path, version
        self.close_connection = minor < 1
        headers = Headers()
        while True:
            raw = self.rfile.readline(65537)
            if len(raw) > 65536 or len(headers) > MAX_HEADERS:
                self.send_error(431, "Request header fields too large")
                return False
            if raw in (b"\r\n", b"\n", b""):
                break
            name, sep, value = raw.decode("iso-8859-1").partition(":")
            if not sep:
                self.send_error(400, "Bad header line")
                return False
            key = name.strip().lower()
            value = value.strip()
            headers[key] = headers[key] + ", " + value if key in headers else value
        self.headers = headers
        conn = headers.get("connection", "").lower()
        if conn == "close":
            self.close_connection = True
        elif conn == "keep-alive":
            self.close_connection = False
        if headers.get("expect", "").lower() == "100-continue" and minor >= 1:
            return self.handle_expect_100()
        return True

    def do_GET(self):
        self.dispatch()

    do_HEAD = do_GET
    do_POST = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET
    do_PATCH = do_GET
    do_OPTIONS = do_GET

    # ------------------------------------------------------------------ plumbing
    def respond(self, status, body=b"", ctype="application/json", headers=(), api=True):
        """Status line, headers and body in one write (keep-alive: always a length)."""
        self.status = status
        head = ["HTTP/1.1 %d %s\r\nServer: firecrest-emulator\r\nDate: %s\r\n"
                % (status, REASONS.get(status, "Unknown"), http_date())]
        if api:
            head.append("F7T-AppVersion: %s\r\nF7T-Timestamp: %r\r\n"
                        % (CFG.api_version, time.time()))
            if self.auth_user:
                head.append("F7T-AuthUsername: %s\r\n" % self.auth_user)
        if ctype and status not in (204, 304):
            head.append("Content-Type: %s\r\n" % ctype)
        for k, v in headers:
            head.append("%s: %s\r\n" % (k, v))
        if status not in (204, 304):
            head.append("Content-Length: %d\r\n" % len(body))
        if self.close_connection:
            head.append("Connection: close\r\n")
        head.append("\r\n")
        data = "".join(head).encode("latin-1", "replace")
        if self.command != "HEAD" and status not in (204, 304):
            data += body
        self.record()
        self.wfile.write(data)

    def record(self):
        """Logs an API request once, before its response leaves: a client that has its answer
        then always finds the request in /_emulator/log and in the stats."""
        entry = self.pending_log
        if entry is None:
            return
        self.pending_log = None
        method, path, query, t0, service, token_route = entry
        with _lock:
            _stats["requests"] += 1
            if token_route:
                _stats["token_requests"] += 1
        _log.append((method, path, query, t0, self.status, service))

    def send_json(self, status, obj, headers=()):
        self.respond(status, dumps(obj), headers=headers)

    def send_api_error(self, exc):
        body = {"errorType": exc.error_type, "message": exc.message, "causedBy": None,
                "data": exc.data, "user": self.auth_user}
        headers = list(exc.headers)
        if exc.status == 401:
            headers.append(("WWW-Authenticate", "Bearer"))
        self.send_json(exc.status, body, headers)

    def body_length(self):
        try:
            return int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return 0

    def has_body(self):
        return self.body_length() > 0 or \
            "chunked" in self.headers.get("Transfer-Encoding", "").lower()

    def body_chunks(self):
        """Yields the request body in pieces (Content-Length or chunked)."""
        self.body_read = True
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("eof in chunked body")
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                while n > 0:
                    data = self.rfile.read(min(n, CHUNK))
                    if not data:
                        raise ConnectionError("eof in chunked body")
                    n -= len(data)
                    yield data
                self.rfile.readline(3)
        else:
            left = self.body_length()
            while left > 0:
                data = self.rfile.read(min(left, CHUNK))
                if not data:
                    raise ConnectionError("eof in body")
                left -= len(data)
                yield data

    def read_body(self, limit):
        parts = []
        total = 0
        for data in self.body_chunks():
            total += len(data)
            if total > limit:
                self.close_connection = True
                raise ApiError(413, "Request body too large.")
            parts.append(data)
        return b"".join(parts)

    def read_json(self):
        data = self.read_body(MAX_JSON_BODY)
        if not data.strip():
            raise validation_error([missing(("body",))])
        try:
            obj = json.loads(data)
        except ValueError as exc:
            raise validation_error([(("body", getattr(exc, "pos", 0)), "JSON decode error",
                                     "json_invalid", {})])
        if not isinstance(obj, dict):
            raise validation_error([(("body",), "Input should be a valid dictionary or object to "
                                     "extract fields from", "model_attributes_type", obj)])
        return obj

    def drain(self):
        """A body nobody read must still be consumed, or the next request on this connection
        would start inside it."""
        if self.body_read or not self.has_body():
            return
        if self.body_length() > MAX_DRAIN:
            self.close_connection = True
            return
        try:
            for _ in self.body_chunks():
                pass
        except (ConnectionError, ValueError, OSError):
            self.close_connection = True

    # ------------------------------------------------------------------ dispatch
    def dispatch(self):
        t0 = time.monotonic()
        self.status = 0
        self.auth_user = None
        self.body_read = False
        self.pending_log = None
        self.truncate_at = None
        target = self.path
        if target.startswith(("http://", "https://")):  # absolute-form request target
            target = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
        raw_path, _, query = target.partition("?")
        try:
            if raw_path.startswith("/_emulator"):
                try:
                    self.control(raw_path, query)
                except (ValueError, ApiError) as exc:
                    self.send_json(400, {"error": str(exc)})
            else:
                lowered = raw_path.lower()
                service = lowered.split("/")[1] if lowered.startswith("/") else ""
                token_route = lowered == "/auth/token" or lowered.endswith(
                    "/protocol/openid-connect/token")
                if token_route:
                    service = "auth"
                self.pending_log = (self.command, raw_path, query, t0, service, token_route)
                try:
                    self.serve(raw_path, lowered, query, token_route)
                finally:
                    self.record()  # requests that never got an answer (status 0)
                    if CFG.verbose:
                        sys.stderr.write("%s %s -> %d (%.1f ms)\n" % (
                            self.command, self.path, self.status,
                            (time.monotonic() - t0) * 1000))
            self.drain()
        except (ConnectionError, socket.timeout, TimeoutError):
            self.close_connection = True

    def serve(self, raw_path, lowered, query, token_route):
        if _faults:
            rule = take_fault(self.command, raw_path, lowered)
            if rule is not None and self.apply_fault(rule):
                return
        try:
            if lowered.startswith("/s3/"):
                self.handle_s3(raw_path, query)
            elif token_route:
                self.handle_token()
            else:
                self.handle_api(lowered, query)
        except ApiError as exc:
            if self.status == 0:
                self.send_api_error(exc)
        except S3Error as exc:
            if self.status == 0:
                self.send_s3_error(exc, raw_path)
        except (ConnectionError, socket.timeout, TimeoutError):
            raise
        except Exception as exc:
            traceback.print_exc()
            if self.status == 0:
                self.close_connection = True
                self.send_api_error(ApiError(500, "Emulator internal error: %r" % (exc,)))

    def reset_connection(self):
        try:
            # Linger 0 turns close() into an RST: the client sees the connection die.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def apply_fault(self, rule):
        """Returns True when the fault answered (or dropped) the request."""
        if rule["delay"]:
            time.sleep(rule["delay"])
        if rule["truncate"] is not None:
            self.truncate_at = rule["truncate"]
        if rule["drop"]:
            self.close_connection = True
            self.record()
            self.reset_connection()
            return True
        if rule["status"] is None:
            return False
        self.drain()
        headers = []
        if rule["retry_after"] is not None:
            headers.append(("Retry-After", str(rule["retry_after"])))
        body = rule["body"]
        ctype = rule["content_type"]
        if body is None:
            body = dumps({"errorType": "error", "message": "Emulated fault: HTTP %d"
                          % rule["status"], "causedBy": None, "data": None, "user": None})
            ctype = ctype or "application/json"
        elif isinstance(body, str):
            body = body.encode("utf-8")
            ctype = ctype or "text/plain; charset=utf-8"
        else:
            body = dumps(body)
            ctype = ctype or "application/json"
        self.respond(rule["status"], body, ctype, headers)
        return True

    # ------------------------------------------------------------------ token endpoint
    def handle_token(self):
        """Keycloak's client-credentials grant, as pyFirecREST's ClientCredentialsAuth uses it."""
        if self.command != "POST":
            return self.respond(405, dumps({"error": "RESTEASY003650: No resource method found "
                                                     "for %s" % self.command}), api=False)
        form = dict(urllib.parse.parse_qsl(self.read_body(1 << 20).decode("utf-8", "replace"),
                                           keep_blank_values=True))
        fault = take_token_fault()
        if fault == "garbage":
            return self.respond(200, b'{"access_token": "unterminated', api=False)
        if fault == "html":
            return self.respond(200, b"<html><head><title>Sign in</title></head><body><form>"
                                     b"</form></body></html>", "text/html; charset=utf-8",
                                api=False)
        if fault == "500":
            return self.respond(500, dumps({"error": "unknown_error"}), api=False)
        client_id = form.get("client_id")
        secret = form.get("client_secret")
        auth = self.headers.get("Authorization", "")
        if auth[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(auth[6:].strip()).decode("utf-8")
                bid, _, bsecret = decoded.partition(":")
                client_id = urllib.parse.unquote_plus(bid)
                secret = urllib.parse.unquote_plus(bsecret)
            except (ValueError, UnicodeDecodeError):
                client_id = secret = None
        grant = form.get("grant_type")
        if not grant:
            return self.respond(400, dumps({"error": "invalid_request", "error_description":
                                            "Missing form parameter: grant_type"}), api=False)
        if client_id != CFG.client_id or secret != CFG.client_secret:
            return self.respond(401, dumps({"error": "invalid_client", "error_description":
                                            "Invalid client or Invalid client credentials"}),
                                api=False)
        if grant != "client_credentials":
            return self.respond(400, dumps({"error": "unsupported_grant_type",
                                            "error_description": "Unsupported grant_type"}),
                                api=False)
        ttl = CFG.token_ttl
        self.respond(200, dumps({"access_token": TOKENS.issue(ttl), "expires_in": ttl,
                                 "refresh_expires_in": 0, "token_type": "Bearer",
                                 "not-before-policy": 0, "scope": "profile email"}),
                     headers=(("Cache-Control", "no-store"), ("Pragma", "no-cache")), api=False)

    # ------------------------------------------------------------------ API routing
    def authenticate(self):
        auth = self.headers.get("Authorization")
        if not auth:
            raise ApiError(401, "Not authenticated")
        scheme, _, token = auth.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Invalid authentication credentials")
        self.auth_user = TOKENS.verify(token.strip())

    def system(self, name):
        system = SYSTEMS.get(name)
        if system is None:
            raise ApiError(404, "System not found")
        return system

    def handle_api(self, lowered, query):
        # Like the real server's lower_case_path middleware: only the path is lower-cased.
        segs = [s for s in urllib.parse.unquote(lowered).split("/") if s]
        route, args = None, ()
        n = len(segs)
        if n >= 2 and segs[0] == "status":
            if n == 2 and segs[1] in ("liveness", "systems"):
                route = ROUTES[segs[1]]
            elif n == 3 and ("status", segs[2]) in ROUTES:
                route, args = ROUTES[("status", segs[2])], (segs[1],)
        elif n == 4 and segs[0] == "filesystem" and segs[2] in ("ops", "transfer"):
            route, args = ROUTES.get((segs[2], segs[3])), (segs[1],)
        elif n >= 3 and segs[0] == "compute" and segs[2] == "jobs":
            if n == 3:
                route, args = ROUTES["jobs"], (segs[1],)
            elif n == 4:
                route, args = ROUTES["job"], (segs[1], segs[3])
            elif n == 5 and ("job", segs[4]) in ROUTES:
                route, args = ROUTES[("job", segs[4])], (segs[1], segs[3])
        if route is None:
            raise ApiError(404, "Not Found")
        fn = route.get(self.command) or (route.get("GET") if self.command == "HEAD" else None)
        if fn is None:
            raise ApiError(405, "Method Not Allowed",
                           headers=(("Allow", ", ".join(sorted(route))),))
        if fn is not r_liveness:
            self.authenticate()
        self.params = Params(query)
        status, payload = fn(self, *args)
        if payload is None:
            self.respond(status, b"")
        elif isinstance(payload, bytes):
            self.respond(status, payload, "application/octet-stream")
        else:
            self.send_json(status, payload)

    # ------------------------------------------------------------------ S3
    def send_s3_error(self, exc, raw_path):
        resource = urllib.parse.unquote(raw_path)[3:]
        bucket, _, key = resource[1:].partition("/")
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s'
                '</Message><Key>%s</Key><BucketName>%s</BucketName><Resource>%s</Resource>'
                '<RequestId>%s</RequestId></Error>'
                % (exc.code, xml_escape(exc.message), xml_escape(key), xml_escape(bucket),
                   xml_escape(resource), uuid.uuid4().hex[:16].upper()))
        self.respond(exc.status, body.encode("utf-8"), "application/xml", exc.headers, api=False)

    def handle_s3(self, raw_path, query):
        path = urllib.parse.unquote(raw_path)
        q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        bucket, _, key = path[4:].partition("/")
        if not bucket or not key:
            raise S3Error("InvalidRequest")
        s3_verify(self.command, path, q)
        upload_id = q.get("uploadId")
        if self.command == "PUT" and "partNumber" in q and upload_id:
            return self.s3_put_part(bucket, key, upload_id, q["partNumber"])
        if self.command == "POST" and upload_id:
            return self.s3_complete(bucket, key, upload_id)
        if self.command in ("GET", "HEAD") and not upload_id:
            return self.s3_get(bucket, key)
        raise S3Error("MethodNotAllowed")

    def s3_put_part(self, bucket, key, upload_id, part):
        with _lock:
            upload = _uploads.get(upload_id)
        if upload is None or (upload.bucket, upload.key) != (bucket, key):
            raise S3Error("NoSuchUpload")
        number = int(part)  # signed, so it is one we issued
        os.makedirs(upload.dir, exist_ok=True)
        tmp = os.path.join(upload.dir, "%d.%s.tmp" % (number, uuid.uuid4().hex[:8]))
        h = hashlib.md5()
        try:
            with open(tmp, "wb") as f:
                for data in self.body_chunks():
                    f.write(data)
                    h.update(data)
            os.replace(tmp, os.path.join(upload.dir, str(number)))
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        with _lock:
            upload.parts[number] = (os.path.join(upload.dir, str(number)), h.hexdigest())
        self.respond(200, b"", None, (("ETag", '"%s"' % h.hexdigest()),), api=False)

    def s3_complete(self, bucket, key, upload_id):
        data = self.read_body(16 << 20)
        with _lock:
            upload = _uploads.get(upload_id)
        if upload is None or (upload.bucket, upload.key) != (bucket, key):
            raise S3Error("NoSuchUpload")
        try:
            root = ET.fromstring(data)
        except ET.ParseError:
            raise S3Error("MalformedXML")
        listed = []
        for part in root.iter():
            if part.tag.split("}")[-1] != "Part":
                continue
            fields = {child.tag.split("}")[-1]: (child.text or "").strip() for child in part}
            try:
                listed.append((int(fields["PartNumber"]), fields.get("ETag", "").strip('"')))
            except (KeyError, ValueError):
                raise S3Error("MalformedXML")
        if not listed:
            raise S3Error("MalformedXML")
        for i in range(1, len(listed)):
            if listed[i][0] <= listed[i - 1][0]:
                raise S3Error("InvalidPartOrder")
        with _lock:
            parts = dict(upload.parts)
        for number, etag in listed:
            if number not in parts or parts[number][1] != etag:
                raise S3Error("InvalidPart")
        with _lock:
            # One completion wins; a second one gets NoSuchUpload like S3.
            if _uploads.pop(upload_id, None) is None:
                raise S3Error("NoSuchUpload")
        path = s3_object_path()
        with open(path, "wb") as out:
            for number, _ in listed:
                with open(parts[number][0], "rb") as f:
                    shutil.copyfileobj(f, out, CHUNK)
        digests = b"".join(bytes.fromhex(parts[n][1]) for n, _ in listed)
        etag = "%s-%d" % (hashlib.md5(digests).hexdigest(), len(listed))
        obj = S3Object(path, os.path.getsize(path), etag)
        shutil.rmtree(upload.dir, ignore_errors=True)
        job = upload.job
        with job.lock:  # pairs with the check in the ingress job's start()
            upload.object = obj
            upload.completed = True
            waiting = job.waiting is upload
        with _lock:
            _objects[(bucket, key)] = obj
        if waiting:
            TRANSFER_POOL.submit(guard(job.ingress_copy), job)
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult xmlns='
                '"http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://127.0.0.1:%d/s3/%s/'
                '%s</Location><Bucket>%s</Bucket><Key>%s</Key><ETag>"%s"</ETag>'
                '</CompleteMultipartUploadResult>'
                % (CFG.port, xml_escape(bucket), xml_escape(key), xml_escape(bucket),
                   xml_escape(key), etag))
        self.respond(200, body.encode("utf-8"), "application/xml", api=False)

    def s3_get(self, bucket, key):
        with _lock:
            obj = _objects.get((bucket, key))
        if obj is None or (obj.job is not None and
                           obj.job.state(time.monotonic()) != "COMPLETED"):
            raise S3Error("NoSuchKey")
        size = obj.size
        headers = [("ETag", '"%s"' % obj.etag), ("Accept-Ranges", "bytes"),
                   ("Last-Modified", email.utils.formatdate(obj.mtime, usegmt=True))]
        rng = parse_range(self.headers.get("Range"), size)
        if rng == "unsatisfiable":
            raise S3Error("InvalidRange", headers=(("Content-Range", "bytes */%d" % size),))
        status, start, end = 200, 0, size - 1
        if rng is not None:
            status, (start, end) = 206, rng
            headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end, size)))
        length = end - start + 1 if size else 0
        self.status = status
        head = ["HTTP/1.1 %d %s\r\nServer: firecrest-emulator\r\nDate: %s\r\n"
                "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n"
                % (status, REASONS[status], http_date(), length)]
        head += ["%s: %s\r\n" % kv for kv in headers]
        if self.close_connection:
            head.append("Connection: close\r\n")
        head.append("\r\n")
        self.record()
        self.wfile.write("".join(head).encode("latin-1"))
        if self.command == "HEAD" or length == 0:
            return
        # Stream from disk: objects can be far larger than we want in memory.
        with open(obj.path, "rb") as f:
            f.seek(start)
            left = length
            if self.truncate_at is not None and self.truncate_at < left:
                left = self.truncate_at
                self.close_connection = True
            while left > 0:
                data = f.read(min(left, 256 * 1024))
                if not data:
                    self.close_connection = True
                    return
                self.wfile.write(data)
                left -= len(data)
            if self.truncate_at is not None and self.close_connection:
                self.wfile.flush()
                self.reset_connection()

    # ------------------------------------------------------------------ test controls
    def control(self, raw_path, query):
        path = raw_path.rstrip("/")
        cmd = self.command
        if path == "/_emulator/log" and cmd == "GET":
            since = float(dict(urllib.parse.parse_qsl(query)).get("since", "-inf"))
            entries = sorted((e for e in list(_log) if e[3] >= since), key=lambda e: e[3])
            return self.send_json(200, [{"method": m, "path": p, "query": qs, "time": t,
                                         "status": s, "service": sv}
                                        for m, p, qs, t, s, sv in entries])
        if path == "/_emulator/log/clear" and cmd == "POST":
            _log.clear()
            return self.send_json(200, {"ok": True})
        if path == "/_emulator/faults" and cmd == "POST":
            add_fault(self.control_json())
            return self.send_json(200, {"ok": True, "faults": self.faults_view()})
        if path == "/_emulator/faults" and cmd == "GET":
            return self.send_json(200, self.faults_view())
        if path == "/_emulator/faults/clear" and cmd == "POST":
            with _lock:
                _faults.clear()
                _token_faults.clear()
                _job_fail[0] = 0
            return self.send_json(200, {"ok": True})
        if path == "/_emulator/stats" and cmd == "GET":
            with _lock:
                stats = dict(_stats)
            return self.send_json(200, stats)
        if path == "/_emulator/config" and cmd in ("GET", "POST"):
            if cmd == "POST":
                CFG.update(self.control_json())
            return self.send_json(200, CFG.runtime_view())
        if path == "/_emulator/token" and cmd == "POST":
            spec = self.control_json(allow_empty=True)
            ttl = spec.get("ttl", CFG.token_ttl)
            if isinstance(ttl, bool) or not isinstance(ttl, int):
                raise ValueError("ttl must be an integer")
            return self.send_json(200, {"access_token": TOKENS.issue(ttl), "expires_in": ttl})
        if path in ("/_emulator", "/_emulator/help") and cmd == "GET":
            return self.respond(200, __doc__.encode(), "text/plain; charset=utf-8", api=False)
        self.send_json(404, {"error": "no such control route: %s %s" % (cmd, raw_path)})

    def control_json(self, allow_empty=False):
        data = self.read_body(1 << 20)
        if not data.strip() and allow_empty:
            return {}
        try:
            obj = json.loads(data)
        except ValueError as exc:
            raise ValueError("invalid JSON: %s" % exc)
        if not isinstance(obj, dict):
            raise ValueError("expected a JSON object")
        return obj

    def faults_view(self):
        with _lock:
            return {"rules": [dict(r) for r in _faults],
                    "token": [{"kind": k, "count": c} for k, c in _token_faults],
                    "job_fail": _job_fail[0]}


def xml_escape(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def parse_range(value, size):
    """(start, end inclusive), None (no usable range) or "unsatisfiable"."""
    if not value or not value.startswith("bytes=") or "," in value:
        return None
    first, _, last = value[6:].strip().partition("-")
    try:
        if first == "":
            n = int(last)
            if n <= 0 or size == 0:
                return "unsatisfiable"
            return max(0, size - n), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return "unsatisfiable"
    return start, min(end, size - 1)


# ------------------------------------------------------------------------------------ routes
# Each route returns (status, payload): a dict/list (JSON), bytes (binary) or None (no body).
def r_liveness(h):
    now = utc_iso()
    return 200, {"healthcheckRuns": {name: now for name in SYSTEMS}, "lastUpdate": 0}


def system_json(system):
    now = utc_iso()
    health = [{"serviceType": "scheduler", "healthy": True, "lastChecked": now, "latency": 0.01,
               "message": None},
              {"serviceType": "ssh", "healthy": True, "lastChecked": now, "latency": 0.01,
               "message": None}]
    for fs in FS_PATHS:
        health.append({"serviceType": "filesystem", "healthy": True, "lastChecked": now,
                       "latency": 0.01, "message": None, "path": fs})
    health.append({"serviceType": "s3", "healthy": True, "lastChecked": now, "latency": 0.01,
                   "message": None})
    return {
        "name": system.name,
        "ssh": {"host": "%s.emulator.invalid" % system.name, "port": 22, "maxClients": 100,
                "proxyHost": None, "proxyPort": None,
                "timeout": {"connection": 5, "login": 5,
                            "commandExecution": int(math.ceil(CFG.command_timeout)),
                            "idleTimeout": 60, "keepAlive": 5}},
        "scheduler": {"type": "slurm", "version": "24.11.0", "apiUrl": None, "apiVersion": None,
                      "connectionMode": "ssh", "timeout": 10},
        "servicesHealth": health,
        "probing": {"intervalCheck": 120, "services": {
            k: {"timeout": 10} for k in ("scheduler", "ssh", "filesystem", "s3")}},
        "fileSystems": [{"path": "/home", "dataType": "users", "defaultWorkDir": True},
                        {"path": "/scratch", "dataType": "scratch", "defaultWorkDir": False}],
        # DataOperation and MultipartUpload are plain pydantic models in the real server, so
        # their keys stay snake_case; S3DataTransfer is camelCase (spec 2.5.6).
        "dataOperation": {
            "max_ops_file_size": CFG.max_ops_file_size,
            "datatransfer_jobs_directives": job_directives(),
            "data_transfer": {
                "serviceType": "s3", "name": "s3-emulator", "privateUrl": "**********",
                "publicUrl": "http://127.0.0.1:%d/s3" % CFG.port, "accessKeyId": "**********",
                "secretAccessKey": "**********", "region": S3_REGION, "ttl": CFG.s3_ttl,
                "tenant": None, "bucketLifecycleConfiguration": {"days": 10},
                "multipart": {"max_part_size": CFG.max_part_size, "parallel_runs": 3,
                              "use_split": False, "tmp_folder": "tmp"}}},
        "lastHealthCheck": now,
    }


def r_systems(h):
    return 200, {"systems": [system_json(s) for s in SYSTEMS.values()]}


def r_userinfo(h, sys_name):
    h.system(sys_name)
    return 200, {"user": {"id": UID, "name": CFG.user}, "group": {"id": GID, "name": CFG.group},
                 "groups": [{"id": GID, "name": CFG.group}],
                 "accounts": [{"name": DEFAULT_ACCOUNT, "default": True}]}


def r_partitions(h, sys_name):
    h.system(sys_name)
    return 200, {"partitions": [
        {"name": "normal", "cpus": 1024, "totalNodes": 8, "partition": "UP"},
        {"name": "debug", "cpus": 256, "totalNodes": 2, "partition": "UP"},
        {"name": "xfer", "cpus": 16, "totalNodes": 1, "partition": "UP"}]}


def r_nodes(h, sys_name):
    h.system(sys_name)
    nodes = []
    for i in range(1, 5):
        name = "nid%06d" % i
        nodes.append({"name": name, "hostname": name, "address": name, "sockets": 2,
                      "cores": 64, "threads": 1, "cpus": 128, "cpuLoad": 0.0,
                      "freeMemory": 250000, "features": ["mc"], "state": ["IDLE"],
                      "partitions": ["normal", "debug"], "weight": 1, "allocMemory": 0,
                      "allocCpus": 0, "idleCpus": 128})
    return 200, {"nodes": nodes}


def r_reservations(h, sys_name):
    h.system(sys_name)
    now = int(time.time())
    return 200, {"reservations": [{"name": "maintenance", "nodeList": "nid[000001-000004]",
                                   "startTime": now + 86400, "endTime": now + 90000,
                                   "features": None, "state": "INACTIVE"}]}


def query_path(h, sys_name, name="path"):
    """System first (404), then the query's validation errors, then the path checks."""
    system = h.system(sys_name)
    return system, h.params.q_str(name)


def checked(h, system, raw):
    h.params.check()
    return check_path(system, raw)


def r_ls(h, sys_name):
    system, raw = query_path(h, sys_name)
    p = h.params
    hidden, numeric = p.q_bool("showHidden"), p.q_bool("numericUid")
    recursive, deref = p.q_bool("recursive"), p.q_bool("dereference")
    norm = checked(h, system, raw)
    return 200, {"output": op_ls(system, raw, norm, hidden, numeric, recursive, deref)}


def r_stat(h, sys_name):
    system, raw = query_path(h, sys_name)
    deref = h.params.q_bool("dereference")
    norm = checked(h, system, raw)
    return 200, {"output": op_stat(system, raw, norm, deref)}


def head_tail_route(h, sys_name, is_head):
    system, raw = query_path(h, sys_name)
    p = h.params
    file_bytes, lines = p.q_int("bytes"), p.q_int("lines")
    skip = p.q_bool("skipTrailing" if is_head else "skipHeading")
    norm = checked(h, system, raw)
    if lines and file_bytes:
        raise ApiError(400, "Only one of `bytes` or `lines` can be specified.")
    content = head_tail(system, raw, norm, file_bytes, lines, skip, is_head)
    # Positions exactly as the real router computes them.
    pos = 10
    if lines is not None:
        pos = lines if is_head != skip else -lines
    elif file_bytes is not None:
        pos = file_bytes if is_head != skip else -file_bytes
    start, end = (0, pos) if is_head else (pos, -1)
    return 200, {"output": {"content": content, "contentType": "bytes" if file_bytes else "lines",
                            "startPosition": start, "endPosition": end}}


def r_head(h, sys_name):
    return head_tail_route(h, sys_name, True)


def r_tail(h, sys_name):
    return head_tail_route(h, sys_name, False)


def r_view(h, sys_name):
    system, raw = query_path(h, sys_name)
    size = h.params.q_int("size", 5 * 1024 * 1024)
    offset = h.params.q_int("offset", 0)
    norm = checked(h, system, raw)
    if offset < 0:
        raise ApiError(400, "`offset` value must be an integer value equal or greater than 0")
    if size <= 0:
        raise ApiError(400, "`size` value must be an integer value greater than 0")
    if size > CFG.max_ops_file_size:
        raise ApiError(400, "`size` value must be less than %d bytes" % CFG.max_ops_file_size)
    return 200, {"output": op_view(system, raw, norm, size, offset)}


def r_checksum(h, sys_name):
    system, raw = query_path(h, sys_name)
    norm = checked(h, system, raw)
    return 200, {"output": op_checksum(system, raw, norm)}


def r_file(h, sys_name):
    system, raw = query_path(h, sys_name)
    norm = checked(h, system, raw)
    return 200, {"output": op_file(system, raw, norm)}


def r_download(h, sys_name):
    system, raw = query_path(h, sys_name)
    norm = checked(h, system, raw)
    return 200, op_download(system, raw, norm)


def parse_multipart(body, content_type):
    """[(name, filename or None, data)]; binary-safe: parts are cut on the full delimiter."""
    m = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type or "", re.I)
    if not m:
        return None
    delim = b"--" + (m.group(1) or m.group(2)).encode("latin-1")
    parts = []
    pos = body.find(delim)
    if pos < 0:
        return parts
    pos += len(delim)
    while body[pos:pos + 2] != b"--":
        if body[pos:pos + 2] == b"\r\n":
            pos += 2
        elif body[pos:pos + 1] == b"\n":
            pos += 1
        hdr_end, sep = body.find(b"\r\n\r\n", pos), 4
        if hdr_end < 0:
            hdr_end, sep = body.find(b"\n\n", pos), 2
            if hdr_end < 0:
                break
        headers = body[pos:hdr_end].decode("utf-8", "replace")
        start = hdr_end + sep
        end = body.find(b"\r\n" + delim, start)
        if end < 0:
            break
        name = filename = None
        for line in headers.splitlines():
            if line.lower().startswith("content-disposition:"):
                name = disposition_param(line, "name")
                filename = disposition_param(line, "filename")
                star = re.search(r"filename\*=(?:UTF-8|utf-8)''([^;\s]+)", line)
                if star:
                    filename = urllib.parse.unquote(star.group(1))
        parts.append((name, filename, body[start:end]))
        pos = end + 2 + len(delim)
    return parts


def disposition_param(line, key):
    m = re.search(r'(?:^|[;\s])%s="((?:[^"\\]|\\.)*)"' % key, line)
    if m:
        return re.sub(r"\\(.)", r"\1", m.group(1))
    m = re.search(r"(?:^|[;\s])%s=([^;\s]+)" % key, line)
    return m.group(1) if m else None


def r_upload(h, sys_name):
    system, raw_dir = query_path(h, sys_name)
    limit = CFG.max_ops_file_size
    if h.body_length() > limit + (1 << 20):
        # Certainly over the limit: answer without holding the body in memory.
        checked(h, system, raw_dir)
        h.drain()
        raise ApiError(413, "File to upload is too large.")
    ctype = h.headers.get("Content-Type", "")
    body = h.read_body(limit + (1 << 20))
    parts = parse_multipart(body, ctype) if "multipart/form-data" in ctype.lower() else None
    filepart = next(((fn, data) for name, fn, data in parts or () if name == "file"), None)
    if filepart is None:
        h.params.errors.append(missing(("body", "file")))
    elif not filepart[0]:
        h.params.errors.append((("body", "file"), "Value error, Expected UploadFile, received: "
                                "<class 'str'>", "value_error", None))
    checked(h, system, raw_dir)
    filename, data = filepart
    raw = "%s/%s" % (raw_dir, filename)  # the real server: f"{path}/{file.filename}"
    norm = check_path(system, raw)
    if len(data) > limit:
        raise ApiError(413, "File to upload is too large.")
    local = system.lresolve(norm)
    try:
        if local is None:
            raise FileNotFoundError(2, "No such file or directory")
        parent = os.path.dirname(local)
        pst = os.stat(parent)
        if not stat.S_ISDIR(pst.st_mode):
            raise NotADirectoryError(20, "Not a directory")
        exists = os.path.lexists(local)
        if exists and os.path.isdir(local):
            raise IsADirectoryError(21, "Is a directory")
        if exists and not system.may(local, "w"):
            raise PermissionError(13, "Permission denied")
        if not exists and not (system.may(parent, "w", pst) and system.may(parent, "x", pst)):
            raise PermissionError(13, "Permission denied")
        with open(local, "wb") as f:  # `base64 -d > file`: truncates, silently overwrites
            f.write(data)
    except OSError as exc:
        raise err2("bash: line 1: %s: %s", raw, strerror(exc))
    return 204, None


def json_body(h):
    return Body(h.read_json())


def r_mkdir(h, sys_name):
    system = h.system(sys_name)
    b = json_body(h)
    raw = b.path()
    parent = b.bool("parent")
    b.check()
    norm = check_path(system, raw)
    return 201, {"output": op_mkdir(system, raw, norm, parent)}


def r_rm(h, sys_name):
    system, raw = query_path(h, sys_name)
    norm = checked(h, system, raw)
    text = do_rm(system, raw, norm, Deadline())
    if text:
        raise remote_error(text)
    return 204, None


def r_chmod(h, sys_name):
    system = h.system(sys_name)
    b = json_body(h)
    raw = b.path()
    mode = b.str("mode")
    b.check()
    norm = check_path(system, raw)
    return 200, {"output": op_chmod(system, raw, norm, mode)}


def r_chown(h, sys_name):
    system = h.system(sys_name)
    b = json_body(h)
    raw = b.path()
    owner = b.str("owner", required=False, default="") or ""
    group = b.str("group", required=False, default="") or ""
    b.check()
    norm = check_path(system, raw)
    return 200, {"output": op_chown(system, raw, norm, owner, group)}


def r_symlink(h, sys_name):
    system = h.system(sys_name)
    b = json_body(h)
    raw = b.path()
    link = b.str("linkPath")
    b.check()
    norm = check_path(system, raw)
    # The real server checks only the source path; checking the link too keeps it inside.
    link_norm = check_path(system, link)
    return 201, {"output": op_symlink(system, raw, norm, link, link_norm)}


def compress_args(h, system):
    b = json_body(h)
    raw = b.path()
    target = b.str("targetPath")
    pattern = b.str("matchPattern", required=False)
    deref = b.bool("dereference")
    compression = b.choice("compression", COMPRESSIONS, "gzip")
    account = b.str("account", required=False)
    b.check()
    return (raw, check_path(system, raw), target, check_path(system, target), pattern, deref,
            compression, account)


def extract_args(h, system):
    b = json_body(h)
    raw = b.path()
    target = b.str("targetPath")
    compression = b.choice("compression", COMPRESSIONS, "gzip")
    account = b.str("account", required=False)
    b.check()
    return raw, check_path(system, raw), target, check_path(system, target), compression, account


def r_compress(h, sys_name):
    system = h.system(sys_name)
    raw, norm, target, tnorm, pattern, deref, compression, _ = compress_args(h, system)
    do_compress(system, raw, norm, target, tnorm, pattern, deref, compression, Deadline())
    return 204, None


def r_extract(h, sys_name):
    system = h.system(sys_name)
    raw, norm, target, tnorm, compression, _ = extract_args(h, system)
    do_extract(system, raw, norm, target, tnorm, compression, Deadline())
    return 204, None


# -- transfer routes --------------------------------------------------------------------------
def submit_transfer(system, name, account, script, action, status=201):
    job = transfer_job(system, name, account, script, action)
    schedule(job)
    return status, {"transferJob": transfer_job_json(job)}


def sq(text):
    return "'%s'" % text


def r_t_mv(h, sys_name):
    system = h.system(sys_name)
    b = json_body(h)
    raw, target, account = b.path(), b.str("targetPath"), b.str("account", required=False)
    b.check()
    norm, tnorm = check_path(system, raw), check_path(system, target)
    return submit_transfer(system, "MoveFiles", account,
                           "status=$(mv -- %s %s)" % (sq(raw), sq(target)),
                           act_move(system, raw, norm, target, tnorm))


def r_t_cp(h, sys_name):
    system = h.system(sys_name)
    b = json_body(h)
    raw, target, account = b.path(), b.str("targetPath"), b.str("account", required=False)
    deref = b.bool("dereference")
    b.check()
    norm, tnorm = check_path(system, raw), check_path(system, target)
    return submit_transfer(system, "CopyFiles", account,
                           "status=$(cp --force -R%s --preserve=all -- %s %s)"
                           % ("L" if deref else "d", sq(raw), sq(target)),
                           act_copy(system, raw, norm, target, tnorm, deref))


def r_t_rm(h, sys_name):
    system, raw = query_path(h, sys_name)
    account = h.params.q_str("account", required=False) or None
    norm = checked(h, system, raw)
    return submit_transfer(system, "DeleteFiles", account, "status=$(rm -R -- %s)" % sq(raw),
                           act_delete(system, raw, norm), status=200)


def r_t_compress(h, sys_name):
    system = h.system(sys_name)
    raw, norm, target, tnorm, pattern, deref, compression, account = compress_args(h, system)
    return submit_transfer(system, "CompressFiles", account,
                           "status=$(tar -c%svf %s -C %s %s)" % (
                               TAR_FLAG[compression], sq(target), sq(posixpath.dirname(raw)),
                               sq(posixpath.basename(raw))),
                           act_compress(system, raw, norm, target, tnorm, pattern, deref,
                                        compression))


def r_t_extract(h, sys_name):
    system = h.system(sys_name)
    raw, norm, target, tnorm, compression, account = extract_args(h, system)
    return submit_transfer(system, "ExtractFiles", account,
                           "status=$(tar -x%sf %s -C %s)" % (TAR_FLAG[compression], sq(raw),
                                                             sq(target)),
                           act_extract(system, raw, norm, target, tnorm, compression))


def transfer_method(b, obj):
    """transferDirectives and its transferMethod (validation errors when missing)."""
    td = b_get(obj, "transferDirectives")
    if td is _MISSING or td is None:
        b.errors.append(missing(("body", "transferDirectives")))
        return None, {}
    if not isinstance(td, dict):
        b.errors.append((("body", "transferDirectives"), "Input should be a valid dictionary or "
                         "object to extract fields from", "model_attributes_type", td))
        return None, {}
    method = b_get(td, "transferMethod")
    if method is _MISSING:
        b.errors.append((("body", "transferDirectives"), "Unable to extract tag using "
                         "discriminator 'transfer_method'", "union_tag_not_found", td))
        return None, td
    return method, td


def directives(values):
    """transferDirectives in the shape of the configured API version."""
    if CFG.api_version == "2.4.2":
        return {"transferDirectives": {snake(k): v for k, v in values.items()}}
    if CFG.api_version == "2.3.1":
        return {k: v for k, v in values.items() if k != "transferMethod"}
    return {"transferDirectives": values}


def r_t_upload(h, sys_name):
    system = h.system(sys_name)
    obj = h.read_json()
    b = Body(obj)
    raw = b.path()
    account = b.str("account", required=False)
    legacy = CFG.api_version == "2.3.1" and b_get(obj, "transferDirectives") is _MISSING
    if legacy:
        # 2.3.x: sourcePath is the target directory; fileName and fileSize at the top level.
        file_name = b.str("fileName")
        size = b.int("fileSize", required=True)
        method = "s3"
    else:
        method, td = transfer_method(b, obj)
        size = Body(td, ("body", "transferDirectives")).int("fileSize") if td else None
    b.check()
    norm = check_path(system, raw)
    if legacy:
        raw = "%s/%s" % (raw.rstrip("/"), file_name)
        norm = check_path(system, raw)
    if method != "s3":
        raise ApiError(400, "Requested transfer method is not available.")
    if size is None or size <= 0:
        raise validation_error([(("body", "transferDirectives", "fileSize"), "fileSize must be a "
                                 "positive integer: zero-byte files go through ops/upload",
                                 "greater_than", size)])
    max_part = CFG.max_part_size
    nparts = math.ceil(size / max_part)
    key = "%s/%s" % (uuid.uuid4(), posixpath.basename(norm))
    upload = Upload(CFG.user, key, nparts, max_part)
    start, copy = act_ingress(system, raw, norm, upload)
    job = transfer_job(system, "IngressFileTransfer", account,
                       "# waits for the staged object, then downloads it to %s" % sq(raw), start)
    job.ingress_copy = copy
    upload.job = job
    with _lock:
        _uploads[upload.id] = upload
    values = {"transferMethod": "s3",
              "partsUploadUrls": [presign("PUT", upload.bucket, key, upload.id, i)
                                  for i in range(1, nparts + 1)],
              "completeUploadUrl": presign("POST", upload.bucket, key, upload.id),
              "maxPartSize": max_part}
    schedule(job)
    payload = {"transferJob": transfer_job_json(job)}
    payload.update(directives(values))
    return 201, payload


def r_t_download(h, sys_name):
    system = h.system(sys_name)
    obj = h.read_json()
    b = Body(obj)
    raw = b.path()
    account = b.str("account", required=False)
    if CFG.api_version == "2.3.1" and b_get(obj, "transferDirectives") is _MISSING:
        method = "s3"
    else:
        method, _ = transfer_method(b, obj)
    b.check()
    norm = check_path(system, raw)
    if method != "s3":
        raise ApiError(400, "Requested transfer method is not available.")
    op_stat(system, raw, norm, True)  # the real server stats the source first (404 if missing)
    key = "%s/%s" % (uuid.uuid4(), posixpath.basename(norm))
    bucket = CFG.user
    job = transfer_job(system, "OutgressFileTransfer", account,
                       "# uploads %s to the staging area in parts" % sq(raw),
                       act_egress(system, raw, norm, bucket, key))
    schedule(job)
    payload = {"transferJob": transfer_job_json(job)}
    payload.update(directives({"transferMethod": "s3",
                               "downloadUrl": presign("GET", bucket, key)}))
    return 201, payload


# -- compute ----------------------------------------------------------------------------------
def expand_output(path, job_id, name, wd):
    """Slurm's filename patterns (%j, %x, %u, %%), relative to the working directory."""
    path = re.sub(r"%(.)", lambda m: {"j": str(job_id), "x": name, "u": CFG.user, "%": "%",
                                      "A": str(job_id), "a": "0"}.get(m.group(1), m.group(0)),
                  path)
    return path if path.startswith("/") else wd.rstrip("/") + "/" + path


def r_jobs_post(h, sys_name):
    system = h.system(sys_name)
    obj = h.read_json()
    job_obj = obj.get("job", _MISSING)
    if not isinstance(job_obj, dict):
        raise validation_error([missing(("body", "job")) if job_obj is _MISSING else
                                (("body", "job"), "Input should be a valid dictionary or object "
                                 "to extract fields from", "model_attributes_type", job_obj)])
    b = Body(job_obj, ("body", "job"))
    wd = b.str("workingDirectory")
    script = b.str("script", required=False)
    script_path = b.str("scriptPath", required=False)
    name = b.str("name", required=False)
    account = b.str("account", required=False)
    partition = b.str("partition", required=False)
    reservation = b.str("reservation", required=False)
    constraints = b.str("constraints", required=False)
    stdin = b.str("standardInput", required=False)
    stdout = b.str("standardOutput", required=False)
    stderr = b.str("standardError", required=False)
    env = b_get(job_obj, "env")
    env_dict = {"F7T_version": "v2.0.0"}
    if env is not _MISSING and env is not None:
        if isinstance(env, dict) and all(isinstance(v, str) for v in env.values()):
            env_dict = dict(env)
        elif isinstance(env, list) and all(isinstance(v, str) for v in env):
            env_dict = dict(item.partition("=")[::2] for item in env)
        else:
            b.errors.append((("body", "job", "env"), "Input should be a valid dictionary",
                             "dict_type", env))
    b.check()
    if script is None and script_path is None:
        raise ApiError(400, "Either `script` or `scriptPath` is required.")
    if script is None:
        local = system.resolve(check_path(system, script_path))
        try:
            if local is None:
                raise FileNotFoundError(2, "No such file or directory")
            with open(local, "r", encoding="utf-8", errors="replace") as f:
                script = f.read(1 << 20)
        except OSError:
            raise ApiError(500, "sbatch: error: Unable to open file %s" % script_path)
    job = Job(system, "batch", name or "sbatch", wd, script, None, None, stdin or "/dev/null",
              env_dict, account, partition, reservation, constraints)
    job.stdout = expand_output(stdout or "slurm-%j.out", job.id, job.name, wd)
    job.stderr = expand_output(stderr, job.id, job.name, wd) if stderr else job.stdout
    if job.stdin != "/dev/null":
        job.stdin = expand_output(job.stdin, job.id, job.name, wd)
    schedule(job)
    return 201, {"jobId": v_job_id(job.id)}


def r_jobs_get(h, sys_name):
    system = h.system(sys_name)
    h.params.q_bool("allusers")  # one user here: every job is the user's
    account = h.params.q_str("account", required=False) or None
    h.params.check()
    now = time.monotonic()
    with _lock:
        jobs = [j for (s, _), j in _jobs.items() if s == system.name]
    jobs.sort(key=lambda j: j.id)
    return 200, {"jobs": [j.model(now) for j in jobs if account is None or j.account == account]}


JOB_ID_RE = re.compile(r"[a-zA-Z0-9]+")


def job_from_path(h, sys_name, job_id, message="Job not found."):
    system = h.system(sys_name)
    if not JOB_ID_RE.fullmatch(job_id):
        raise validation_error([(("path", "job_id"), "String should match pattern "
                                 "'^[a-zA-Z0-9]+$'", "string_pattern_mismatch", job_id)])
    job = find_job(system, job_id)
    if job is None:
        raise ApiError(404, message)
    return job


def r_job_get(h, sys_name, job_id):
    job = job_from_path(h, sys_name, job_id)
    return 200, {"jobs": [job.model(time.monotonic())]}


def r_job_delete(h, sys_name, job_id):
    job = job_from_path(h, sys_name, job_id, "Job not found")  # sic: no period here
    cancel_job(job)
    return 204, None


def r_job_metadata(h, sys_name, job_id):
    job = job_from_path(h, sys_name, job_id)
    return 200, {"jobs": [{"jobId": v_job_id(job.id), "script": job.script,
                           "standardInput": job.stdin, "standardOutput": job.stdout,
                           "standardError": job.stderr}]}


def r_job_attach(h, sys_name, job_id):
    job = job_from_path(h, sys_name, job_id)
    b = json_body(h)
    b.str("command")
    b.check()
    if job.state(time.monotonic()) != "RUNNING":
        raise ApiError(400, "srun: error: Unable to attach to job %d: job is not running" % job.id)
    return 204, None


ROUTES = {
    "liveness": {"GET": r_liveness},
    "systems": {"GET": r_systems},
    ("status", "userinfo"): {"GET": r_userinfo},
    ("status", "partitions"): {"GET": r_partitions},
    ("status", "nodes"): {"GET": r_nodes},
    ("status", "reservations"): {"GET": r_reservations},
    ("ops", "ls"): {"GET": r_ls},
    ("ops", "stat"): {"GET": r_stat},
    ("ops", "head"): {"GET": r_head},
    ("ops", "tail"): {"GET": r_tail},
    ("ops", "view"): {"GET": r_view},
    ("ops", "checksum"): {"GET": r_checksum},
    ("ops", "file"): {"GET": r_file},
    ("ops", "download"): {"GET": r_download},
    ("ops", "upload"): {"POST": r_upload},
    ("ops", "mkdir"): {"POST": r_mkdir},
    ("ops", "rm"): {"DELETE": r_rm},
    ("ops", "chmod"): {"PUT": r_chmod},
    ("ops", "chown"): {"PUT": r_chown},
    ("ops", "symlink"): {"POST": r_symlink},
    ("ops", "compress"): {"POST": r_compress},
    ("ops", "extract"): {"POST": r_extract},
    ("transfer", "mv"): {"POST": r_t_mv},
    ("transfer", "cp"): {"POST": r_t_cp},
    ("transfer", "rm"): {"DELETE": r_t_rm},
    ("transfer", "compress"): {"POST": r_t_compress},
    ("transfer", "extract"): {"POST": r_t_extract},
    ("transfer", "upload"): {"POST": r_t_upload},
    ("transfer", "download"): {"POST": r_t_download},
    "jobs": {"GET": r_jobs_get, "POST": r_jobs_post},
    "job": {"GET": r_job_get, "DELETE": r_job_delete},
    ("job", "metadata"): {"GET": r_job_metadata},
    ("job", "attach"): {"PUT": r_job_attach},
}


# ------------------------------------------------------------------------------------ main
class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024
    block_on_close = False

    def handle_error(self, request, client_address):
        # A client that goes away mid-request is normal in tests (and in load runs).
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, socket.timeout)):
            return
        super().handle_error(request, client_address)


def shutdown_now(code=0):
    for proc in list(_procs.values()):
        kill_group(proc)
    os._exit(code)


def watch_parent(parent):
    # Orphaned (the test binary died without killing us): exit instead of lingering.
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            shutdown_now(0)


def parse_args(argv):
    p = argparse.ArgumentParser(description="FirecREST v2 emulator (see the module docstring)")
    p.add_argument("--root", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--systems", default="daint,eiger")
    p.add_argument("--user", default="fireuser")
    p.add_argument("--client-id", default="asyncfs-client")
    p.add_argument("--client-secret", default="asyncfs-secret")
    p.add_argument("--token-ttl", type=int, default=300)
    p.add_argument("--min-token-ttl", type=int, default=30)
    p.add_argument("--job-delay", type=float, default=1.0)
    p.add_argument("--max-ops-file-size", type=int, default=5242880)
    p.add_argument("--max-part-size", type=int, default=1073741824)
    p.add_argument("--s3-ttl", type=int, default=3600)
    p.add_argument("--api-version", choices=API_VERSIONS, default="2.5.6")
    p.add_argument("--exec-jobs", action="store_true")
    p.add_argument("--command-timeout", type=float, default=5.0)
    p.add_argument("--transfer-failure-state", choices=("FAILED", "COMPLETED"), default="FAILED")
    p.add_argument("--require-account", action="store_true")
    p.add_argument("--max-lifetime", type=float, default=21600.0)
    p.add_argument("--pin-cpu", default="auto")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


def pin_cpu(spec):
    """Binds the calling (main) thread, and so every thread it starts later, to one CPU."""
    if spec == "none" or not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    if spec == "auto":
        if len(allowed) < 2:
            return None
        cpu = allowed[-1]
    else:
        cpu = int(spec)
    os.sched_setaffinity(0, {cpu})
    return allowed


def main(argv=None):
    global TIMER, USER_DIRS, ALL_CPUS
    args = parse_args(argv)
    if args.pin_cpu not in ("auto", "none") and not args.pin_cpu.isdigit():
        sys.exit("--pin-cpu must be auto, none or a CPU number")
    if not re.fullmatch(r"[a-z_][a-z0-9_.-]*", args.user):
        sys.exit("--user must be a plain lower-case user name")
    systems = [s.strip().lower() for s in args.systems.split(",") if s.strip()]
    if not systems or any(not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", s) for s in systems):
        sys.exit("--systems must be a comma-separated list of simple names")
    try:
        CFG.update({"job_delay": args.job_delay, "token_ttl": args.token_ttl,
                    "min_token_ttl": args.min_token_ttl,
                    "max_ops_file_size": args.max_ops_file_size,
                    "max_part_size": args.max_part_size, "s3_ttl": args.s3_ttl,
                    "command_timeout": args.command_timeout, "api_version": args.api_version,
                    "exec_jobs": args.exec_jobs, "verbose": args.verbose,
                    "transfer_failure_state": args.transfer_failure_state,
                    "require_account": args.require_account})
    except ValueError as exc:
        sys.exit(str(exc))
    CFG.root = os.path.realpath(args.root)
    CFG.user = args.user
    CFG.client_id = args.client_id
    CFG.client_secret = args.client_secret
    CFG.systems = systems
    # Deterministic permissions for everything the emulator creates (mkdir gives 0755...).
    os.umask(0o022)
    USER_DIRS = tuple("%s/%s" % (fs, CFG.user) for fs in FS_PATHS)
    for sub in (".s3/parts", ".s3/objects", ".jobs"):
        os.makedirs(os.path.join(CFG.root, sub), exist_ok=True)
    for name in systems:
        for d in USER_DIRS:
            os.makedirs(os.path.join(CFG.root, name) + d, exist_ok=True)
        SYSTEMS[name] = System(name)
    # Before any thread exists, so that all of them inherit the mask.
    try:
        ALL_CPUS = pin_cpu(args.pin_cpu)
    except OSError as exc:
        sys.exit("--pin-cpu: %s" % exc)
    server = Server(("127.0.0.1", args.port), Handler)
    CFG.port = server.server_address[1]
    TIMER = Timer()
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    if args.max_lifetime > 0:
        TIMER.at(time.monotonic() + args.max_lifetime, lambda: shutdown_now(0))
    signal.signal(signal.SIGTERM, lambda *_: shutdown_now(0))
    sys.stdout.write("%d\n" % CFG.port)
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    shutdown_now(0)


if __name__ == "__main__":
    main()
