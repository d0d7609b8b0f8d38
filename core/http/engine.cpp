// The engine: one per IoThread, two transports behind fetch() (see engine.hpp). This file
// chooses the transport for each hop and follows the redirects of native hops; the transports
// live in h1/ (native HTTP/1.1) and curl/ (libcurl multi).

#include "core/http/engine.hpp"

#include <algorithm>
#include <chrono>
#include <span>
#include <string>

#include "asyncfs/errors.hpp"
#include "core/http/circuit_breaker.hpp"
#include "core/http/curl/multi.hpp"
#include "core/http/h1/client.hpp"
#include "core/http/redact.hpp"
#include "core/http/redirect.hpp"
#include "core/log.hpp"

namespace asyncfs::http {

std::optional<std::string> Response::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return std::nullopt;
}

struct Engine::Impl {
  IoThread* io = nullptr;
  CircuitBreaker breaker;
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

namespace {

/// The host could not be reached at all (as opposed to answering badly, or a local limit).
bool is_connect_failure(const NetworkError& e) {
  return e.message() == "cannot connect" || e.message() == "cannot resolve host";
}

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

/// The request as the trace level shows it: every header, secrets redacted.
void trace_request(const Request& rq, std::string_view transport) {
  if (!log::enabled(LogLevel::kTrace)) return;
  log::trace("http", "> {} {} via {}", rq.method, redact_url(rq.url), transport);
  for (const auto& [name, value] : rq.headers) {
    log::trace("http", ">   {}", loggable_header(name, value, rq.private_headers));
  }
}

void log_response(std::string_view method, std::string_view url,
                  std::span<const std::string> private_headers, std::string_view transport,
                  const Response& resp, Clock::time_point t0) {
  if (!log::enabled(LogLevel::kDebug)) return;
  const bool moved = !resp.effective_url.empty() && resp.effective_url != url;
  log::debug("http", "{} {} via {}: {} {} B in {:.1f} ms, {} connection{}{}", method,
             redact_url(url), transport, resp.status, resp.body_bytes, ms_since(t0),
             resp.new_connection ? "new" : "reused", moved ? ", ended at " : "",
             moved ? redact_url(resp.effective_url) : std::string());
  if (!log::enabled(LogLevel::kTrace)) return;
  for (const auto& [name, value] : resp.headers) {
    log::trace("http", "<   {}", loggable_header(name, value, private_headers));
  }
}

void log_failure(std::string_view method, std::string_view url, std::string_view transport,
                 const std::exception_ptr& error, Clock::time_point t0) {
  if (!log::enabled(LogLevel::kDebug)) return;
  log::debug("http", "{} {} via {}: failed after {:.1f} ms: {}", method, redact_url(url), transport,
             ms_since(t0), describe_for_log(error));
}

}  // namespace

std::string describe_for_log(const std::exception_ptr& error) {
  // Not what(): it starts with the URL as the caller gave it, secrets and all.
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    std::string out(kind_name(e.kind()));
    out += ": ";
    out += e.message();
    if (e.http_status()) out += " (HTTP " + std::to_string(e.http_status()) + ")";
    if (!e.cause().empty()) out += ": " + e.cause();
    return out;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

Task<Response> Engine::fetch(Request request, TransportOptions options) {
  CircuitBreaker& breaker = impl_->breaker;
  const int threshold = options.circuit_failures;
  const std::chrono::milliseconds cooldown = options.circuit_cooldown;
  const std::string host = CircuitBreaker::key_of(request.url);
  if (auto why = breaker.refuse(host, threshold, cooldown, CircuitBreaker::Clock::now())) {
    log::debug("http", "{} {}: refused, {}", request.method, redact_url(request.url), *why);
    throw NetworkError(request.url, *why);
  }
  bool unreachable = false;
  std::exception_ptr failed;
  Response resp;
  try {
    resp = co_await fetch_hops(std::move(request), std::move(options));
  } catch (const NetworkError& e) {
    unreachable = is_connect_failure(e);
    failed = std::current_exception();
  } catch (...) {
    failed = std::current_exception();
  }
  if (unreachable) {
    if (breaker.failed(host, threshold, cooldown, CircuitBreaker::Clock::now())) {
      log::info("http",
                "circuit open for {}: {} consecutive connection failures; its requests fail at "
                "once for {} ms, then one probes",
                redact_url(host), threshold, cooldown.count());
    }
  } else if (!failed) {
    breaker.succeeded(host);  // answered, whatever the answer was
  }
  if (failed) std::rethrow_exception(failed);
  co_return resp;
}

Task<Response> Engine::fetch_hops(Request request, TransportOptions options) {
  Impl* im = impl_.get();
  const std::string original_url = request.url;
  for (int hop = 0;; ++hop) {
    std::optional<h1::PlainUrl> target = h1::Client::target_of(request, options);
    std::optional<Response> native;
    if (target) {
      trace_request(request, "native");
      const Clock::time_point t0 = Clock::now();
      try {
        Task<std::optional<Response>> one =
            im->native->exchange(request, *target, options, request.follow_redirects);
        native = co_await std::move(one);
      } catch (...) {
        log_failure(request.method, request.url, "native", std::current_exception(), t0);
        throw;
      }
      if (native) {
        log_response(request.method, request.url, request.private_headers, "native", *native, t0);
      }
    }
    if (!native) {
      // Not for the native client (https, upload...), or an encoded body to decode: libcurl
      // from here on, following what is left of the redirect budget itself.
      options.max_redirects -= hop;
      trace_request(request, "curl");
      // Kept for the log: the transfer owns the request once started.
      const std::string method = request.method;
      const std::string url = request.url;
      const std::vector<std::string> private_headers = request.private_headers;
      const Clock::time_point t0 = Clock::now();
      Response resp;
      try {
        Task<Response> rest = im->curl->fetch(std::move(request), std::move(options));
        resp = co_await std::move(rest);
      } catch (...) {
        log_failure(method, url, "curl", std::current_exception(), t0);
        throw;
      }
      log_response(method, url, private_headers, "curl", resp, t0);
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

std::string decoded_limit_problem(std::uint64_t decoded, std::uint64_t received,
                                  const TransportOptions& o) {
  // Below this a ratio says nothing: a few KiB of JSON may well shrink a hundredfold.
  constexpr std::uint64_t kRatioFloor = 8ull << 20;
  if (o.max_decoded_bytes > 0 && decoded > o.max_decoded_bytes) {
    return "decoded body larger than " + std::to_string(o.max_decoded_bytes) +
           " bytes (max_decoded_bytes)";
  }
  if (o.max_decoded_ratio > 0 && decoded > kRatioFloor &&
      decoded / std::max<std::uint64_t>(received, 1) >= o.max_decoded_ratio) {
    return "body decodes to " + std::to_string(decoded) + " bytes from " +
           std::to_string(received) + " received, more than " +
           std::to_string(o.max_decoded_ratio) +
           " times as many (a compression bomb? raise max_decoded_ratio to accept it)";
  }
  return {};
}

}  // namespace asyncfs::http
