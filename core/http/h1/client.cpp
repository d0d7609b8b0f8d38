// Native HTTP/1.1 client (see client.hpp). Objects and their lifetimes:
//  * Conn: one TCP connection (uv_tcp_t + a timer). Owned by Impl::conns; freed by the close
//    callback of its last handle, so libuv callbacks never see freed memory.
//  * Exchange: one request/response, shared between the awaiting coroutine frame and its Conn
//    (or the host's wait queue). A stop request holds only a weak reference.
// A finished exchange gives its connection back to the pool (or to the next queued exchange)
// before its coroutine is resumed, and nothing touches the connection after the resume: the
// resumed code may start another exchange on that same connection.

#include "core/http/h1/client.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "asyncfs/errors.hpp"
#include "core/http/body_buffer.hpp"
#include "core/http/body_sink.hpp"
#include "core/http/h1/response_parser.hpp"
#include "core/http/header_util.hpp"

namespace asyncfs::http::h1 {
namespace {

// One receive buffer per client, lent to whichever connection libuv reads next: reads are
// consumed before the read callback returns, so one buffer serves every connection.
constexpr std::size_t kReadBufferSize = 256 * 1024;
// Largest read made straight into a sink's room (see on_alloc).
constexpr std::size_t kDirectReadSize = 1024 * 1024;
// Resolved host names are reused for this long (curl's default DNS cache timeout).
constexpr std::uint64_t kDnsTtlMs = 60'000;
// Names the lookup cache holds before it drops expired ones.
constexpr std::size_t kMaxDnsEntries = 1024;
// Idle connections per host kept for reuse.
constexpr std::size_t kMaxIdlePerHost = 256;

bool env_proxy_set() {
  // The variables libcurl reads for http:// URLs (it ignores HTTP_PROXY for CGI safety).
  for (const char* name : {"http_proxy", "all_proxy", "ALL_PROXY"}) {
    const char* v = std::getenv(name);
    if (v && *v) return true;
  }
  return false;
}

/// "localhost" or a name below it (RFC 6761 section 6.3), in any case.
bool is_localhost(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (iequals(host, "localhost")) return true;
  return host.size() > 10 && iequals(host.substr(host.size() - 10), ".localhost");
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string uv_text(int rc) { return uv_strerror(rc); }

}  // namespace

struct Conn;
struct Exchange;

struct HostPool {
  std::vector<Conn*> idle;                        // most recently used last
  std::size_t total = 0;                          // open or opening connections of this host
  std::deque<std::shared_ptr<Exchange>> waiting;  // over the per-host cap
};

struct DnsEntry {
  std::vector<sockaddr_storage> addrs;
  std::uint64_t expires = 0;  // uv_now()
};

struct Client::Impl {
  IoThread* io = nullptr;
  uv_loop_t* loop = nullptr;
  std::unique_ptr<char[]> read_buffer{new char[kReadBufferSize]};
  std::unordered_map<std::string, HostPool> hosts;
  std::unordered_map<std::string, DnsEntry> dns;
  std::unordered_set<Conn*> conns;
  std::unordered_set<Exchange*> exchanges;  // started and not finished
  std::atomic<std::uint64_t> opened{0};
  std::atomic<std::size_t> active{0};
  bool shutting_down = false;

  void start(const std::shared_ptr<Exchange>& ex);
  /// A new connection for `ex` (its host slot already counted); `addrs` skips the lookup.
  void open_conn(const std::shared_ptr<Exchange>& ex, std::vector<sockaddr_storage> addrs = {});
  /// Opens a connection for the first queued exchange of `pool` when the cap allows.
  void admit_waiter(HostPool& pool);
  /// Caches a lookup; expired entries go once the cache holds many names.
  void remember_dns(const std::string& host, const std::vector<sockaddr_storage>& addrs);
  /// A connection whose exchange ended well: to the next queued exchange, the pool, or closed.
  void release(Conn* c, bool reusable);
  void close_conn(Conn* c);
  /// Ends an exchange (error or not): detaches it and resumes its coroutine. Last thing a
  /// callback does.
  void finish(Exchange& ex);
};

struct Exchange : std::enable_shared_from_this<Exchange> {
  struct OnStop {
    IoThread* io;
    std::weak_ptr<Exchange> ex;
    void operator()() const noexcept;
  };

