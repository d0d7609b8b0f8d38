#pragma once
// Internals of the libcurl transport shared by multi.cpp (the multi handle, its sockets and
// timer, the fetch loop) and transfer.cpp (one transfer's curl callbacks, setup and errors).

#include <curl/curl.h>
#include <uv.h>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stop_token>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/http/body_sink.hpp"
#include "core/http/content_decoder.hpp"
#include "core/http/curl/easy_reuse.hpp"
#include "core/http/curl/multi.hpp"
#include "core/http/head_check.hpp"

namespace asyncfs::http {

// Easy handles kept for reuse; beyond this many idle ones they are freed.
constexpr std::size_t kMaxPooledEasy = 64;

/// Why our own callbacks stopped a transfer (curl then reports WRITE_ERROR / ABORTED).
enum class Abort { kNone, kSink, kUploadRead, kProtocol, kDecodedTooLarge };

struct SocketCtx;
struct Transfer;

struct CurlMulti::Impl {
  IoThread* io = nullptr;
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
    if (pool.size() < kMaxPooledEasy && easy_handles_reusable()) {
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
  CurlMulti::Impl* impl = nullptr;
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

  CurlMulti::Impl* impl = nullptr;
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
  SinkStop sink_stop = SinkStop::kNone;  // with Abort::kSink
  std::string protocol_problem;          // with Abort::kProtocol and kDecodedTooLarge
  std::exception_ptr sink_error;
  int upload_errno = 0;
  std::optional<std::stop_callback<OnStop>> on_stop;

  // Request body: either request.body or a local file (fd owned by fetch(), shared by hops).
  int upload_fd = -1;
  std::uint64_t upload_size = 0;
  std::uint64_t upload_offset = 0;  ///< sent so far (relative to upload_base)
  std::uint64_t upload_base = 0;    ///< file offset of the body's first byte
  bool uploading = false;

  // Response parsing.
  HeadCheck head_check;  // reads the head lines; its content_length() is the body's
  /// Set at the final head when the body is Content-Encoded and the request asked for the
  /// decoded body: libcurl hands us the raw bytes (HTTP_CONTENT_DECODING off).
  std::unique_ptr<ContentDecoder> decoder;

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
  size_t header_line(std::string_view line);
  static size_t on_write(char* data, size_t size, size_t n, void* self);
  static size_t on_read(char* data, size_t size, size_t n, void* self);
  static int on_seek(void* self, curl_off_t offset, int origin);
};

/// Sets up `t.easy` for `t.request` and `t.options` (throws InvalidArgument if curl refuses).
void configure_easy(Transfer& t);
/// Throws the typed error for a failed transfer, naming its URL.
[[noreturn]] void throw_transfer_error(Transfer& t);

}  // namespace asyncfs::http
