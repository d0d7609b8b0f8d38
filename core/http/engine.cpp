// The curl-multi engine: one CURLM per IoThread driven by uv_poll_t (one per socket curl asks
// us to watch) and one uv_timer_t (curl's single timeout), through curl_multi_socket_action.
//
// Invariants (docs/threading.md, cpp-anchors c2/c3/c5/d):
//  * Everything runs on the loop thread. Other threads only request stop; the stop callback
//    posts a job that re-checks the transfer is still attached.
//  * No curl multi call and no coroutine resumption inside a curl callback. Finished transfers
//    are collected by drain() (after every socket_action, whatever running_handles says) and
//    resumed after the curl_multi_info_read loop.
//  * Poll contexts belong to sockets, not transfers (connections outlive transfers). REMOVE for
//    an unknown socket is a no-op; a stale context left for a reused fd is closed first.
//  * The socket callback never returns -1 (that would abort every transfer of the multi).

#include "core/http/engine.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <unordered_map>
#include <unordered_set>

#include "asyncfs/errors.hpp"
#include "core/http/body_buffer.hpp"
#include "core/http/h1/client.hpp"

namespace asyncfs::http {

std::optional<std::string> Response::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return std::nullopt;
}

namespace {

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Before any transfer and from one thread only (curl_global_init is not thread-safe on
    // builds without CURL_VERSION_THREADSAFE).
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw NetworkError("", "curl_global_init failed");
    }
  });
}

// Easy handles kept for reuse; beyond this many idle ones they are freed.
constexpr std::size_t kMaxPooledEasy = 64;
// Largest local-file read done inside curl's read callback (see Transfer::read_file).
constexpr std::size_t kMaxUploadChunk = 64 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool has_header(const Headers& headers, std::string_view lower_name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return lower(h.first) == lower_name; });
}

/// Why our own callbacks stopped a transfer (curl then reports WRITE_ERROR / ABORTED).
enum class Abort { kNone, kTooLarge, kSinkDeclined, kSinkThrew, kUploadRead };

}  // namespace

struct SocketCtx;
struct Transfer;

struct Engine::Impl {
  IoThread* io = nullptr;
  std::unique_ptr<h1::Client> native;
  CURLM* multi = nullptr;
  uv_timer_t* timer = nullptr;  // heap: freed by its close callback, which runs after ~Impl
  std::unordered_map<curl_socket_t, SocketCtx*> sockets;
  std::unordered_set<Transfer*> attached;
  std::vector<CURL*> pool;
  long max_host_connections = 0;
  bool shutting_down = false;
  std::atomic<std::size_t> active{0};
  std::atomic<std::uint64_t> connections{0};

  CURL* acquire_easy() {
    if (!pool.empty()) {
      CURL* e = pool.back();
      pool.pop_back();
      return e;
    }
    return curl_easy_init();
  }
  void release_easy(CURL* e) {
    // Reset now, not at reuse: it drops the pointers into the finished Transfer.
    curl_easy_reset(e);
    if (pool.size() < kMaxPooledEasy) {
      pool.push_back(e);
    } else {
      curl_easy_cleanup(e);
    }
  }

  void detach(Transfer& t);
  void drain();
  void close_socket(SocketCtx* ctx);

  static int on_socket(CURL* easy, curl_socket_t s, int what, void* userp, void* socketp);
  static int on_timer_change(CURLM* multi, long timeout_ms, void* userp);
  static void on_timer(uv_timer_t* timer);
  static void on_poll(uv_poll_t* poll, int status, int events);
};

struct SocketCtx {
  uv_poll_t poll{};
  curl_socket_t fd = CURL_SOCKET_BAD;
  Engine::Impl* impl = nullptr;
  int events = 0;        // what curl last asked us to watch
  int error_streak = 0;  // consecutive error wake-ups (bounds re-arming, see on_poll)
  bool closing = false;  // uv_close called; memory stays valid until its callback
};

struct Transfer : std::enable_shared_from_this<Transfer> {
  struct OnStop {
    IoThread* io;
    std::weak_ptr<Transfer> transfer;
    void operator()() const noexcept;
  };

  Engine::Impl* impl = nullptr;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  Request request;
  TransportOptions options;
  Response response;
  char error_buffer[CURL_ERROR_SIZE] = {};

  std::coroutine_handle<> waiter;  // null when not suspended or when the frame is gone
  bool attached = false;
  bool cancelled = false;
  CURLcode result = CURLE_OK;
  Abort abort = Abort::kNone;
  std::exception_ptr sink_error;
  int upload_errno = 0;
  std::optional<std::stop_callback<OnStop>> on_stop;

  // Request body: either request.body or a local file (fd owned by fetch(), shared by hops).
  int upload_fd = -1;
  std::uint64_t upload_size = 0;
  std::uint64_t upload_offset = 0;
  bool uploading = false;