  Client::Impl* impl = nullptr;
  Request* rq = nullptr;  // the fetch frame's: its sink is called
  const PlainUrl* url = nullptr;
  const TransportOptions* op = nullptr;
  bool follow = false;

  Response response;
  Conn* conn = nullptr;
  bool queued = false;
  bool started = false;
  bool starting = false;  // inside start(): finish() must not resume (see ExchangeAwaiter)
  bool cancelled = false;
  bool retried = false;             // already re-sent once after a dead keep-alive connection
  bool discard = false;             // a redirect about to be followed: its body goes nowhere
  bool fallback = false;            // encoded body the caller wants decoded: libcurl redoes the hop
  SinkStop stop = SinkStop::kNone;  // why the sink stopped the exchange
  std::exception_ptr sink_error;
  std::exception_ptr error;  // set when it failed
  std::coroutine_handle<> waiter;
  std::optional<std::stop_callback<OnStop>> on_stop;

  // Timeouts (uv_now() milliseconds).
  std::uint64_t window_start = 0;
  std::uint64_t window_bytes = 0;  // response.body_bytes at window_start (plus head bytes)
  std::uint64_t received = 0;      // every response byte, head included (low-speed check)
  std::optional<std::uint64_t> deadline;

  void fail(std::exception_ptr e) {
    if (!error) error = std::move(e);
  }
  template <class E, class... A>
  void fail_with(A&&... args) {
    fail(std::make_exception_ptr(E(rq->url, std::forward<A>(args)...)));
  }
  void on_head(ResponseParser& p);
  bool on_body(std::string_view data);
};

struct Conn {
  Client::Impl* impl = nullptr;
  std::string key;  // host pool key
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  uv_connect_t connect_req{};
  uv_write_t write_req{};
  uv_getaddrinfo_t* resolving = nullptr;  // pending lookup (its data cleared when we close)
  std::vector<sockaddr_storage> addrs;
  std::size_t next_addr = 0;
  int handles_open = 0;  // tcp + timer: freed when both close callbacks ran
  bool connected = false;
  bool closing = false;
  bool paused = false;  // reading stopped by the sink's FlowGate (Engine::stream)
  bool writing = false;
  std::uint64_t served = 0;  // responses completed on this connection
  std::shared_ptr<Exchange> ex;
  ResponseParser parser;
  std::string out;  // the request being written

