// The engine: one per IoThread, two transports behind fetch() (see engine.hpp). This file
// chooses the transport for each hop and follows the redirects of native hops; the transports
// live in h1/ (native HTTP/1.1) and curl/ (libcurl multi).

#include "core/http/engine.hpp"

#include <string>

#include "asyncfs/errors.hpp"
#include "core/http/curl/multi.hpp"
#include "core/http/h1/client.hpp"
#include "core/http/redirect.hpp"

namespace asyncfs::http {

std::optional<std::string> Response::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return std::nullopt;
}

struct Engine::Impl {
  IoThread* io = nullptr;
  std::unique_ptr<h1::Client> native;
  std::unique_ptr<CurlMulti> curl;
};

Engine::Engine(IoThread& io) : impl_(std::make_unique<Impl>()) {
  impl_->io = &io;
  impl_->curl = std::make_unique<CurlMulti>(io);
  impl_->native = std::make_unique<h1::Client>(io);
}

Engine::~Engine() {
  impl_->native.reset();
  impl_->curl.reset();
}

IoThread& Engine::io() const noexcept { return *impl_->io; }

std::size_t Engine::active_transfers() const noexcept {
  return impl_->curl->active_transfers() + impl_->native->active_exchanges();
}

std::uint64_t Engine::connections_opened() const noexcept {
  return impl_->curl->connections_opened() + impl_->native->connections_opened();
}

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
      Task<Response> rest = im->curl->fetch(std::move(request), std::move(options));
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

}  // namespace asyncfs::http