  // Response parsing.
  std::optional<std::uint64_t> content_length;

  // Receiving paused by the sink's FlowGate (Engine::stream).
  bool paused = false;
  void pause_receiving();

  // Redirects of requests with a body are followed by fetch() itself (see configure()).
  bool manual_redirects = false;
  std::string redirect_url;

  ~Transfer() {
    if (header_list) curl_slist_free_all(header_list);
  }

  static size_t on_header(char* data, size_t size, size_t n, void* self);
  static size_t on_write(char* data, size_t size, size_t n, void* self);
  static size_t on_read(char* data, size_t size, size_t n, void* self);
  static int on_seek(void* self, curl_off_t offset, int origin);
};

// --- socket / timer glue ------------------------------------------------------------------------

void Engine::Impl::close_socket(SocketCtx* ctx) {
  auto it = sockets.find(ctx->fd);
  if (it != sockets.end() && it->second == ctx) sockets.erase(it);
  ctx->closing = true;
  uv_poll_stop(&ctx->poll);
  // Stopping now unregisters the fd at once, so curl may close it right after we return.
  uv_close(reinterpret_cast<uv_handle_t*>(&ctx->poll),
           [](uv_handle_t* h) { delete static_cast<SocketCtx*>(h->data); });
}

int Engine::Impl::on_socket(CURL* /*easy*/, curl_socket_t s, int what, void* userp, void* socketp) {
  auto* im = static_cast<Impl*>(userp);
  auto* ctx = static_cast<SocketCtx*>(socketp);
  if (what == CURL_POLL_REMOVE) {
    // Unknown sockets (never announced, or already removed) are ignored.
    if (ctx) {
      im->close_socket(ctx);
      curl_multi_assign(im->multi, s, nullptr);  // allowed from inside the callback
    }
    return 0;
  }
  // During curl_multi_cleanup curl may announce IN/OUT for connections it shuts down: the
  // loop is about to lose us, so only REMOVE is honoured then.
  if (im->shutting_down || s == CURL_SOCKET_BAD) return 0;
  if (!ctx) {
    // A context still registered under this fd belongs to a socket that was closed without a
    // REMOVE reaching us; two polls on one fd would busy-loop (libuv poll.rst), so drop it.
    if (auto it = im->sockets.find(s); it != im->sockets.end()) im->close_socket(it->second);
    ctx = new SocketCtx();
    ctx->fd = s;
    ctx->impl = im;
    ctx->poll.data = ctx;
    if (uv_poll_init_socket(im->io->loop(), &ctx->poll, s) != 0) {
      // Never return -1 (it aborts every transfer). The transfer then fails by its own
      // timeouts; nothing else can be done here.
      delete ctx;
      return 0;
    }
    im->sockets[s] = ctx;
    curl_multi_assign(im->multi, s, ctx);
  }
  int events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
  ctx->events = events;
  uv_poll_start(&ctx->poll, events, &Impl::on_poll);
  return 0;
}

void Engine::Impl::on_poll(uv_poll_t* poll, int status, int events) {
  auto* ctx = static_cast<SocketCtx*>(poll->data);
  Impl* im = ctx->impl;
  int flags = 0;
  if (status < 0) {
    // POLLERR/POLLHUP (libuv reports UV_EBADF and stops the handle). Not ERR alone: curl then
    // fails at once with "select/poll returned error" although a complete response may be
    // waiting in the socket buffer (a server answering 307 and closing while we upload).
    // With IN|OUT as well, curl reads what is there and finds the real error itself.
    flags = CURL_CSELECT_ERR | CURL_CSELECT_IN | CURL_CSELECT_OUT;
    ++ctx->error_streak;
  } else {
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    ctx->error_streak = 0;
  }
  int running = 0;
  curl_multi_socket_action(im->multi, ctx->fd, flags, &running);
  // ctx may have been closed by the socket callback meanwhile; its memory lives until the
  // close callback, which runs on a later loop iteration.
  if (status < 0 && !ctx->closing && ctx->error_streak < 3) {
    // libuv stopped the poll; curl reports only changes, so re-arm what it asked for. Bounded:
    // a socket curl ignores must not spin the loop.
    uv_poll_start(&ctx->poll, ctx->events, &Impl::on_poll);
  }
  im->drain();
}

int Engine::Impl::on_timer_change(CURLM* /*multi*/, long timeout_ms, void* userp) {
  auto* im = static_cast<Impl*>(userp);
  if (im->shutting_down) return 0;
  if (timeout_ms < 0) {
    uv_timer_stop(im->timer);
  } else {
    // 0 fires on the next loop iteration, i.e. outside this callback, as curl requires.
    uv_timer_start(im->timer, &Impl::on_timer, static_cast<std::uint64_t>(timeout_ms), 0);
  }
  return 0;
}