  void send();
  void arm_timer();
  void on_read(std::string_view data);
  /// Asks the kernel to acknowledge what was read at once instead of delaying the ACK (see
  /// the definition: without it a response's last small segment can wait up to 40 ms).
  void ack_now();
  /// Stops reading while the stream's consumer is behind; the gate's resume restarts it.
  void pause_reading();
  void resume_reading();
  void on_eof_or_error(int rc);
  void connect_next();
  void fail_connect(int rc, bool resolving_failed);
};

// --- exchange body handling -------------------------------------------------------------------

void Exchange::on_head(ResponseParser& p) {
  response.status = p.status();
  response.headers = std::move(p.headers());
  if (follow && is_redirect(p.status()) && response.header("location")) {
    discard = true;
    return;
  }
  if (p.transfer_coded()) {
    // "Transfer-Encoding: gzip, chunked": this client only de-chunks; libcurl decodes the
    // rest, so the hop is redone there rather than delivering compressed bytes as the body.
    fallback = true;
    return;
  }
  if (!rq->accept_encoding.empty()) {
    // We asked for identity; a server compressing anyway is left to libcurl, which decodes.
    // Nothing has reached the sink or the progress callback yet.
    const auto enc = response.header("content-encoding");
    if (enc && !enc->empty() && !iequals(*enc, "identity")) {
      fallback = true;
      return;
    }
  }
  if (rq->progress && (p.status() < 300 || p.status() >= 400)) {
    rq->progress->set_size(p.content_length());
  }
  if (rq->sink.on_head) rq->sink.on_head(response.status, response.headers);
  if (!rq->sink.on_data && p.content_length() && rq->method != "HEAD") {
    reserve_body(response.body, *p.content_length(), rq->sink.max_bytes);
  }
}

bool Exchange::on_body(std::string_view data) {
  if (discard) return true;
  stop = deliver_body(*rq, response, data, rq->progress, sink_error);
  return stop == SinkStop::kNone;
}

void Exchange::OnStop::operator()() const noexcept {
  // Any thread: only post, the loop thread does the rest.
  try {
    io->post([weak = ex] {
      auto e = weak.lock();
      if (!e || !e->impl || !e->waiter) return;  // finished meanwhile, or the client is gone
      e->cancelled = true;
      e->impl->finish(*e);
    });
  } catch (...) {
    // The loop is shutting down; ~Client drops what is left.
  }
}

// --- connections ------------------------------------------------------------------------------

namespace {

void on_close(uv_handle_t* h) {
  auto* c = static_cast<Conn*>(h->data);
  if (--c->handles_open == 0) delete c;
}

void on_alloc(uv_handle_t* h, std::size_t /*suggested*/, uv_buf_t* buf) {
  auto* c = static_cast<Conn*>(h->data);
  Exchange* e = c->ex.get();
  if (e && c->parser.in_length_body() && e->rq->sink.room && !e->discard) {
    // A sink with room of its own (a file being downloaded): receive into it.
    const std::span<char> room = e->rq->sink.room();
    if (!room.empty()) {
      buf->base = room.data();
      buf->len = static_cast<std::size_t>(
          std::min<std::uint64_t>({room.size(), c->parser.remaining(), kDirectReadSize}));
      return;
    }
  }
  buf->base = c->impl->read_buffer.get();
  buf->len = kReadBufferSize;
}

void on_read_cb(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* c = static_cast<Conn*>(s->data);
  if (c->closing) return;
  if (n > 0) {
    c->on_read(std::string_view(buf->base, static_cast<std::size_t>(n)));
  } else if (n < 0) {
    c->on_eof_or_error(static_cast<int>(n));
  }
}

void on_timer_cb(uv_timer_t* t) {
  auto* c = static_cast<Conn*>(t->data);
  if (c->closing) return;
  Exchange* ex = c->ex.get();
  if (!ex) {
    c->impl->close_conn(c);
    return;
  }
  const std::uint64_t now = uv_now(c->impl->loop);
  const TransportOptions& op = *ex->op;
  if (!c->connected) {
    ex->fail_with<Timeout>("HTTP transfer timed out",
                           ErrorDetails{0, "connection timed out after " +
                                               std::to_string(op.connect_timeout.count()) + " ms"});
  } else if (ex->deadline && now >= *ex->deadline) {
    ex->fail_with<Timeout>("HTTP transfer timed out",
                           ErrorDetails{0, "operation timed out after " +
                                               std::to_string(op.total_timeout->count()) + " ms"});
  } else if (op.low_speed_limit > 0 && op.low_speed_time.count() > 0 &&
             now >= ex->window_start + static_cast<std::uint64_t>(op.low_speed_time.count())) {
    const std::uint64_t got = ex->received - ex->window_bytes;
    const double secs = static_cast<double>(now - ex->window_start) / 1000.0;
    if (static_cast<double>(got) < static_cast<double>(op.low_speed_limit) * secs) {
      ex->fail_with<Timeout>(
          "HTTP transfer timed out",
          ErrorDetails{0, "less than " + std::to_string(op.low_speed_limit) +
                              " bytes/s over the last " +
                              std::to_string(op.low_speed_time.count() / 1000) + " s"});
    } else {
      ex->window_start = now;
      ex->window_bytes = ex->received;
      c->arm_timer();
      return;
    }
  } else {
    c->arm_timer();
    return;
  }
  // A timed-out connection is in an unknown state: never reuse it.
  auto keep = c->ex;
  c->impl->close_conn(c);
  c->impl->finish(*keep);
}

}  // namespace

void Conn::arm_timer() {
  Exchange* e = ex.get();
  if (!e || closing) return;
  const TransportOptions& op = *e->op;
  const std::uint64_t now = uv_now(impl->loop);
  std::uint64_t due = UINT64_MAX;
  if (!connected) {
    due = now + static_cast<std::uint64_t>(op.connect_timeout.count());
  } else {
    if (op.low_speed_limit > 0 && op.low_speed_time.count() > 0) {
      due = e->window_start + static_cast<std::uint64_t>(op.low_speed_time.count());
    }
    if (e->deadline) due = std::min(due, *e->deadline);
  }
  if (due == UINT64_MAX) {
    uv_timer_stop(&timer);
  } else {
    uv_timer_start(&timer, &on_timer_cb, due > now ? due - now : 0, 0);
  }
}

void Conn::send() {
  Exchange& e = *ex;
  const Request& rq = *e.rq;
  const PlainUrl& u = *e.url;
  out.clear();
  out.append(rq.method).append(" ").append(u.target).append(" HTTP/1.1\r\n");
  if (!has_header(rq.headers, "host")) out.append("Host: ").append(u.host_header).append("\r\n");
  if (!has_header(rq.headers, "accept")) out.append("Accept: */*\r\n");
  if (!has_header(rq.headers, "accept-encoding")) out.append("Accept-Encoding: identity\r\n");
  for (const auto& [name, value] : rq.headers) {
    out.append(name).append(value.empty() ? ":" : ": ").append(value).append("\r\n");
  }
  out.append("\r\n");

  parser.start(rq.method == "HEAD");
  const std::uint64_t now = uv_now(impl->loop);
  e.window_start = now;
  e.window_bytes = e.received;
  arm_timer();

  uv_buf_t buf = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
  // Usually the whole request fits the socket buffer: no write request, no callback.
  const int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp), &buf, 1);
  if (n == static_cast<int>(out.size())) return;
  if (n < 0 && n != UV_EAGAIN) {
    on_eof_or_error(n);
    return;
  }
  const std::size_t done = n > 0 ? static_cast<std::size_t>(n) : 0;
  buf = uv_buf_init(out.data() + done, static_cast<unsigned>(out.size() - done));
  write_req.data = this;
  writing = true;
  const int rc = uv_write(&write_req, reinterpret_cast<uv_stream_t*>(&tcp), &buf, 1,
                          [](uv_write_t* req, int status) {
                            auto* c = static_cast<Conn*>(req->data);
                            c->writing = false;
                            if (status < 0 && !c->closing && c->ex) c->on_eof_or_error(status);
                          });
  if (rc < 0) {
    writing = false;
    on_eof_or_error(rc);
  }
}

