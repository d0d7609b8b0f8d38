#!/usr/bin/python3
"""asyncfs fault server: HTTP/1.1 behaviours that a well-behaved server (nginx) never shows.

Usage: /usr/bin/python3 fault_server.py [PORT]      (PORT 0 or absent = pick a free one)
Prints the chosen port as the first stdout line, then serves on 127.0.0.1 until killed.
Standard library only. Exits by itself when its parent process goes away, so a crashed test
binary does not leave it behind.

Data: "the data" is DATA below (fsspec's test payload: b"some test data" joined by newlines
1000 times, 14999 bytes). Routes that take `size=N` serve pattern(N) instead: the 36 characters
"abcdefghijklmnopqrstuvwxyz0123456789" repeated and cut to N bytes.

Every response carries `X-Received-Authorization: <value>` when the request had an
Authorization header, so a redirect test can see whether the header leaked to its target.
Every route is bounded in time: the slow ones cap their total duration (max 30 s).

Routes (query parameters in brackets; Range = honours a single `bytes=a-b`, `a-` or `-n` range
with 206/Content-Range, and answers 416 with `Content-Range: bytes */size` when unsatisfiable):

  Well-behaved baseline
    /file/<any>[?size=N&etag=E&content_type=T&last_modified=1]   GET/HEAD, Range, Accept-Ranges
    /echo[/<any>]   any method: JSON {method, path, query, headers (list of [name, value]),
                    header (dict, lower-case names), body_length, body (text if < 64 KiB),
                    chunked_request (bool)}
    /headers?Name=Value&...   200, empty body, the given response headers added
    /count/<route path>?<query>   text/plain: requests seen so far for that flaky key
    /reset-counts   forget all flaky counters

  Framing and encodings
    /chunked[?size=N&chunk=K]      Transfer-Encoding: chunked, no Content-Length, Range ignored
    /norange[?size=N&accept_ranges=V]   200 + full body even when Range is sent; sends
                                   `Accept-Ranges: V` only when given (e.g. V=none)
    /gzip[?size=N&respect_ae=1]    body gzip-compressed, `Content-Encoding: gzip`, Content-Length
                                   = compressed length (HEAD too); Range ignored; with
                                   respect_ae=1 only when Accept-Encoding allows gzip
    /bomb[?mib=N]                  gzip of N MiB of zeros (default 1024: about 1 MB on the
                                   wire), `Content-Encoding: gzip`, Content-Length; Range ignored
    /truncated[?size=N&send=M]     Content-Length N (default DATA size) but only M bytes
                                   (default N/2), then a clean close (FIN)
    /reset[?size=N&after=M]        Content-Length N, M bytes (default N/2), then TCP RST
    /keepalive-drop[?pause_ms=N]   a keep-alive 200, then RST after N ms (default 150) without
                                   reading the next request
    /garbage                       a line that is not HTTP, then close
    /raw/<case>[?size=N]           a hand-made response that a strict client must refuse or
                                   decode, then close (te-and-cl keeps the connection open):
                                   te-gzip-chunked  `Transfer-Encoding: gzip, chunked`, the body
                                                    gzip(pattern(N)) in chunks (N default 5000)
                                   cl-plus          `Content-Length: +5`
                                   cl-wrap          `Content-Length: 5` and a second field of
                                                    2^64 + 5 (5 again if the parse wraps)
                                   nul-header       a NUL byte inside a header value
                                   http-version     an `HTTP/3.0 200` status line
                                   gzip-truncated   `Content-Encoding: gzip`, the first half of
                                                    gzip(pattern(N)) (N default 100000)
                                   deflate-raw, deflate-zlib   `Content-Encoding: deflate`,
                                                    raw or zlib-framed; gzip-members: two gzip
                                                    members concatenated
                                   te-and-cl        `Content-Length: 100` and chunked "ok",
                                                    kept alive
    /huge-length[?length=L]        Content-Length L (default 10^15) on a 10-byte body, then close;
                                   HEAD gives the same Content-Length
    /slow[?size=N&interval_ms=X&max_ms=T]   Content-Length N (default 20), one byte every X ms
                                   (default 100); closes after T ms (default/cap 30000)
    /slow-headers[?delay_ms=X&body=T]   waits X ms (cap 30000) before sending the data (or the
                                   text T: tells apart answers that finish out of order)

  HEAD handling
    /nohead/<any>[?size=N&ranges=0|1&code=C]   HEAD -> C (default 405, with Allow: GET);
                                   GET works, honouring Range unless ranges=0

  Status codes and retries
    /status/<code>[?retry_after=V]  that status with a short text body (401 adds
                                    WWW-Authenticate, 416 adds Content-Range: bytes */<DATA size>,
                                    3xx adds Location: /file/target)
    /flaky/<mode>?fail=N&key=K[&retry_after=S|date|none&ra_seconds=S&size=N]
        The first N requests for this exact path+query fail, later ones serve the data
        (like /file, with Range). mode: 429, 503, 500, 502, 504, 408 (status with
        `Retry-After`: retry_after=S gives seconds S (default 0), retry_after=date gives an
        HTTP-date ra_seconds (default 1) from now, none omits it); `reset` (RST after half
        the body); `truncate` (half the body then FIN). Response header X-Attempt: <k>.

  Redirects
    /redirect/<code>/<path>      code in 301 302 303 307 308, Location: /<path>?<query>
    /redirect-host/<code>/<path> Location on the *other* host name: http://localhost:<port>/...
                                 when the request came to 127.0.0.1, and vice versa
    /redirect-chain/<n>/<path>   n successive 302s, then to /<path>
    /loop/<a|b|self>             a -> b -> a ... ; self -> self

  Listings and HTML
    /html/page.html              text/html article page with links; not a directory index
    /apache/                     Apache-style index (sort links ?C=N;O=D, Parent Directory)
    /nginx/                      nginx-style autoindex (../, trailing-slash dirs, dates)
    /tricky/                     index with every awkward link form, see TRICKY_CHILDREN
    ([?no_type=1] on the three indexes omits Content-Type)
    /apache/<x>, /nginx/<x>, /tricky/<x>: files (data) or, ending in '/', a one-file listing.
    /deep/<any>/                 an index of "f" and "d/": every directory links a deeper one,
                                 forever (a hostile listing); /deep/<any>/f is a file

  Soak (5% faulty responses)
    /soak/?n=N                   an index of f0..f{N-1}
    /soak/f<i>?pct=P&seed=S      soak_body(i) ("soak<i>:" repeated to 1 KiB + (i*7919) mod 63 KiB),
                                 or with probability P% (default 5) a fault drawn per (file,
                                 attempt): reset, 503, truncate, drip, bad-gzip
    /soak-stats                  GET: {fault kind: times injected}; POST: the same, then zeroed

  Upload sink
    /sink/<name>   PUT/POST store the body (Content-Length or chunked) -> 201 new / 204 replaced;
                   GET/HEAD return it (Range honoured) or 404; DELETE removes (204/404)
    /sink-meta/<name>   JSON of the last upload: method, size, content_length header,
                   transfer_encoding header, content_type, chunked (bool)

  fsspec conftest-compatible routes, switched by *request headers* (see fsspec.md section 5)
    /index/realfile, /index/otherfile, /index (lists realfile), /simple/ (file, dir/),
    /simple/dir/ (dir/file), /simple/file, /simple/dir/file, /unauthorized (401),
    /data/20020401 (IIS-style listing, 11 files with absolute hrefs).
    Switch headers: head_ok, give_length, head_give_length, zero_length, gzip_encoding,
    give_range, give_mimetype, give_etag, ignore_range, use_206, accept_range (value sent as
    Accept-Ranges), redirect, give_path, head_not_auth.
"""