void Engine::Impl::on_timer(uv_timer_t* timer) {
  auto* im = static_cast<Impl*>(timer->data);
  int running = 0;
  curl_multi_socket_action(im->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  im->drain();  // always, whatever `running` is: the last transfer must not hang
}

void Engine::Impl::detach(Transfer& t) {
  curl_off_t connects = 0;
  if (curl_easy_getinfo(t.easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0) {
    connections.fetch_add(static_cast<std::uint64_t>(connects), std::memory_order_relaxed);
  }
  curl_multi_remove_handle(multi, t.easy);
  attached.erase(&t);
  t.attached = false;
  active.fetch_sub(1, std::memory_order_relaxed);
  release_easy(t.easy);
  t.easy = nullptr;
}

void Engine::Impl::drain() {
  std::vector<std::shared_ptr<Transfer>> ready;
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    // Copy out of the message before remove_handle: it does not survive that call.
    CURL* easy = msg->easy_handle;
    const CURLcode rc = msg->data.result;
    char* priv = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    auto* t = reinterpret_cast<Transfer*>(priv);
    if (!t || !t->attached) {
      curl_multi_remove_handle(multi, easy);
      continue;
    }
    t->result = rc;
    char* url = nullptr;
    if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url) {
      t->response.effective_url = url;
    }
    char* location = nullptr;
    if (t->manual_redirects &&
        curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location) {
      t->redirect_url = location;  // absolute, resolved by curl
    }
    long status = 0;
    if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status != 0) {
      t->response.status = status;
    }
    detach(*t);
    ready.push_back(t->shared_from_this());
  }
  // Outside the info_read loop and outside every curl callback: resumed coroutines may start
  // or cancel other transfers.
  for (auto& t : ready) {
    if (auto h = std::exchange(t->waiter, {})) h.resume();
  }
}

void Transfer::OnStop::operator()() const noexcept {
  // Any thread. Only post: the loop may be inside a curl callback right now.
  try {
    io->post([weak = transfer] {
      auto t = weak.lock();
      if (!t || !t->attached) return;  // finished (or engine gone) meanwhile
      t->cancelled = true;
      t->impl->detach(*t);
      if (auto h = std::exchange(t->waiter, {})) h.resume();
    });
  } catch (...) {
    // The loop is shutting down; ~Engine detaches what is left.
  }
}

// --- per-transfer curl callbacks (no curl multi calls, no resumption in here) -----------------

size_t Transfer::on_header(char* data, size_t size, size_t n, void* self) {
  auto* t = static_cast<Transfer*>(self);
  const std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    // A new response (redirect hop, 100 Continue, proxy CONNECT): the last one's headers win.
    t->response.headers.clear();
    t->content_length.reset();
    const auto sp = line.find(' ');
    if (sp != std::string_view::npos) {
      long status = 0;
      for (std::size_t i = sp + 1; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) {
        status = status * 10 + (line[i] - '0');
      }
      t->response.status = status;
    }
    return size * n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    // Blank line: end of this response's headers.
    const bool final_head = trim(line).empty() && t->response.status >= 200 &&
                            !(t->response.status >= 300 && t->response.status < 400);
    if (final_head && t->request.progress && !t->uploading) {
      t->request.progress->set_size(t->content_length);
    }
    if (final_head && t->request.sink.on_head) {
      t->request.sink.on_head(t->response.status, t->response.headers);
    }
    return size * n;
  }
  std::string name = lower(trim(line.substr(0, colon)));
  std::string value(trim(line.substr(colon + 1)));
  if (name == "content-length") {
    std::uint64_t v = 0;
    bool ok = !value.empty();
    for (char c : value) {
      if (c < '0' || c > '9') {
        ok = false;
        break;
      }
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (ok) t->content_length = v;
  }
  t->response.headers.emplace_back(std::move(name), std::move(value));
  return size * n;
}

size_t Transfer::on_write(char* data, size_t size, size_t n, void* self) {
  auto* t = static_cast<Transfer*>(self);
  const size_t len = size * n;
  if (t->abort != Abort::kNone) return 0;
  t->response.body_bytes += len;
  BodySink& sink = t->request.sink;
  if (sink.on_data) {
    try {
      if (!sink.on_data(std::string_view(data, len))) {
        t->abort = Abort::kSinkDeclined;
        return 0;
      }
    } catch (...) {
      t->sink_error = std::current_exception();
      t->abort = Abort::kSinkThrew;
      return 0;
    }
  } else {
    if (sink.max_bytes && t->response.body.size() + len > *sink.max_bytes) {
      t->abort = Abort::kTooLarge;
      return 0;  // curl fails the transfer with CURLE_WRITE_ERROR
    }
    if (t->response.body.empty() && t->content_length) {
      reserve_body(t->response.body, *t->content_length, sink.max_bytes);
    }
    append_body(t->response.body, std::string_view(data, len));
  }
  if (t->request.progress && !t->uploading) t->request.progress->relative_update(len);
  if (sink.gate && sink.gate->pause_wanted && !t->paused) t->pause_receiving();
  return len;
}