void Conn::on_read(std::string_view data) {
  if (!ex) {
    // Bytes nobody asked for (a server's 408 before closing an idle connection...).
    impl->close_conn(this);
    return;
  }
  std::shared_ptr<Exchange> e = ex;
  e->received += data.size();
  try {
    while (!data.empty()) {
      const bool had_head = parser.head_complete();
      auto body = [&e](std::string_view b) { return e->on_body(b); };
      const std::size_t used = parser.feed(data, body);
      data.remove_prefix(used);
      if (e->stop != SinkStop::kNone) break;
      if (!had_head && parser.head_complete()) {
        e->on_head(parser);
        if (e->fallback) break;
      }
      if (parser.done()) break;
    }
  } catch (const ParseError& err) {
    e->fail_with<ProtocolError>("invalid HTTP response", ErrorDetails{0, err.what()});
  } catch (const std::bad_alloc&) {
    // A libuv read callback: nothing may escape it. The one exchange fails.
    e->fail_with<OutOfMemory>("out of memory while reading the response");
  }
  if (e->stop != SinkStop::kNone) {
    e->fail(sink_stop_error(e->stop, *e->rq, std::exchange(e->sink_error, nullptr)));
  }
  if (e->error || e->fallback) {
    impl->close_conn(this);
    impl->finish(*e);
    return;
  }
  if (!parser.done()) {
    const auto& gate = e->rq->sink.gate;
    if (gate && gate->pause_wanted && !paused) {
      pause_reading();
    } else {
      ack_now();
    }
    return;  // more to come
  }
  ++served;
  // Extra bytes after a complete response mean the server is confused: do not reuse.
  impl->release(this, parser.keep_alive() && data.empty());
  impl->finish(*e);
}

void Conn::ack_now() {
  // Mid-response, the server may hold its last small segment back until our ACK of the
  // previous one arrives (Nagle, or a corked sendfile: nginx's tcp_nopush), and a delayed
  // ACK leaves it waiting up to 40 ms. A 1,000 x 64 KiB bulk cat spent half its time in such
  // waits; TCP_QUICKACK is not sticky, so it is renewed after each partial read. Responses
  // read whole in one go (small files) never get here.
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&tcp), &fd) != 0) return;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

