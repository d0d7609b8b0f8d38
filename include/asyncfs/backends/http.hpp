#pragma once
/// \file backends/http.hpp
/// \brief http:// and https:// — read files by GET (ranges validated), list HTML index pages,
/// write by PUT (or POST), remove by DELETE.
///
/// Paths are full URLs: strip_protocol() validates and returns them unchanged, and every name
/// in a listing is a full URL (directories keep their trailing "/"). Sizes come from HEAD and
/// stay unknown (nullopt) when the server does not say, or says it only for an encoded body.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "asyncfs/filesystem.hpp"

namespace asyncfs::http {

/// \brief Typed options of the HTTP filesystem. Every field has a string key (in quotes).
struct HttpOptions {
  FsBaseOptions base;  ///< "batch_size", "asynchronous"

  /// Extra headers of every request ("headers": a JSON object of strings). They are
  /// credentials until said otherwise: a redirect to another scheme, host or port drops
  /// them, as it drops Authorization and Cookie, except those named (any case) in
  /// "redirect_safe_headers" (a comma-separated list, e.g. "User-Agent,Accept").
  std::map<std::string, std::string> headers;
  std::vector<std::string> redirect_safe_headers;  ///< lower-case names
  /// Basic authentication ("username", "password"); both or neither.
  std::string username;
  std::string password;
  /// Bearer token sent as "Authorization: Bearer ..." ("token"); excludes basic auth.
  std::string token;

  /// TLS: a CA bundle file ("ca_path"); verification is on unless "insecure" is true.
  std::string ca_path;
  bool insecure = false;
  /// Proxy URL ("proxy"); "" = libcurl's environment defaults.
  std::string proxy;

  /// Connect timeout ("connect_timeout", seconds).
  std::chrono::milliseconds connect_timeout{30'000};
  /// A transfer slower than low_speed_limit bytes/s for low_speed_time fails with Timeout
  /// ("low_speed_limit" bytes/s, "low_speed_time" seconds). There is no total timeout unless
  /// "timeout" (seconds) is set: large downloads must not die at an arbitrary wall-clock limit.
  std::uint32_t low_speed_limit = 1;
  std::chrono::milliseconds low_speed_time{30'000};
  std::optional<std::chrono::milliseconds> timeout;

  /// Retries of idempotent requests (GET, HEAD, PUT, DELETE) after the first attempt
  /// ("retries"; 0 disables) on 408/425/429/500/502/503/504, connection errors, timeouts and
  /// truncated bodies; after a timeout only once (a server silent for a whole low-speed
  /// window is seldom quicker the next time: a silent server fails a call in about a minute,
  /// 2 × 30 s). The n-th retry waits retry_backoff * 2^(n-1) with full jitter, or what
  /// Retry-After says, both capped at retry_max_wait ("retry_backoff", "retry_max_wait",
  /// seconds).
  int retries = 3;
  std::chrono::milliseconds retry_backoff{500};
  std::chrono::milliseconds retry_max_wait{30'000};

  /// Listings keep only links with the page's scheme ("same_scheme"); false also accepts the
  /// other of http/https on the same host.
  bool same_scheme = true;
  /// Read-ahead of files opened for reading ("block_size").
  std::size_t block_size = 5 << 20;
  /// Per-host connection cap of the engine ("max_connections_per_host"; 0 = unlimited).
  long max_connections_per_host = 0;
  /// When a server answers a ranged GET with the whole body (200), bodies up to this size are
  /// sliced locally; a larger one fails with TooLarge ("max_ignored_range_body", bytes).
  std::uint64_t max_ignored_range_body = 32ull << 20;
  /// Compressed answers (Content-Encoding) are decoded; the transfer fails with TooLarge
  /// when the decoded body passes "max_decoded_bytes" (0 = no cap, the default) or, past
  /// 8 MiB, "max_decoded_ratio" times the bytes received (default 100; 0 = no cap). Text
  /// seldom shrinks beyond 20:1; a compression bomb is 1000:1.
  std::uint64_t max_decoded_bytes = 0;
  std::uint32_t max_decoded_ratio = 100;
  /// After "circuit_failures" consecutive failures to connect to one host (0 = never), its
  /// requests fail at once, unsent and not retried, for "circuit_cooldown" seconds; then one
  /// probes. A dead server ends a bulk call in moments, not after every file's retries.
  int circuit_failures = 5;
  std::chrono::milliseconds circuit_cooldown{10'000};
  /// Method of put_file / pipe_file: "put" (default) or "post" ("method").
  std::string method = "PUT";
  /// Which HTTP client carries requests ("transport"): "auto" (default) sends GET and HEAD of
  /// plain http:// URLs through asyncfs's native HTTP/1.1 client and the rest (https, HTTP/2,
  /// proxies, uploads) through libcurl; "curl" sends everything through libcurl.
  std::string transport = "auto";

  /// Parses string options; unknown keys and malformed values throw InvalidArgument.
  static HttpOptions from(Options opts, std::shared_ptr<IoThread> io);
};

/// An HTTP filesystem (canonical protocol "http"; "https" URLs are served by the same class).
std::shared_ptr<AsyncFileSystem> make_filesystem(HttpOptions options);

}  // namespace asyncfs::http
