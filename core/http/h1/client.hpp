#pragma once
// The native HTTP/1.1 client: GET and HEAD over plain http:// on libuv TCP handles, with
// keep-alive connection pools per host. The Engine sends the hot requests of the http backend
// (bulk cat, ranged reads, listings, info) through it and everything else through libcurl; see
// docs/http.md ("Two transports") for why and for what goes where.
//
// Threading: everything runs on the IoThread's loop; other threads only request stop, which
// posts a job. One exchange per connection at a time (no pipelining).

#include <cstdint>
#include <memory>
#include <optional>

#include "asyncfs/io_thread.hpp"
#include "asyncfs/task.hpp"
#include "core/http/engine.hpp"
#include "core/http/h1/url.hpp"

namespace asyncfs::http::h1 {

class Client {
 public:
  explicit Client(IoThread& io);
  /// Closes every connection; exchanges still in flight are dropped without being resumed
  /// (their frames belong to abandoned roots, see IoThread shutdown).
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// The request's URL parts when this client can serve it: GET or HEAD without a body, a
  /// plain http:// URL parse_plain_url() takes, no proxy (neither in the options nor in the
  /// environment), header fields without line breaks.
  static std::optional<PlainUrl> target_of(const Request& rq, const TransportOptions& op);

  /// One request and its response, without following redirects. With `follow` a redirect's
  /// body is discarded instead of reaching the sink. Errors as Engine::fetch.
  ///
  /// Always asks for identity encoding (there is no decoder here). When the request wants a
  /// decoded body (Request::accept_encoding set) and the server compresses anyway, the
  /// exchange stops after the head and returns nullopt: the caller repeats the hop through
  /// libcurl, which decodes. `rq`, `url` and `op` must outlive the returned task.
  Task<std::optional<Response>> exchange(Request& rq, const PlainUrl& url,
                                         const TransportOptions& op, bool follow);

  std::uint64_t connections_opened() const noexcept;
  std::size_t active_exchanges() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace asyncfs::http::h1