void Conn::pause_reading() {
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
  uv_timer_stop(&timer);  // a paused transfer is not slow
  paused = true;
  ex->rq->sink.gate->resume = [io = impl->io, weak = std::weak_ptr<Exchange>(ex)] {
    io->post([weak] {
      auto e = weak.lock();
      if (e && e->conn && e->conn->paused) e->conn->resume_reading();
    });
  };
}

void Conn::resume_reading() {
  paused = false;
  ex->window_start = uv_now(impl->loop);
  ex->window_bytes = ex->received;
  arm_timer();
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp), &on_alloc, &on_read_cb);
}

void Conn::on_eof_or_error(int rc) {
  std::shared_ptr<Exchange> e = ex;
  if (!e) {
    impl->close_conn(this);
    return;
  }
  if (rc == UV_EOF && parser.on_eof()) {
    // A body delimited by the connection's end.
    ++served;
    impl->release(this, false);
    impl->finish(*e);
    return;
  }
  if (!parser.started() && served > 0 && !e->retried) {
    // A kept-alive connection the server had closed: send the request again on a new one,
    // once (what curl does too). Safe: only GET and HEAD come here.
    e->retried = true;
    ex.reset();
    e->conn = nullptr;
    impl->close_conn(this);
    impl->start(e);
    return;
  }
  const std::string cause = uv_text(rc);
  if (parser.head_complete() && !parser.done()) {
    e->fail_with<NetworkError>(
        "truncated response body",
        ErrorDetails{0, rc == UV_EOF
                            ? "connection closed with " +
                                  (parser.remaining() ? std::to_string(parser.remaining()) +
                                                            " body bytes outstanding"
                                                      : std::string("the body incomplete"))
                            : cause});
  } else if (!parser.started()) {
    e->fail_with<NetworkError>(
        "HTTP transfer failed",
        ErrorDetails{0, rc == UV_EOF ? "empty reply from server (connection closed)" : cause});
  } else {
    e->fail_with<NetworkError>(
        "HTTP transfer failed",
        ErrorDetails{
            0, rc == UV_EOF ? "connection closed in the middle of the response head" : cause});
  }
  impl->close_conn(this);
  impl->finish(*e);
}

void Conn::fail_connect(int rc, bool resolving_failed) {
  std::shared_ptr<Exchange> e = ex;
  if (e) {
    if (resolving_failed) {
      e->fail_with<NetworkError>("cannot resolve host",
                                 ErrorDetails{0, e->url->host + ": " + uv_text(rc)});
    } else if (rc == UV_EMFILE || rc == UV_ENFILE) {
      e->fail_with<NetworkError>(std::string(kTooManyOpenFiles),
                                 ErrorDetails{0, e->url->host_header + ": " + uv_text(rc)});
    } else {
      e->fail_with<NetworkError>("cannot connect",
                                 ErrorDetails{0, e->url->host_header + ": " + uv_text(rc)});
    }
  }
  impl->close_conn(this);
  if (e) impl->finish(*e);
}

void Conn::connect_next() {
  if (next_addr >= addrs.size()) {
    fail_connect(UV_ECONNREFUSED, false);
    return;
  }
  const auto* addr = reinterpret_cast<const sockaddr*>(&addrs[next_addr++]);
  connect_req.data = this;
  const int rc = uv_tcp_connect(&connect_req, &tcp, addr, [](uv_connect_t* req, int status) {
    auto* c = static_cast<Conn*>(req->data);
    if (c->closing || status == UV_ECANCELED) return;
    if (status < 0) {
      if (c->next_addr < c->addrs.size() && c->ex) {
        // libuv cannot reconnect a handle that failed: a fresh one tries the next address.
        Client::Impl* im = c->impl;
        auto e = c->ex;
        std::vector<sockaddr_storage> rest(c->addrs.begin() + static_cast<long>(c->next_addr),
                                           c->addrs.end());
        c->ex.reset();
        e->conn = nullptr;
        im->hosts[c->key].total += 1;  // the new connection takes over this one's slot
        im->close_conn(c);
        im->open_conn(e, std::move(rest));
        return;
      }
      c->fail_connect(status, false);
      return;
    }
    c->connected = true;
    uv_tcp_nodelay(&c->tcp, 1);
    uv_tcp_keepalive(&c->tcp, 1, 60);
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), &on_alloc, &on_read_cb);
    c->send();
  });
  if (rc < 0) fail_connect(rc, false);
}

