#pragma once
// The libcurl transport of the engine: one curl multi handle per IoThread, driven by uv_poll_t
// and uv_timer_t through curl_multi_socket_action. It carries what the native HTTP/1.1 client
// does not: TLS and HTTP/2, proxies, uploads and other methods, decoding (see engine.hpp).

#include <cstddef>
#include <cstdint>
#include <memory>

#include "asyncfs/io_thread.hpp"
#include "asyncfs/task.hpp"
#include "core/http/engine.hpp"

namespace asyncfs::http {

class CurlMulti {
 public:
  explicit CurlMulti(IoThread& io);
  /// Detaches (without resuming) what is left, cleans up curl, closes the polls.
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  /// One request, following redirects (curl itself, or hop by hop for requests with a body).
  /// Errors as Engine::fetch.
  Task<Response> fetch(Request request, TransportOptions options);

  std::size_t active_transfers() const noexcept;
  std::uint64_t connections_opened() const noexcept;

  /// Opaque; public only so the transport's helpers (multi.cpp, transfer.cpp) can name it.
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace asyncfs::http