void Transfer::pause_receiving() {
  // Allowed inside the write callback. curl's low-speed check skips paused transfers.
  if (curl_easy_pause(easy, CURLPAUSE_RECV) != CURLE_OK) return;
  paused = true;
  request.sink.gate->resume = [io = impl->io, weak = weak_from_this()] {
    // Posted: the consumer calls this from a coroutine, and unpausing may run callbacks.
    io->post([weak] {
      auto t = weak.lock();
      if (!t || !t->attached || !t->paused) return;
      t->paused = false;
      curl_easy_pause(t->easy, CURLPAUSE_CONT);
      // Unpausing under multi_socket can miss its wake-up (cpp-anchors d6): run curl's
      // timeout handling once so it looks at the transfer again.
      int running = 0;
      curl_multi_socket_action(t->impl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
      t->impl->drain();
    });
  };
}

size_t Transfer::on_read(char* data, size_t size, size_t n, void* self) {
  auto* t = static_cast<Transfer*>(self);
  const std::uint64_t remaining = t->upload_size - std::min(t->upload_offset, t->upload_size);
  std::size_t want = std::min<std::uint64_t>(size * n, remaining);
  if (want == 0) return 0;
  std::size_t got = 0;
  if (t->upload_fd >= 0) {
    // A bounded pread on the loop thread. Deliberate: the alternatives are worse here — curl's
    // pause/unpause under multi_socket has a history of lost wake-ups (cpp-anchors d6), and a
    // thread-pool prefetch would need exactly that pause. A 64 KiB read of a file being
    // uploaded is normally a page-cache hit; a cold disk stalls the loop for one seek per
    // chunk at worst.
    want = std::min(want, kMaxUploadChunk);
    ssize_t r;
    do {
      r = ::pread(t->upload_fd, data, want, static_cast<off_t>(t->upload_offset));
    } while (r < 0 && errno == EINTR);
    if (r <= 0) {
      // A short file (truncated while uploading) would make the Content-Length a lie.
      t->upload_errno = r < 0 ? errno : EIO;
      t->abort = Abort::kUploadRead;
      return CURL_READFUNC_ABORT;
    }
    got = static_cast<std::size_t>(r);
  } else {
    std::memcpy(data, t->request.body->data() + t->upload_offset, want);
    got = want;
  }
  t->upload_offset += got;
  if (t->request.progress) t->request.progress->relative_update(got);
  return got;
}

int Transfer::on_seek(void* self, curl_off_t offset, int origin) {
  // curl rewinds the request body when it has to resend it (redirect, auth, reused
  // connection that died).
  auto* t = static_cast<Transfer*>(self);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > t->upload_size) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  if (t->request.progress && t->upload_offset != static_cast<std::uint64_t>(offset)) {
    t->request.progress->absolute_update(static_cast<std::uint64_t>(offset));
  }
  t->upload_offset = static_cast<std::uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

// --- request setup and result mapping -----------------------------------------------------------

namespace {

constexpr long kReceiveBufferSize = 256L << 10;

void configure(Transfer& t) {
  CURL* e = t.easy;
  const Request& rq = t.request;
  const TransportOptions& op = t.options;
  auto set = [&](CURLoption opt, auto value) {
    if (CURLcode rc = curl_easy_setopt(e, opt, value); rc != CURLE_OK) {
      throw InvalidArgument(rq.url, "cannot configure the request",
                            ErrorDetails{0, std::string(curl_easy_strerror(rc)) + " (option " +
                                                std::to_string(static_cast<int>(opt)) + ")"});
    }
  };
  set(CURLOPT_PRIVATE, static_cast<void*>(&t));
  set(CURLOPT_URL, rq.url.c_str());
  // curl's default 16 KiB receive buffer costs one recv and one write callback per 16 KiB; a
  // larger one cuts both for big bodies. Pages of it that small responses never touch cost no
  // RSS, and pooled handles keep the buffer between transfers.
  // Best effort: curl 7.88 refuses the option (BAD_FUNCTION_ARGUMENT) on a pooled handle that
  // still holds its receive buffer, as one that carried an HTTP/2 stream does; that handle
  // then keeps the buffer it has.
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, kReceiveBufferSize);
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_ERRORBUFFER, t.error_buffer);
  // Only the web: a redirect must not take us to file:// or another scheme.
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  set(CURLOPT_HEADERDATA, static_cast<void*>(&t));
  set(CURLOPT_WRITEFUNCTION, &Transfer::on_write);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&t));
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  static const bool verbose = std::getenv("ASYNCFS_CURL_VERBOSE") != nullptr;
  if (verbose) set(CURLOPT_VERBOSE, 1L);  // curl's trace on stderr, for debugging

  // curl 7.88 does not always rewind a request body for a 307/308 it follows (seen: the
  // response came before the upload finished, the next hop sent headers, then nothing), so a
  // request with a body follows its redirects in fetch(), where the body restarts at 0.
  set(CURLOPT_FOLLOWLOCATION, rq.follow_redirects && !t.manual_redirects ? 1L : 0L);
  set(CURLOPT_MAXREDIRS, static_cast<long>(op.max_redirects));
  // Default, but stated: credentials never follow a redirect to another host. curl >= 7.83
  // also strips a custom Authorization header then (tested in http_engine_test).
  set(CURLOPT_UNRESTRICTED_AUTH, 0L);

  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(op.connect_timeout.count()));
  if (op.low_speed_limit > 0 && op.low_speed_time.count() > 0) {
    // curl counts this in whole seconds.
    const long secs = static_cast<long>((op.low_speed_time.count() + 999) / 1000);
    set(CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(op.low_speed_limit));
    set(CURLOPT_LOW_SPEED_TIME, std::max(1L, secs));
  }
  if (op.total_timeout) set(CURLOPT_TIMEOUT_MS, static_cast<long>(op.total_timeout->count()));
  set(CURLOPT_SSL_VERIFYPEER, op.verify_tls ? 1L : 0L);
  set(CURLOPT_SSL_VERIFYHOST, op.verify_tls ? 2L : 0L);
  if (!op.ca_path.empty()) set(CURLOPT_CAINFO, op.ca_path.c_str());
  if (!op.proxy.empty()) set(CURLOPT_PROXY, op.proxy.c_str());
  if (op.http2) {
    set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    // Wait for the first connection's ALPN instead of opening one per queued transfer. Only
    // for TLS: on plain HTTP there is no h2 and PIPEWAIT would only serialize the first burst.
    if (rq.url.starts_with("https:") || rq.url.starts_with("HTTPS:")) set(CURLOPT_PIPEWAIT, 1L);
  } else {
    set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  }

  // "" = identity, said explicitly: a server compressing unasked would break lengths/ranges.
  if (!rq.accept_encoding.empty()) {
    set(CURLOPT_ACCEPT_ENCODING, rq.accept_encoding.c_str());
  }
  curl_slist* list = nullptr;
  auto append = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (!next) {
      curl_slist_free_all(list);
      throw std::bad_alloc();
    }
    list = next;
  };
  for (const auto& [name, value] : rq.headers) {
    // "Name;" is curl's spelling of a header with an empty value.
    append(value.empty() ? name + ";" : name + ": " + value);
  }
  if (rq.accept_encoding.empty() && !has_header(rq.headers, "accept-encoding")) {
    append("Accept-Encoding: identity");
  }

  const bool has_body = rq.body.has_value() || !rq.upload_path.empty();
  if (has_body && !has_header(rq.headers, "expect")) {
    // No "Expect: 100-continue" round trip (curl adds it for large uploads).
    append("Expect:");
  }
  t.header_list = list;
  if (list) set(CURLOPT_HTTPHEADER, list);

  if (rq.method == "HEAD") {
    set(CURLOPT_NOBODY, 1L);
  } else if (has_body) {
    t.uploading = true;
    t.upload_size = rq.body ? rq.body->size() : t.upload_size;  // file size set by the caller
    if (rq.method == "POST") {
      // A real POST (not a custom method on an upload) so curl applies POST redirect rules.
      set(CURLOPT_POST, 1L);
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.upload_size));
    } else {
      set(CURLOPT_UPLOAD, 1L);
      set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(t.upload_size));
      if (rq.method != "PUT") set(CURLOPT_CUSTOMREQUEST, rq.method.c_str());
    }
    set(CURLOPT_READFUNCTION, &Transfer::on_read);
    set(CURLOPT_READDATA, static_cast<void*>(&t));
    set(CURLOPT_SEEKFUNCTION, &Transfer::on_seek);
    set(CURLOPT_SEEKDATA, static_cast<void*>(&t));
    if (rq.progress) {
      rq.progress->set_size(t.upload_size);
      rq.progress->absolute_update(0);
    }
  } else if (rq.method == "GET") {
    set(CURLOPT_HTTPGET, 1L);
  } else if (rq.method == "POST") {
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
    set(CURLOPT_POSTFIELDS, "");
  } else {
    set(CURLOPT_CUSTOMREQUEST, rq.method.c_str());
  }
}

