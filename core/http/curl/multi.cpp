// The libcurl transport: one CURLM per IoThread driven by uv_poll_t (one per socket curl asks
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

#include "core/http/curl/multi.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>
#include <uv.h>

#include <functional>
#include <mutex>
#include <string>

#include "asyncfs/errors.hpp"
#include "core/fs/uv_fs.hpp"
#include "core/http/curl/multi_internal.hpp"
#include "core/http/redirect.hpp"

namespace asyncfs::http {
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

}  // namespace

// --- socket / timer glue ------------------------------------------------------------------------

void CurlMulti::Impl::close_socket(SocketCtx* ctx) {
  auto it = sockets.find(ctx->fd);
  if (it != sockets.end() && it->second == ctx) sockets.erase(it);
  ctx->closing = true;
  uv_poll_stop(&ctx->poll);
  // Stopping now unregisters the fd at once, so curl may close it right after we return.
  uv_close(reinterpret_cast<uv_handle_t*>(&ctx->poll),
           [](uv_handle_t* h) { delete static_cast<SocketCtx*>(h->data); });
}

int CurlMulti::Impl::on_socket(CURL* /*easy*/, curl_socket_t s, int what, void* userp,
                               void* socketp) {
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

void CurlMulti::Impl::on_poll(uv_poll_t* poll, int status, int events) {
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

int CurlMulti::Impl::on_timer_change(CURLM* /*multi*/, long timeout_ms, void* userp) {
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

void CurlMulti::Impl::on_timer(uv_timer_t* timer) {
  auto* im = static_cast<Impl*>(timer->data);
  int running = 0;
  curl_multi_socket_action(im->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  im->drain();  // always, whatever `running` is: the last transfer must not hang
}

void CurlMulti::Impl::detach(Transfer& t) {
  curl_off_t connects = 0;
  if (curl_easy_getinfo(t.easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0) {
    connections.fetch_add(static_cast<std::uint64_t>(connects), std::memory_order_relaxed);
    t.response.new_connection = true;
  }
  curl_multi_remove_handle(multi, t.easy);
  attached.erase(&t);
  t.attached = false;
  active.fetch_sub(1, std::memory_order_relaxed);
  release_easy(t.easy);
  t.easy = nullptr;
}

void CurlMulti::Impl::drain() {
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

namespace {

/// Suspends the fetch coroutine while its transfer is attached to the multi.
struct TransferAwaiter {
  CurlMulti::Impl* impl;
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

/// Closes the upload file when fetch() ends, however it ends.
struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

// --- CurlMulti -----------------------------------------------------------------------------------

CurlMulti::CurlMulti(IoThread& io) : impl_(std::make_unique<Impl>()) {
  global_init_once();
  Impl& im = *impl_;
  im.io = &io;
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

CurlMulti::~CurlMulti() {
  Impl& im = *impl_;
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

std::size_t CurlMulti::active_transfers() const noexcept {
  return impl_->active.load(std::memory_order_relaxed);
}

std::uint64_t CurlMulti::connections_opened() const noexcept {
  return impl_->connections.load(std::memory_order_relaxed);
}

Task<Response> CurlMulti::fetch(Request request, TransportOptions options) {
  Impl* im = impl_.get();
  FdCloser upload;
  std::uint64_t upload_size = 0;
  if (!request.upload_path.empty()) {
    // Through libuv's thread pool: the loop does not block on a cold open.
    const std::string path = request.upload_path;
    uv_loop_t* loop = im->io->loop();
    upload.fd = co_await uvfs::open(loop, path, O_RDONLY | O_CLOEXEC, 0);
    const uv_stat_t st = co_await uvfs::fstat(loop, upload.fd, path);
    const auto file_size = static_cast<std::uint64_t>(st.st_size);
    if (request.upload_offset > file_size ||
        request.upload_length.value_or(0) > file_size - request.upload_offset) {
      throw IoError(path, "upload range lies beyond the end of the file");
    }
    upload_size = request.upload_length.value_or(file_size - request.upload_offset);
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
    // Followed here, hop by hop, when libcurl would carry something to another host that
    // must not go there: a body it may not rewind, headers only this origin may see.
    t->manual_redirects = t->request.follow_redirects &&
                          (t->request.body.has_value() || !t->request.upload_path.empty() ||
                           !t->request.private_headers.empty());
    if (!t->request.upload_path.empty()) {
      t->upload_fd = upload.fd;
      t->upload_base = t->request.upload_offset;
      t->upload_size = upload_size;
    }
    t->easy = im->acquire_easy();
    if (!t->easy) throw NetworkError(t->request.url, "curl_easy_init failed");
    configure_easy(*t);

    TransferAwaiter awaiter{im, t};
    co_await awaiter;

    if (t->result != CURLE_OK || t->abort != Abort::kNone) throw_transfer_error(*t);
    if (!t->head_check.ended()) {
      // libcurl 7.88 calls a head cut short by the close a success; the native client does not.
      throw NetworkError(t->request.url, "HTTP transfer failed",
                         ErrorDetails{0, "connection closed in the middle of the response head"});
    }
    if (t->decoder) {
      // The body arrived in full; its compressed stream must have ended too.
      std::string problem = t->decoder->finish();
      if (!problem.empty()) {
        throw ProtocolError(t->request.url, "invalid HTTP response", ErrorDetails{0, problem});
      }
    }
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

}  // namespace asyncfs::http