// --- pool ---------------------------------------------------------------------------------------

void Client::Impl::start(const std::shared_ptr<Exchange>& ex) {
  HostPool& pool = hosts[ex->url->pool_key];
  while (!pool.idle.empty()) {
    Conn* c = pool.idle.back();
    pool.idle.pop_back();
    if (c->closing) continue;
    c->ex = ex;
    ex->conn = c;
    ex->response.new_connection = false;
    c->send();
    return;
  }
  const long cap = ex->op->max_host_connections;
  if (cap > 0 && pool.total >= static_cast<std::size_t>(cap)) {
    ex->queued = true;
    pool.waiting.push_back(ex);
    return;
  }
  pool.total += 1;
  open_conn(ex);
}

void Client::Impl::remember_dns(const std::string& host,
                                const std::vector<sockaddr_storage>& addrs) {
  const std::uint64_t now = uv_now(loop);
  if (dns.size() >= kMaxDnsEntries) {
    std::erase_if(dns, [now](const auto& kv) { return kv.second.expires <= now; });
    if (dns.size() >= kMaxDnsEntries) dns.clear();  // all fresh: start over rather than grow
  }
  dns[host] = DnsEntry{addrs, now + kDnsTtlMs};
}

void Client::Impl::admit_waiter(HostPool& pool) {
  while (!shutting_down && !pool.waiting.empty()) {
    std::shared_ptr<Exchange> next = pool.waiting.front();
    const long cap = next->op->max_host_connections;
    if (cap > 0 && pool.total >= static_cast<std::size_t>(cap)) return;
    pool.waiting.pop_front();
    next->queued = false;
    if (next->cancelled || !next->waiter) continue;
    pool.total += 1;
    open_conn(next);
    return;
  }
}