std::string cause_of(const Transfer& t) {
  std::string cause =
      t.error_buffer[0] ? std::string(t.error_buffer) : std::string(curl_easy_strerror(t.result));
  while (!cause.empty() && (cause.back() == '\n' || cause.back() == '\r')) cause.pop_back();
  return cause;
}

[[noreturn]] void throw_for(Transfer& t) {
  const std::string& url = t.request.url;
  switch (t.abort) {
    case Abort::kTooLarge:
      throw TooLarge(
          url, "response body larger than " + std::to_string(*t.request.sink.max_bytes) + " bytes");
    case Abort::kSinkDeclined:
      throw Cancelled(url, "transfer aborted by its body sink");
    case Abort::kSinkThrew:
      std::rethrow_exception(t.sink_error);
    case Abort::kUploadRead:
      throw IoError(t.request.upload_path, "reading the upload body of " + url + " failed",
                    ErrorDetails{0, std::strerror(t.upload_errno)});
    case Abort::kNone:
      break;
  }
  ErrorDetails details{0, cause_of(t)};
  switch (t.result) {
    case CURLE_OPERATION_TIMEDOUT:
      throw Timeout(url, "HTTP transfer timed out", std::move(details));
    case CURLE_UNSUPPORTED_PROTOCOL:
      // Also what curl says of a reply that is not HTTP at all ("Received HTTP/0.9 when not
      // allowed"): the server's fault, not the URL's.
      if (details.cause.find("HTTP/0.9") != std::string::npos) {
        throw ProtocolError(url, "invalid HTTP response", std::move(details));
      }
      throw InvalidArgument(url, "bad URL", std::move(details));
    case CURLE_URL_MALFORMAT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      throw InvalidArgument(url, "bad URL", std::move(details));
    case CURLE_TOO_MANY_REDIRECTS:
      throw ProtocolError(url, "too many redirects", std::move(details));
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_RANGE_ERROR:
      throw ProtocolError(url, "invalid HTTP response", std::move(details));
    case CURLE_PARTIAL_FILE:
      throw NetworkError(url, "truncated response body", std::move(details));
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      throw NetworkError(url, "cannot resolve host", std::move(details));
    case CURLE_COULDNT_CONNECT:
      throw NetworkError(url, "cannot connect", std::move(details));
    case CURLE_SSL_CACERT_BADFILE:
      throw InvalidArgument(url, "cannot use the CA bundle (ca_path)", std::move(details));
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
      throw NetworkError(url, std::string(kTlsFailure), std::move(details));
    case CURLE_OUT_OF_MEMORY:
      throw std::bad_alloc();
    default:
      // SEND/RECV_ERROR, GOT_NOTHING, HTTP2 stream errors...: the connection failed.
      throw NetworkError(url, "HTTP transfer failed", std::move(details));
  }
}