import email.utils
import gzip
import json
import os
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DATA = b"\n".join([b"some test data"] * 1000)
PATTERN = b"abcdefghijklmnopqrstuvwxyz0123456789"
MAX_SLOW_MS = 30000
MAX_BODY = 256 * 1024 * 1024

_lock = threading.Lock()
_counts = {}  # flaky key -> number of requests seen
_sink = {}  # name -> bytes
_sink_meta = {}  # name -> dict
_bombs = {}  # MiB of zeros -> their gzip
_soak_faults = {}  # fault kind -> times injected
SOAK_FAULTS = ("reset", "503", "truncate", "drip", "bad-gzip")


def gzip_of_zeros(mib):
    """gzip of `mib` MiB of zeros, built from one MiB's raw deflate output repeated: after a
    full flush the compressor starts afresh, so every MiB compresses to the same bytes (a
    one-pass compression of 1 GiB takes seconds)."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(1 << 20)
    block = z.compress(zeros) + z.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)  # empty last block
    return header + block * mib + final + struct.pack("<II", crc, (mib << 20) & 0xFFFFFFFF)


def soak_body(i):
    """File i of /soak/: 1..64 KiB of bytes that depend on i (a test recomputes them)."""
    size = 1024 + (i * 7919) % (63 * 1024)
    seed = ("soak%d:" % i).encode()
    reps = size // len(seed) + 1
    return (seed * reps)[:size]


def pattern(n):
    n = max(0, int(n))
    reps = n // len(PATTERN) + 1
    return (PATTERN * reps)[:n]


def http_date(ts):
    return email.utils.formatdate(ts, usegmt=True)


def parse_range(value, size):
    """Returns (start, end_inclusive), None (no usable range) or "unsatisfiable"."""
    if not value or not value.startswith("bytes=") or "," in value:
        return None
    spec = value[len("bytes="):].strip()
    first, _, last = spec.partition("-")
    try:
        if first == "":
            n = int(last)
            if n <= 0:
                return "unsatisfiable"
            return (max(0, size - n), size - 1) if size > 0 else "unsatisfiable"
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return "unsatisfiable"
    return start, min(end, size - 1)


def link_list_html(title, links):
    items = "\n".join('<a href="%s">%s</a>' % (href, text) for href, text in links)
    return ("<html><head><title>%s</title></head><body>\n%s\n</body></html>\n" % (title, items)).encode()


def apache_index(prefix):
    rows = [("file1.txt", "2024-01-02 10:00", "1.2K"), ("file2.bin", "2024-01-03 11:00", "14K"),
            ("subdir/", "2024-01-04 12:00", "-")]
    body = ['<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">',
            "<html>\n <head>\n  <title>Index of %s</title>\n </head>\n <body>" % prefix,
            "<h1>Index of %s</h1>" % prefix, "  <table>",
            '   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th>'
            '<th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th>'
            '<th><a href="?C=S;O=A">Size</a></th><th><a href="?C=D;O=A">Description</a></th></tr>',
            '   <tr><th colspan="5"><hr></th></tr>',
            '<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td>'
            '<td><a href="/">Parent Directory</a></td><td>&nbsp;</td><td align="right">  - </td>'
            "<td>&nbsp;</td></tr>"]
    for name, date, size in rows:
        icon = "/icons/folder.gif" if name.endswith("/") else "/icons/unknown.gif"
        body.append('<tr><td valign="top"><img src="%s" alt="[   ]"></td><td><a href="%s">%s</a>'
                    '</td><td align="right">%s  </td><td align="right">%s</td><td>&nbsp;</td></tr>'
                    % (icon, name, name, date, size))
    body += ['   <tr><th colspan="5"><hr></th></tr>', "</table>",
             "<address>Apache/2.4.57 (Debian) Server at 127.0.0.1 Port 80</address>",
             "</body></html>", ""]
    return "\n".join(body).encode()


def nginx_index(prefix):
    body = ["<html>", "<head><title>Index of %s</title></head>" % prefix, "<body>",
            "<h1>Index of %s</h1><hr><pre><a href=\"../\">../</a>" % prefix,
            '<a href="subdir/">subdir/</a>                                            '
            "02-Jan-2024 10:00                   -",
            '<a href="a%20b.txt">a b.txt</a>                                          '
            "02-Jan-2024 10:00                  14",
            '<a href="file1.txt">file1.txt</a>                                        '
            "03-Jan-2024 11:00                1234",
            "</pre><hr></body>", "</html>", ""]
    return "\n".join(body).encode()


# What a correct "direct children" parser should extract from /tricky/ (relative to it).
TRICKY_CHILDREN = ["abs.txt", "dir1/", "dir2/", "full.txt", "quoted.txt", "upper.txt",
                   "with%20space.txt"]


def tricky_index(host_port, other_host_port):
    links = [
        ("#top", "top"),
        ("?C=N;O=D", "sort"),
        ("?C=M;O=A", "sort by date"),
        ("mailto:admin@example.com", "mail"),
        ("../", "parent"),
        ("..", "parent no slash"),
        ("/", "site root"),
        ("/tricky/abs.txt", "absolute same-host file"),
        ("http://%s/tricky/full.txt" % host_port, "full URL same host"),
        ("http://%s/tricky/other-host.txt" % other_host_port, "other host"),
        ("https://example.com/tricky/external.txt", "external"),
        ("/elsewhere/file.txt", "same host, outside the directory"),
        ("dir1/", "directory"),
        ("/tricky/dir2/", "absolute directory"),
        ("dir1/deeper/file.txt", "deeper descendant"),
        ("/tricky/dir2/deep/er/file.txt", "absolute deeper descendant"),
        ("with%20space.txt", "percent-encoded"),
        ("javascript:void(0)", "script"),
        ("dir1/#frag", "dir with fragment"),
    ]
    html = ["<!DOCTYPE html>", "<html><head><title>Index of /tricky/</title>",
            '<link rel="stylesheet" href="/style.css"></head><body id="top">',
            "<h1>Index of /tricky/</h1>"]
    html += ['<a href="%s">%s</a><br>' % (h, t) for h, t in links]
    html.append("<A HREF=\"upper.txt\">upper-case tag</A><br>")
    html.append("<a class='x' href='quoted.txt'>single quotes</a><br>")
    html.append("</body></html>\n")
    return "\n".join(html).encode()


def iis_listing():
    names = ["3B42RT.2002040100.7.nc4", "3B42RT.2002040103.7.bin", "3B42RT.2002040106.7.bin",
             "3B42RT.2002040109.7.bin", "3B42RT.2002040112.7.bin", "3B42RT.2002040115.7.bin",
             "3B42RT.2002040118.7.bin", "3B42RT.2002040121.7.bin", "readme.txt", "doc.pdf",
             "checksums.md5"]
    rows = ["<html><head><title>127.0.0.1 - /data/20020401/</title></head><body>",
            "<H1>127.0.0.1 - /data/20020401/</H1><hr>",
            '<pre><A HREF="/data/">[To Parent Directory]</A><br><br>']
    for i, n in enumerate(names):
        rows.append(' 4/1/2002  %2d:00 AM        %d <A HREF="/data/20020401/%s">%s</A><br>'
                    % (i + 1, 1000 + i, n, n))
    rows.append("</pre><hr></body></html>\n")
    return "\n".join(rows).encode()


PAGE_HTML = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>An article</title></head>
<body><h1>Not a directory listing</h1>
<p>This is an ordinary page. See <a href="https://example.com/docs">the docs</a>,
<a href="#section2">section 2</a> or <a href="/html/other.html">another page</a>.</p>
<p id="section2">The end.</p></body></html>
"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "asyncfs-fault/1"
    # Idle keep-alive connections and stalled clients must not pin a thread forever.
    timeout = 60

    # ---------------------------------------------------------------- plumbing
    def log_message(self, fmt, *args):
        sys.stderr.write("%s [%s] %s\n" % (self.address_string(), self.log_date_time_string(),
                                           fmt % args))

    def send_header(self, keyword, value):
        if keyword.lower() == "connection":
            self._sent_connection = True
        super().send_header(keyword, value)

    def end_headers(self):
        auth = self.headers.get("Authorization")
        if auth is not None:
            self.send_header("X-Received-Authorization", auth)
        # A server that will close says so (the client asked with "Connection: close", or a
        # route decided): a client must not pool a connection that is about to go away.
        if self.close_connection and not getattr(self, "_sent_connection", False):
            self.send_header("Connection", "close")
        self._sent_connection = False
        super().end_headers()

    def query(self):
        return dict(urllib.parse.parse_qsl(self.parsed.query, keep_blank_values=True))

    def qint(self, name, default):
        try:
            return int(self.q.get(name, default))
        except ValueError:
            return default

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("eof in chunked body")
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                total += n
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(n))
                self.rfile.readline(3)
            return b"".join(chunks), True
        length = int(self.headers.get("Content-Length", "0") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return (self.rfile.read(length) if length else b""), False

    def simple(self, code, text, headers=(), content_type="text/plain; charset=utf-8"):
        body = text if isinstance(text, bytes) else text.encode()
        self.send_response(code)
        if content_type:
            self.send_header("Content-Type", content_type)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_entity(self, body, ranges=True, content_type="application/octet-stream",
                    headers=(), accept_ranges=None):
        """A complete, correct response for `body`, honouring Range when `ranges`."""
        size = len(body)
        rng = parse_range(self.headers.get("Range"), size) if ranges else None
        extra = list(headers)
        if accept_ranges is not None:
            extra.append(("Accept-Ranges", accept_ranges))
        elif ranges:
            extra.append(("Accept-Ranges", "bytes"))
        if rng == "unsatisfiable":
            return self.simple(416, "range not satisfiable\n",
                               extra + [("Content-Range", "bytes */%d" % size)])
        code, part = 200, body
        if rng is not None:
            code, part = 206, body[rng[0]:rng[1] + 1]
            extra.append(("Content-Range", "bytes %d-%d/%d" % (rng[0], rng[1], size)))
        self.simple(code, part, extra, content_type)

    def send_partial(self, declared, payload, rst):
        """Declares `declared` bytes, sends `payload`, then closes (FIN) or resets (RST)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(declared))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.abort_connection(rst)

    def abort_connection(self, rst):
        self.close_connection = True
        try:
            self.wfile.flush()
            if rst:
                # Linger 0 turns close() into an RST; rfile holds a reference to the socket, so
                # it must go first for close() to take effect now.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.rfile.close()
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def count(self):
        key = self.path
        with _lock:
            _counts[key] = _counts.get(key, 0) + 1
            return _counts[key]

    # ---------------------------------------------------------------- dispatch
    def do_GET(self):
        self.dispatch()

    do_HEAD = do_GET
    do_POST = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET
    do_PATCH = do_GET
    do_OPTIONS = do_GET
    do_MKCOL = do_GET

    def dispatch(self):
        self.parsed = urllib.parse.urlsplit(self.path)
        self.q = self.query()
        path = self.parsed.path
        try:
            if path == "/":
                return self.r_root("")
            for prefix, fn in ROUTES:
                if path == prefix.rstrip("/") or path.startswith(prefix):
                    rest = path[len(prefix):] if path.startswith(prefix) else ""
                    return fn(self, rest)
            if path in FSSPEC_PATHS or path.startswith("/data/20020401"):
                return self.fsspec_route(path)
            self.simple(404, "no such route: %s\n" % path)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # ---------------------------------------------------------------- routes
    def r_root(self, rest):
        if rest:
            return self.simple(404, "no such route\n")
        self.simple(200, __doc__)

    def r_file(self, rest):
        body = pattern(self.qint("size", 0)) if "size" in self.q else DATA
        headers = []
        if "etag" in self.q:
            headers.append(("ETag", self.q["etag"]))
        if "last_modified" in self.q:
            headers.append(("Last-Modified", http_date(1700000000)))
        self.send_entity(body, content_type=self.q.get("content_type", "application/octet-stream"),
                         headers=headers)

    def r_echo(self, rest):
        body, chunked = self.read_body() if self.command in ("POST", "PUT", "PATCH") else (b"", False)
        out = {
            "method": self.command,
            "path": self.parsed.path,
            "query": self.parsed.query,
            "raw_path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "header": {k.lower(): v for k, v in self.headers.items()},
            "body_length": len(body),
            "chunked_request": chunked,
        }
        if len(body) < 65536:
            out["body"] = body.decode("utf-8", "replace")
        self.simple(200, json.dumps(out, indent=1) + "\n", content_type="application/json")

    def r_headers(self, rest):
        self.simple(200, b"", list(self.q.items()), content_type=None)

    def r_count(self, rest):
        key = "/" + rest + ("?" + self.parsed.query if self.parsed.query else "")
        with _lock:
            n = _counts.get(key, 0)
        self.simple(200, "%d\n" % n)

    def r_reset_counts(self, rest):
        with _lock:
            _counts.clear()
        self.simple(200, "ok\n")

    def r_chunked(self, rest):
        body = pattern(self.qint("size", 0)) if "size" in self.q else DATA
        chunk = max(1, self.qint("chunk", 1000))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.command == "HEAD":
            return
        for i in range(0, len(body), chunk):
            piece = body[i:i + chunk]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def r_norange(self, rest):
        body = pattern(self.qint("size", 0)) if "size" in self.q else DATA
        self.send_entity(body, ranges=False, accept_ranges=self.q.get("accept_ranges"))

    def r_gzip(self, rest):
        body = pattern(self.qint("size", 0)) if "size" in self.q else DATA
        ae = self.headers.get("Accept-Encoding", "")
        if self.q.get("respect_ae") == "1" and "gzip" not in ae:
            return self.send_entity(body, ranges=False, headers=[("Vary", "Accept-Encoding")])
        # mtime=0 keeps the compressed bytes (and so Content-Length) identical across requests.
        self.send_entity(gzip.compress(body, mtime=0), ranges=False,
                         headers=[("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")])

    def r_bomb(self, rest):
        mib = min(max(self.qint("mib", 1024), 1), 4096)
        with _lock:
            packed = _bombs.get(mib)
        if packed is None:
            packed = gzip_of_zeros(mib)
            with _lock:
                _bombs[mib] = packed
        self.send_entity(packed, ranges=False, headers=[("Content-Encoding", "gzip")])

    def r_keepalive_drop(self, rest):
        """A complete keep-alive response, then the server drops the connection after a pause
        without reading more: a client's next request on it (sent meanwhile) is lost, as with
        a server whose idle timeout fires just as the request arrives."""
        self.simple(200, "kept-alive %s\n" % (self.parsed.query or ""))
        self.wfile.flush()
        time.sleep(self.qint("pause_ms", 150) / 1000.0)
        self.abort_connection(rst=True)

    def r_garbage(self, rest):
        """Not HTTP at all: a line of text, then close."""
        self.close_connection = True
        self.wfile.write(b"this is not an HTTP response\r\n\r\n")
        self.wfile.flush()
        self.abort_connection(rst=False)

    def r_raw(self, rest):
        case = rest.strip("/")
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        if case == "te-gzip-chunked":
            z = gzip.compress(pattern(self.qint("size", 5000)))
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(z[i:i + 700]), z[i:i + 700])
                              for i in range(0, len(z), 700))
            wire = (head + b"Transfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n"
                    + chunks + b"0\r\n\r\n")
        elif case == "cl-plus":
            wire = head + b"Content-Length: +5\r\nConnection: close\r\n\r\nhello"
        elif case == "cl-wrap":
            wire = (head + b"Content-Length: 5\r\nContent-Length: 18446744073709551621\r\n"
                    b"Connection: close\r\n\r\nhello")
        elif case == "nul-header":
            wire = head + b"X-Odd: a\x00b\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
        elif case in ("gzip-truncated", "deflate-raw", "deflate-zlib", "gzip-members"):
            body = pattern(self.qint("size", 100000))
            if case == "gzip-truncated":
                z, coding = gzip.compress(body, mtime=0), "gzip"
                z = z[:len(z) // 2]
            elif case == "deflate-raw":
                c = zlib.compressobj(6, zlib.DEFLATED, -15)
                z, coding = c.compress(body) + c.flush(), "deflate"
            elif case == "deflate-zlib":
                z, coding = zlib.compress(body), "deflate"
            else:
                half = len(body) // 2
                z = gzip.compress(body[:half], mtime=0) + gzip.compress(body[half:], mtime=0)
                coding = "gzip"
            wire = (head + b"Content-Encoding: " + coding.encode() + b"\r\nContent-Length: "
                    + str(len(z)).encode() + b"\r\nConnection: close\r\n\r\n" + z)
        elif case == "http-version":
            wire = (b"HTTP/3.0 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
                    b"hello")
        elif case == "te-and-cl":
            self.close_connection = False
            self.wfile.write(head + b"Content-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"2\r\nok\r\n0\r\n\r\n")
            self.wfile.flush()
            return
        else:
            return self.simple(404, "no such raw case: %s\n" % case)
        self.close_connection = True
        self.wfile.write(wire)
        self.wfile.flush()
        self.abort_connection(rst=False)

    def r_deep(self, rest):
        if not self.parsed.path.endswith("/"):
            return self.send_entity(b"f\n")
        body = ('<html><body><a href="../">../</a><a href="d/">d/</a>'
                '<a href="f">f</a></body></html>').encode()
        self.send_entity(body, ranges=False, content_type="text/html")

    def r_truncated(self, rest):
        n = self.qint("size", len(DATA))
        m = min(n, self.qint("send", n // 2))
        body = DATA if "size" not in self.q else pattern(n)
        self.send_partial(n, body[:m], rst=False)

    def r_reset(self, rest):
        n = self.qint("size", len(DATA))
        m = min(n, self.qint("after", n // 2))
        body = DATA if "size" not in self.q else pattern(n)
        self.send_partial(n, body[:m], rst=True)

    def r_huge_length(self, rest):
        self.send_partial(self.qint("length", 10**15), b"0123456789", rst=False)

    def r_slow(self, rest):
        n = self.qint("size", 20)
        interval = max(0, self.qint("interval_ms", 100)) / 1000.0
        max_s = min(MAX_SLOW_MS, max(0, self.qint("max_ms", MAX_SLOW_MS))) / 1000.0
        body = pattern(n)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        if self.command == "HEAD":
            return
        deadline = time.monotonic() + max_s
        for i in range(n):
            if time.monotonic() >= deadline:
                return self.abort_connection(rst=False)
            self.wfile.write(body[i:i + 1])
            time.sleep(interval)

    def r_slow_headers(self, rest):
        time.sleep(min(MAX_SLOW_MS, max(0, self.qint("delay_ms", 1000))) / 1000.0)
        self.send_entity(self.q["body"].encode() if "body" in self.q else DATA)

    def r_nohead(self, rest):
        if self.command == "HEAD":
            code = self.qint("code", 405)
            return self.simple(code, "", [("Allow", "GET")] if code == 405 else [])
        body = pattern(self.qint("size", 0)) if "size" in self.q else DATA
        ranges = self.q.get("ranges", "1") != "0"
        self.send_entity(body, ranges=ranges)

    def r_status(self, rest):
        try:
            code = int(rest.strip("/"))
        except ValueError:
            return self.simple(400, "bad status\n")
        headers = []
        if code == 401:
            headers.append(("WWW-Authenticate", 'Basic realm="asyncfs"'))
        if code == 416:
            headers.append(("Content-Range", "bytes */%d" % len(DATA)))
        if 300 <= code < 400:
            headers.append(("Location", "/file/target"))
        if "retry_after" in self.q:
            headers.append(("Retry-After", self.q["retry_after"]))
        self.simple(code, "status %d\n" % code, headers)

    def r_flaky(self, rest):
        mode = rest.strip("/")
        attempt = self.count()
        fail = self.qint("fail", 1)
        body = pattern(self.qint("size", 0)) if "size" in self.q else DATA
        if attempt > fail:
            return self.send_entity(body, headers=[("X-Attempt", str(attempt))])
        if mode == "reset" or mode == "truncate":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Attempt", str(attempt))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body[:len(body) // 2])
            return self.abort_connection(rst=(mode == "reset"))
        try:
            code = int(mode)
        except ValueError:
            return self.simple(400, "bad flaky mode\n")
        headers = [("X-Attempt", str(attempt))]
        ra = self.q.get("retry_after", "0")
        if ra == "date":
            ts = time.time() + self.qint("ra_seconds", 1)
            headers.append(("Retry-After", http_date(ts)))
        elif ra != "none":
            headers.append(("Retry-After", ra))
        self.simple(code, "flaky %d, attempt %d of %d failing\n" % (code, attempt, fail), headers)

    def r_soak(self, rest):
        """/soak/?n=N: an index of f0..f{N-1}. /soak/f<i>?pct=P&seed=S: soak_body(i), or with
        probability P% (default 5) one of five faults, drawn per (file, attempt) from the seed:
        RST mid-body, 503, FIN mid-body (truncation), a drip (10 pieces 20 ms apart, then the
        whole body) or a corrupt gzip body. Injected faults are counted (/soak-stats)."""
        name = rest.strip("/")
        if not name:
            n = min(max(self.qint("n", 100), 0), 100000)
            links = "".join('<a href="f%d">f%d</a>\n' % (i, i) for i in range(n))
            return self.send_entity(("<html><body>%s</body></html>" % links).encode(),
                                    ranges=False, content_type="text/html")
        if not name.startswith("f") or not name[1:].isdigit():
            return self.simple(404, "no such soak file\n")
        body = soak_body(int(name[1:]))
        attempt = self.count()
        draw = random.Random("%s/%s/%d" % (self.q.get("seed", "0"), name, attempt)).random()
        pct = min(max(self.qint("pct", 5), 0), 100) / 100.0
        if self.command == "HEAD" or draw >= pct:
            return self.send_entity(body)
        kind = int(draw / pct * 5) if pct > 0 else 0
        with _lock:
            _soak_faults[SOAK_FAULTS[kind]] = _soak_faults.get(SOAK_FAULTS[kind], 0) + 1
        if kind in (0, 2):  # reset, truncate
            return self.send_partial(len(body), body[:len(body) // 2], rst=(kind == 0))
        if kind == 1:
            return self.simple(503, "soak: unavailable\n", [("Retry-After", "0")])
        if kind == 3:  # drip
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            step = max(1, len(body) // 10)
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
                time.sleep(0.02)
            return
        garbage = b"\x1f\x8b\x08\x00" + body[:64]  # a gzip header, then no deflate stream
        self.simple(200, garbage, [("Content-Encoding", "gzip")], "application/octet-stream")

    def r_soak_stats(self, rest):
        with _lock:
            stats = dict(_soak_faults)
            if self.command == "POST":
                _soak_faults.clear()
        self.simple(200, json.dumps(stats), content_type="application/json")

    def other_host(self):
        host = self.headers.get("Host", "127.0.0.1:%d" % self.server.server_port)
        name = "127.0.0.1" if host.startswith("localhost") else "localhost"
        return "%s:%d" % (name, self.server.server_port)

    def redirect_to(self, code, location):
        # A client that sent a body expects it consumed, or the connection closed: otherwise
        # its next request on this connection starts with the leftover body.
        extra = [("Location", location)]
        if self.command in ("PUT", "POST", "PATCH"):
            chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
            length = self.int_header("Content-Length")
            if not chunked and length <= (1 << 20):
                self.rfile.read(length)
            else:
                self.close_connection = True
                extra.append(("Connection", "close"))
        self.simple(code, "see %s\n" % location, extra)

    def int_header(self, name):
        try:
            return int(self.headers.get(name, "0") or 0)
        except ValueError:
            return 0

    def with_query(self, path):
        return path + ("?" + self.parsed.query if self.parsed.query else "")

    def r_redirect(self, rest):
        code, _, target = rest.partition("/")
        self.redirect_to(int(code), self.with_query("/" + target))

    def r_redirect_host(self, rest):
        code, _, target = rest.partition("/")
        self.redirect_to(int(code), "http://%s%s" % (self.other_host(),
                                                      self.with_query("/" + target)))

    def r_redirect_chain(self, rest):
        n, _, target = rest.partition("/")
        n = int(n)
        if n <= 1:
            return self.redirect_to(302, self.with_query("/" + target))
        self.redirect_to(302, self.with_query("/redirect-chain/%d/%s" % (n - 1, target)))

    def r_loop(self, rest):
        nxt = {"a": "/loop/b", "b": "/loop/a"}.get(rest, "/loop/self")
        self.redirect_to(302, nxt)

    def r_html(self, rest):
        self.simple(200, PAGE_HTML, content_type="text/html; charset=utf-8")

    def listing_route(self, prefix, rest, make):
        if rest == "" or rest.endswith("/"):
            if rest == "":
                body = make("/" + prefix + "/")
            else:
                body = link_list_html("Index of /%s/%s" % (prefix, rest), [("inner.txt", "inner")])
            ctype = None if self.q.get("no_type") == "1" else "text/html; charset=utf-8"
            return self.simple(200, body, content_type=ctype)
        self.send_entity(DATA)

    def r_apache(self, rest):
        self.listing_route("apache", rest, apache_index)

    def r_nginx(self, rest):
        self.listing_route("nginx", rest, nginx_index)

    def r_tricky(self, rest):
        host_port = "127.0.0.1:%d" % self.server.server_port
        other = "localhost:%d" % self.server.server_port
        self.listing_route("tricky", rest, lambda _: tricky_index(host_port, other))

    def r_sink(self, rest):
        name = rest
        if self.command in ("PUT", "POST"):
            body, chunked = self.read_body()
            with _lock:
                existed = name in _sink
                _sink[name] = body
                _sink_meta[name] = {
                    "method": self.command, "size": len(body),
                    "content_length": self.headers.get("Content-Length"),
                    "transfer_encoding": self.headers.get("Transfer-Encoding"),
                    "content_type": self.headers.get("Content-Type"), "chunked": chunked}
            return self.simple(204 if existed else 201, b"" if existed else b"created\n")
        if self.command == "DELETE":
            with _lock:
                existed = _sink.pop(name, None) is not None
                _sink_meta.pop(name, None)
            return self.simple(204 if existed else 404, b"" if existed else b"not found\n")
        if self.command in ("GET", "HEAD"):
            with _lock:
                body = _sink.get(name)
            if body is None:
                return self.simple(404, "not found\n")
            return self.send_entity(body)
        self.simple(405, "method not allowed\n", [("Allow", "GET, HEAD, PUT, POST, DELETE")])

    def r_sink_meta(self, rest):
        with _lock:
            meta = _sink_meta.get(rest)
        if meta is None:
            return self.simple(404, "not found\n")
        self.simple(200, json.dumps(meta) + "\n", content_type="application/json")

    # ------------------------------------------------ fsspec conftest-style routes
    def fsspec_route(self, path):
        h = self.headers
        if self.command in ("POST", "PUT"):
            if "Content-Length" not in h and "chunked" not in h.get("Transfer-Encoding", ""):
                return self.simple(411, "length or chunked required\n")
            body, _ = self.read_body()
            with _lock:
                _sink["fsspec:" + path] = body
            return self.simple(200, b"")
        if path == "/unauthorized":
            return self.simple(401, "unauthorized\n")
        if self.command == "HEAD":
            if "head_not_auth" in h:
                return self.simple(403, "")
            if "head_ok" not in h:
                return self.simple(405, "", [("Allow", "GET")])
        if "give_path" in h:
            return self.simple(200, json.dumps({"path": self.path}), content_type="application/json")
        if "redirect" in h and path != "/index/realfile":
            return self.redirect_to(301, "/index/realfile")
        with _lock:
            stored = _sink.get("fsspec:" + path)
        listing = False
        if stored is not None:
            body = stored
        elif path in ("/index/realfile", "/index/otherfile", "/simple/file", "/simple/dir/file"):
            body = DATA
        elif path == "/index":
            body, listing = link_list_html("index", [("realfile", "realfile")]), True
        elif path == "/simple/":
            body, listing = link_list_html("simple", [("file", "file"), ("dir/", "dir/")]), True
        elif path == "/simple/dir/":
            body, listing = link_list_html("dir", [("dir/file", "file")]), True
        elif path in ("/data/20020401", "/data/20020401/"):
            body, listing = iis_listing(), True
        elif path.startswith("/data/20020401/"):
            body = DATA
        else:
            return self.simple(404, "")
        if "gzip_encoding" in h:
            body = gzip.compress(body, mtime=0)
        full_size = len(body)
        code = 200
        headers = []
        rng = None if "ignore_range" in h else parse_range(h.get("Range"), full_size)
        if isinstance(rng, tuple):
            body = body[rng[0]:rng[1] + 1]
            if "use_206" in h or "give_range" in h:
                code = 206
            if "give_range" in h:
                headers.append(("Content-Range", "bytes %d-%d/%d" % (rng[0], rng[1], full_size)))
        if "gzip_encoding" in h:
            headers.append(("Content-Encoding", "gzip"))
        if "give_etag" in h:
            headers.append(("ETag", '"abc123"'))
        if "accept_range" in h:
            headers.append(("Accept-Ranges", h["accept_range"]))
        ctype = "text/html" if (listing and "give_mimetype" in h) else None
        length_wanted = ("give_length" in h or
                         (self.command == "HEAD" and "head_give_length" in h))
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        if "zero_length" in h:
            self.send_header("Content-Length", "0")
        elif length_wanted:
            self.send_header("Content-Length", str(len(body)))
        if "zero_length" in h or not length_wanted:
            # No usable length: delimit the body by closing the connection.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


FSSPEC_PATHS = {"/index/realfile", "/index/otherfile", "/index", "/index/", "/simple/",
                "/simple/dir/", "/simple/file", "/simple/dir/file", "/unauthorized"}

ROUTES = [
    ("/file/", Handler.r_file),
    ("/echo/", Handler.r_echo),
    ("/headers", Handler.r_headers),
    ("/count/", Handler.r_count),
    ("/reset-counts", Handler.r_reset_counts),
    ("/chunked", Handler.r_chunked),
    ("/norange", Handler.r_norange),
    ("/gzip", Handler.r_gzip),
    ("/bomb", Handler.r_bomb),
    ("/truncated", Handler.r_truncated),
    ("/keepalive-drop", Handler.r_keepalive_drop),
    ("/garbage", Handler.r_garbage),
    ("/raw/", Handler.r_raw),
    ("/deep/", Handler.r_deep),
    ("/reset", Handler.r_reset),
    ("/huge-length", Handler.r_huge_length),
    ("/slow-headers", Handler.r_slow_headers),
    ("/slow", Handler.r_slow),
    ("/nohead/", Handler.r_nohead),
    ("/status/", Handler.r_status),
    ("/flaky/", Handler.r_flaky),
    ("/soak-stats", Handler.r_soak_stats),
    ("/soak/", Handler.r_soak),
    ("/redirect-host/", Handler.r_redirect_host),
    ("/redirect-chain/", Handler.r_redirect_chain),
    ("/redirect/", Handler.r_redirect),
    ("/loop/", Handler.r_loop),
    ("/html/", Handler.r_html),
    ("/apache/", Handler.r_apache),
    ("/nginx/", Handler.r_nginx),
    ("/tricky/", Handler.r_tricky),
    ("/sink-meta/", Handler.r_sink_meta),
    ("/sink/", Handler.r_sink),
]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def watch_parent(parent):
    # Orphaned (the test binary died without killing us): exit instead of lingering.
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = Server(("127.0.0.1", port), Handler)
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    sys.stdout.write("%d\n" % server.server_address[1])
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