void Client::Impl::open_conn(const std::shared_ptr<Exchange>& ex,
                             std::vector<sockaddr_storage> addrs) {
  auto* c = new Conn();
  c->impl = this;
  c->key = ex->url->pool_key;
  c->tcp.data = c;
  c->timer.data = c;
  uv_tcp_init(loop, &c->tcp);
  uv_timer_init(loop, &c->timer);
  c->handles_open = 2;
  conns.insert(c);
  c->ex = ex;
  ex->conn = c;
  ex->response.new_connection = true;
  opened.fetch_add(1, std::memory_order_relaxed);
  c->arm_timer();  // the connect timeout covers the name lookup too

  const PlainUrl& u = *ex->url;
  if (!addrs.empty()) {
    c->addrs = std::move(addrs);
    c->connect_next();
    return;
  }
  sockaddr_in v4{};
  if (uv_ip4_addr(u.host.c_str(), u.port, &v4) == 0) {
    sockaddr_storage ss{};
    std::memcpy(&ss, &v4, sizeof v4);
    c->addrs.push_back(ss);
    c->connect_next();
    return;
  }
  if (is_localhost(u.host)) {
    // RFC 6761: loopback, without asking the resolver (as curl does). A minimal system may
    // have no /etc/hosts at all.
    sockaddr_storage ss4{};
    sockaddr_in lo4{};
    uv_ip4_addr("127.0.0.1", u.port, &lo4);
    std::memcpy(&ss4, &lo4, sizeof lo4);
    sockaddr_storage ss6{};
    sockaddr_in6 lo6{};
    uv_ip6_addr("::1", u.port, &lo6);
    std::memcpy(&ss6, &lo6, sizeof lo6);
    c->addrs = {ss4, ss6};
    c->connect_next();
    return;
  }
  if (auto it = dns.find(u.host); it != dns.end() && it->second.expires > uv_now(loop)) {
    c->addrs = it->second.addrs;
    for (auto& ss : c->addrs) {
      // Cached addresses carry the port of whoever resolved them.
      if (ss.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(u.port);
      if (ss.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(u.port);
    }
    c->connect_next();
    return;
  }
  auto* req = new uv_getaddrinfo_t();
  req->data = c;
  c->resolving = req;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  const std::string port = std::to_string(u.port);
  const int rc = uv_getaddrinfo(
      loop, req,
      [](uv_getaddrinfo_t* r, int status, addrinfo* res) {
        auto* conn = static_cast<Conn*>(r->data);
        delete r;
        if (!conn) {  // closed meanwhile
          if (res) uv_freeaddrinfo(res);
          return;
        }
        conn->resolving = nullptr;
        if (status < 0 || !res) {
          if (res) uv_freeaddrinfo(res);
          conn->fail_connect(status < 0 ? status : UV_EAI_NONAME, true);
          return;
        }
        for (addrinfo* ai = res; ai; ai = ai->ai_next) {
          if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
          sockaddr_storage ss{};
          std::memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
          conn->addrs.push_back(ss);
        }
        uv_freeaddrinfo(res);
        if (conn->ex) conn->impl->remember_dns(conn->ex->url->host, conn->addrs);
        conn->connect_next();
      },
      u.host.c_str(), port.c_str(), &hints);
  if (rc < 0) {
    delete req;
    c->resolving = nullptr;
    c->fail_connect(rc, true);
  }
}

void Client::Impl::release(Conn* c, bool reusable) {
  std::shared_ptr<Exchange> done = std::move(c->ex);
  if (done) done->conn = nullptr;
  uv_timer_stop(&c->timer);
  HostPool& pool = hosts[c->key];
  if (!reusable || c->closing || shutting_down) {
    close_conn(c);
    return;
  }
  while (!pool.waiting.empty()) {
    std::shared_ptr<Exchange> next = std::move(pool.waiting.front());
    pool.waiting.pop_front();
    next->queued = false;
    if (next->cancelled || !next->waiter) continue;
    c->ex = next;
    next->conn = c;
    c->send();
    return;
  }
  if (pool.idle.size() >= kMaxIdlePerHost) {
    close_conn(c);
    return;
  }
  pool.idle.push_back(c);
}

void Client::Impl::close_conn(Conn* c) {
  if (c->closing) return;
  c->closing = true;
  if (c->ex) {
    c->ex->conn = nullptr;
    c->ex.reset();
  }
  if (c->resolving) {
    c->resolving->data = nullptr;  // its callback only frees it now
    uv_cancel(reinterpret_cast<uv_req_t*>(c->resolving));
    c->resolving = nullptr;
  }
  conns.erase(c);
  auto it = hosts.find(c->key);
  if (it != hosts.end()) {
    HostPool& pool = it->second;
    std::erase(pool.idle, c);
    if (pool.total > 0) pool.total -= 1;
    admit_waiter(pool);  // a slot under the cap is free now
  }
  // A crawl over many hosts must not keep a pool per host forever. Looked up again:
  // admit_waiter() may have opened, failed and closed connections meanwhile. Callers that
  // hold a reference to the pool return right after closing (see start() and release()).
  if (auto again = hosts.find(c->key); again != hosts.end()) {
    const HostPool& pool = again->second;
    if (pool.total == 0 && pool.idle.empty() && pool.waiting.empty()) hosts.erase(again);
  }
  uv_timer_stop(&c->timer);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), &on_close);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->timer), &on_close);
}

void Client::Impl::finish(Exchange& ex) {
  if (ex.conn) {
    // Still on a connection mid-exchange (a cancel): the connection state is unknown.
    close_conn(ex.conn);
  }
  if (ex.queued) {
    auto& waiting = hosts[ex.url->pool_key].waiting;
    std::erase_if(waiting, [&](const auto& p) { return p.get() == &ex; });
    ex.queued = false;
  }
  if (ex.started) {
    ex.started = false;
    exchanges.erase(&ex);
    active.fetch_sub(1, std::memory_order_relaxed);
  }
  if (ex.starting) {
    ex.waiter = {};  // finished inside await_suspend: it does not suspend instead
    return;
  }
  if (auto h = std::exchange(ex.waiter, {})) h.resume();
}

// --- awaiting ---------------------------------------------------------------------------------

namespace {

struct ExchangeAwaiter {
  Client::Impl* impl;
  std::shared_ptr<Exchange> ex;
  bool cancelled_before_start = false;