/// Suspends the fetch coroutine while its transfer is attached to the multi.
struct TransferAwaiter {
  Engine::Impl* impl;
  std::shared_ptr<Transfer> t;
  bool cancelled_before_start = false;

  bool await_ready() const noexcept { return false; }
  template <detail::HasStopToken P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return start(h, h.promise().stop_token());
  }
  void await_resume() {
    t->on_stop.reset();  // waits for a stop callback running on another thread
    if (cancelled_before_start || t->cancelled)
      throw Cancelled(t->request.url, "HTTP transfer cancelled");
  }

  bool start(std::coroutine_handle<> h, std::stop_token stop) {
    if (stop.stop_requested()) {
      cancelled_before_start = true;
      return false;
    }
    if (CURLMcode rc = curl_multi_add_handle(impl->multi, t->easy); rc != CURLM_OK) {
      impl->release_easy(t->easy);
      t->easy = nullptr;
      throw NetworkError(t->request.url, "cannot start the HTTP transfer",
                         ErrorDetails{0, curl_multi_strerror(rc)});
    }
    t->attached = true;
    t->waiter = h;
    impl->attached.insert(t.get());
    impl->active.fetch_add(1, std::memory_order_relaxed);
    // May run inline (stop requested meanwhile): it only posts, so that is fine here.
    if (stop.stop_possible()) {
      t->on_stop.emplace(std::move(stop), Transfer::OnStop{impl->io, t});
    }
    return true;
  }
};

/// Lives in the fetch frame: if the frame is destroyed while suspended (an abandoned parent),
/// the transfer must not stay attached and must never resume a dead frame.
struct TransferGuard {
  std::shared_ptr<Transfer> t;
  ~TransferGuard() {
    t->waiter = {};
    t->on_stop.reset();
    if (t->attached) t->impl->detach(*t);
    if (t->easy) {
      t->impl->release_easy(t->easy);
      t->easy = nullptr;
    }
  }
};

/// Awaits a uv_fs request (open/fstat of the upload file): the loop must not block on disk.
struct FsAwaiter {
  uv_fs_t req{};
  std::coroutine_handle<> h;
  std::function<int(uv_loop_t*, uv_fs_t*, uv_fs_cb)> start;
  uv_loop_t* loop;
  int rc = 0;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> handle) {
    h = handle;
    req.data = this;
    rc = start(loop, &req, [](uv_fs_t* r) {
      auto* self = static_cast<FsAwaiter*>(r->data);
      self->h.resume();
    });
    return rc == 0;
  }
  ssize_t await_resume() {
    ssize_t result = rc != 0 ? rc : req.result;
    return result;
  }
  ~FsAwaiter() { uv_fs_req_cleanup(&req); }
};

/// "scheme://host:port" of a URL ("" when it cannot be parsed): credentials stay within it.
std::string origin_of(const std::string& url) {
  CURLU* u = curl_url();
  if (!u) return {};
  std::string out;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* scheme = nullptr;
    char* host = nullptr;
    char* port = nullptr;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
      out = lower(scheme) + "://" + lower(host) + ":" + port;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
  }
  curl_url_cleanup(u);
  return out;
}

void drop_header(Headers& headers, std::string_view lower_name) {
  std::erase_if(headers, [&](const auto& h) { return lower(h.first) == lower_name; });
}

/// Turns `rq` into the request for the next hop of a redirect, with the rules curl applies
/// when it follows by itself (POST becomes GET on 301/302/303, anything but HEAD on 303).
void prepare_redirect(Request& rq, long status, const std::string& location) {
  const std::string from = origin_of(rq.url);
  const std::string to = origin_of(location);
  if (from.empty() || from != to) {
    // Never hand credentials to another host (or port or scheme).
    drop_header(rq.headers, "authorization");
    drop_header(rq.headers, "cookie");
  }
  const bool to_get = (status == 303 && rq.method != "HEAD") ||
                      ((status == 301 || status == 302) && rq.method == "POST");
  if (to_get) {
    rq.method = "GET";
    rq.body.reset();
    rq.upload_path.clear();
    drop_header(rq.headers, "content-type");
  }
  rq.url = location;
}

bool is_followed_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/// The absolute URL a Location header points to from `base` ("" when it cannot be resolved).
/// Done like curl's own following: relative references resolve against the request URL, and
/// other schemes are kept (the next hop then refuses them as curl does).
std::string resolve_location(const std::string& base, const std::string& location) {
  CURLU* u = curl_url();
  if (!u) throw std::bad_alloc();
  std::string out;
  if (curl_url_set(u, CURLUPART_URL, base.c_str(), 0) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_URL, location.c_str(),
                   CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE) == CURLUE_OK) {
    char* full = nullptr;
    if (curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK && full) out = full;
    curl_free(full);
  }
  curl_url_cleanup(u);
  return out;
}

/// Closes the upload file when fetch() ends, however it ends.
struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

// --- Engine -------------------------------------------------------------------------------------