  bool await_ready() const noexcept { return false; }
  template <detail::HasStopToken P>
  bool await_suspend(std::coroutine_handle<P> h) {
    std::stop_token stop = h.promise().stop_token();
    if (stop.stop_requested()) {
      cancelled_before_start = true;
      return false;
    }
    ex->waiter = h;
    ex->started = true;
    impl->exchanges.insert(ex.get());
    impl->active.fetch_add(1, std::memory_order_relaxed);
    if (stop.stop_possible()) {
      ex->on_stop.emplace(std::move(stop), Exchange::OnStop{impl->io, ex});
    }
    // start() may finish the exchange at once (a refused write...): finish() then clears the
    // waiter instead of resuming, and we do not suspend.
    ex->starting = true;
    impl->start(ex);
    ex->starting = false;
    return ex->waiter != nullptr;
  }
  void await_resume() {
    ex->on_stop.reset();  // waits for a stop callback running on another thread
    if (cancelled_before_start || ex->cancelled) {
      throw Cancelled(ex->rq->url, "HTTP transfer cancelled");
    }
    // Moved out: the exception may travel to another thread (a sync() caller) while the loop
    // still holds the exchange, and only one owner may then release it.
    if (ex->error) std::rethrow_exception(std::exchange(ex->error, nullptr));
  }
};

/// Lives in the exchange's frame: if the frame is destroyed while suspended (an abandoned
/// parent), the exchange lets go of its connection and is never resumed.
struct ExchangeGuard {
  std::shared_ptr<Exchange> ex;
  ~ExchangeGuard() {
    ex->waiter = {};
    ex->on_stop.reset();
    if (ex->impl && (ex->conn || ex->queued || ex->started)) ex->impl->finish(*ex);
  }
};

}  // namespace

// --- Client -------------------------------------------------------------------------------------

Client::Client(IoThread& io) : impl_(std::make_unique<Impl>()) {
  impl_->io = &io;
  impl_->loop = io.loop();
}

Client::~Client() {
  Impl& im = *impl_;
  im.shutting_down = true;
  for (Exchange* ex : im.exchanges) {
    ex->waiter = {};
    ex->impl = nullptr;
    ex->conn = nullptr;
    ex->queued = false;
    ex->started = false;
  }
  im.exchanges.clear();
  for (auto& [key, pool] : im.hosts) pool.waiting.clear();
  std::vector<Conn*> all(im.conns.begin(), im.conns.end());
  for (Conn* c : all) {
    c->ex.reset();
    im.close_conn(c);
  }
  // Conns free themselves in their close callbacks, which run after this (the loop outlives
  // services); they only touch their own memory then.
}

std::optional<PlainUrl> Client::target_of(const Request& rq, const TransportOptions& op) {
  static const bool proxied = env_proxy_set();
  if (!op.native_http1 || proxied || !op.proxy.empty()) return std::nullopt;
  if (rq.method != "GET" && rq.method != "HEAD") return std::nullopt;
  if (rq.body || !rq.upload_path.empty()) return std::nullopt;
  for (const auto& [name, value] : rq.headers) {
    if (name.empty() || name.find(':') != std::string::npos || has_line_break(name) ||
        has_line_break(value)) {
      return std::nullopt;
    }
  }
  return parse_plain_url(rq.url);
}

Task<std::optional<Response>> Client::exchange(Request& rq, const PlainUrl& url,
                                               const TransportOptions& op, bool follow) {
  auto ex = std::make_shared<Exchange>();
  ExchangeGuard guard{ex};
  ex->impl = impl_.get();
  ex->rq = &rq;
  ex->url = &url;
  ex->op = &op;
  ex->follow = follow;
  if (op.total_timeout) {
    ex->deadline = uv_now(impl_->loop) + static_cast<std::uint64_t>(op.total_timeout->count());
  }
  ExchangeAwaiter awaiter{impl_.get(), ex};
  co_await awaiter;
  if (ex->fallback) co_return std::nullopt;
  co_return std::move(ex->response);
}

std::uint64_t Client::connections_opened() const noexcept {
  return impl_->opened.load(std::memory_order_relaxed);
}

std::size_t Client::active_exchanges() const noexcept {
  return impl_->active.load(std::memory_order_relaxed);
}

}  // namespace asyncfs::http::h1