Engine::Engine(IoThread& io) : impl_(std::make_unique<Impl>()) {
  global_init_once();
  Impl& im = *impl_;
  im.io = &io;
  im.native = std::make_unique<h1::Client>(io);
  im.multi = curl_multi_init();
  if (!im.multi) throw NetworkError("", "curl_multi_init failed");
  im.timer = new uv_timer_t();
  uv_timer_init(io.loop(), im.timer);
  im.timer->data = &im;
  curl_multi_setopt(im.multi, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
  curl_multi_setopt(im.multi, CURLMOPT_SOCKETDATA, static_cast<void*>(&im));
  curl_multi_setopt(im.multi, CURLMOPT_TIMERFUNCTION, &Impl::on_timer_change);
  curl_multi_setopt(im.multi, CURLMOPT_TIMERDATA, static_cast<void*>(&im));
  curl_multi_setopt(im.multi, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
}

Engine::~Engine() {
  Impl& im = *impl_;
  im.native.reset();
  // Root tasks have ended or were abandoned (their frames are parked, never resumed): detach
  // what is left without resuming anyone.
  std::vector<Transfer*> left(im.attached.begin(), im.attached.end());
  for (Transfer* t : left) {
    t->waiter = {};
    curl_multi_remove_handle(im.multi, t->easy);
    curl_easy_cleanup(t->easy);
    t->easy = nullptr;
    t->attached = false;
    im.active.fetch_sub(1, std::memory_order_relaxed);
  }
  im.attached.clear();
  for (CURL* e : im.pool) curl_easy_cleanup(e);
  im.pool.clear();
  im.shutting_down = true;
  // While our uv handles still exist: cleanup calls the socket callback (REMOVE honoured).
  curl_multi_cleanup(im.multi);
  im.multi = nullptr;
  std::vector<SocketCtx*> socks;
  for (auto& [fd, ctx] : im.sockets) socks.push_back(ctx);
  for (SocketCtx* ctx : socks) im.close_socket(ctx);
  // The loop keeps running after services are destroyed, so these close callbacks run.
  uv_timer_stop(im.timer);
  uv_close(reinterpret_cast<uv_handle_t*>(im.timer),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  im.timer = nullptr;
}

IoThread& Engine::io() const noexcept { return *impl_->io; }

std::size_t Engine::active_transfers() const noexcept {
  return impl_->active.load(std::memory_order_relaxed) + impl_->native->active_exchanges();
}

std::uint64_t Engine::connections_opened() const noexcept {
  return impl_->connections.load(std::memory_order_relaxed) + impl_->native->connections_opened();
}

namespace {
Task<Response> fetch_with_curl(Engine::Impl* im, Request request, TransportOptions options);
}  // namespace

Task<Response> Engine::fetch(Request request, TransportOptions options) {
  Impl* im = impl_.get();
  const std::string original_url = request.url;
  for (int hop = 0;; ++hop) {
    std::optional<h1::PlainUrl> target = h1::Client::target_of(request, options);
    std::optional<Response> native;
    if (target) {
      Task<std::optional<Response>> one =
          im->native->exchange(request, *target, options, request.follow_redirects);
      native = co_await std::move(one);
    }
    if (!native) {
      // Not for the native client (https, upload...), or an encoded body to decode: libcurl
      // from here on, following what is left of the redirect budget itself.
      options.max_redirects -= hop;
      options.native_http1 = false;
      Task<Response> rest = fetch_with_curl(im, std::move(request), std::move(options));
      Response resp = co_await std::move(rest);
      co_return resp;
    }
    Response resp = std::move(*native);
    std::optional<std::string> location;
    if (request.follow_redirects && is_followed_redirect(resp.status)) {
      location = resp.header("location");
    }
    if (!location || location->empty()) {
      resp.effective_url = request.url;
      co_return resp;
    }
    if (hop >= options.max_redirects) {
      throw ProtocolError(original_url, "too many redirects",
                          ErrorDetails{0, "more than " + std::to_string(options.max_redirects)});
    }
    std::string next = resolve_location(request.url, *location);
    if (next.empty()) {
      throw ProtocolError(request.url, "invalid redirect",
                          ErrorDetails{0, "Location: " + *location});
    }
    prepare_redirect(request, resp.status, next);
  }
}

namespace {

Task<Response> fetch_with_curl(Engine::Impl* im, Request request, TransportOptions options) {
  FdCloser upload;
  std::uint64_t upload_size = 0;
  if (!request.upload_path.empty()) {
    // Through libuv's thread pool: the loop does not block on a cold open.
    const std::string path = request.upload_path;
    FsAwaiter open_op;
    open_op.loop = im->io->loop();
    open_op.start = [&path](uv_loop_t* loop, uv_fs_t* req, uv_fs_cb cb) {
      return uv_fs_open(loop, req, path.c_str(), O_RDONLY | O_CLOEXEC, 0, cb);
    };
    const ssize_t fd = co_await open_op;
    if (fd < 0) throw_uv_error(static_cast<int>(fd), path, "open");
    upload.fd = static_cast<int>(fd);
    FsAwaiter stat_op;
    stat_op.loop = im->io->loop();
    const int ufd = upload.fd;
    stat_op.start = [ufd](uv_loop_t* loop, uv_fs_t* req, uv_fs_cb cb) {
      return uv_fs_fstat(loop, req, ufd, cb);
    };
    const ssize_t st = co_await stat_op;
    if (st < 0) throw_uv_error(static_cast<int>(st), path, "stat");
    upload_size = stat_op.req.statbuf.st_size;
  }

  if (options.max_host_connections != im->max_host_connections) {
    // A multi-wide setting: the most recent request's value applies to the whole engine.
    im->max_host_connections = options.max_host_connections;
    curl_multi_setopt(im->multi, CURLMOPT_MAX_HOST_CONNECTIONS, im->max_host_connections);
  }

  const std::string original_url = request.url;
  for (int hop = 0;; ++hop) {
    auto t = std::make_shared<Transfer>();
    TransferGuard guard{t};
    t->impl = im;
    t->request = std::move(request);
    t->options = options;
    t->manual_redirects = t->request.follow_redirects &&
                          (t->request.body.has_value() || !t->request.upload_path.empty());
    if (!t->request.upload_path.empty()) {
      t->upload_fd = upload.fd;
      t->upload_size = upload_size;
    }
    t->easy = im->acquire_easy();
    if (!t->easy) throw NetworkError(t->request.url, "curl_easy_init failed");
    configure(*t);

    TransferAwaiter awaiter{im, t};
    co_await awaiter;

    if (t->result != CURLE_OK || t->abort != Abort::kNone) throw_for(*t);
    if (t->manual_redirects && is_followed_redirect(t->response.status) &&
        !t->redirect_url.empty()) {
      if (hop >= t->options.max_redirects) {
        throw ProtocolError(
            original_url, "too many redirects",
            ErrorDetails{0, "more than " + std::to_string(t->options.max_redirects)});
      }
      request = std::move(t->request);
      prepare_redirect(request, t->response.status, t->redirect_url);
      continue;
    }
    if (t->response.effective_url.empty()) t->response.effective_url = t->request.url;
    co_return std::move(t->response);
  }
}

}  // namespace

}  // namespace asyncfs::http
