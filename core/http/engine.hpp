#pragma once
// HTTP transport: one curl multi handle per IoThread, driven by uv_poll_t + uv_timer_t
// (curl_multi_socket_action). Internal to the library: the http and firecrest backends use it.
//
// Threading: everything here runs on the IoThread's loop (docs/threading.md). No curl call is
// made from inside a curl callback and no coroutine is resumed from one: finished transfers are
// collected by drain() and resumed after it.

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "asyncfs/bytes.hpp"
#include "asyncfs/callback.hpp"
#include "asyncfs/errors.hpp"
#include "asyncfs/io_thread.hpp"
#include "asyncfs/task.hpp"
#include "asyncfs/unique_function.hpp"

namespace asyncfs::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// Message of the NetworkError for a failed TLS handshake or certificate check: permanent,
/// so the http backend does not retry it.
inline constexpr std::string_view kTlsFailure = "TLS failure";
/// Message of the NetworkError for a socket refused by the descriptor limit (EMFILE): the
/// window is larger than `ulimit -n` allows.
inline constexpr std::string_view kTooManyOpenFiles =
    "too many open files (EMFILE): lower the window (batch_size) or raise ulimit -n";

/// Transport settings shared by every request of a filesystem (parsed from its options).
struct TransportOptions {
  std::chrono::milliseconds connect_timeout{30'000};
  /// A transfer slower than low_speed_limit bytes/s for low_speed_time fails with Timeout.
  std::uint32_t low_speed_limit = 1;
  std::chrono::milliseconds low_speed_time{60'000};
  std::optional<std::chrono::milliseconds> total_timeout;  ///< none by default
  bool verify_tls = true;
  std::string ca_path;  ///< CA bundle file ("" = system default)
  std::string proxy;    ///< "" = environment/default
  int max_redirects = 10;
  /// 0 = unlimited (the gather window is the throttle). A curl-multi setting, so it is
  /// engine-wide: the value of the most recent fetch() applies to all transfers of the IoThread.
  long max_host_connections = 0;
  bool http2 = true;  ///< negotiate HTTP/2 over TLS when the server offers it
  /// Serve plain-http GET/HEAD with the native HTTP/1.1 client (h1/client.hpp) instead of
  /// libcurl. Off = libcurl for everything.
  bool native_http1 = true;
  /// Bodies decoded from a Content-Encoding (gzip, deflate...): the transfer fails with
  /// TooLarge once the decoded size passes max_decoded_bytes (0 = no cap) or, past 8 MiB,
  /// max_decoded_ratio times the bytes received (0 = no cap). Stops a compression bomb (1 MB
  /// that decodes to 1 GiB) before it fills memory or a disk.
  std::uint64_t max_decoded_bytes = 0;
  std::uint32_t max_decoded_ratio = 100;
  /// Circuit breaker (circuit_breaker.hpp): after this many consecutive failures to connect
  /// to one host (0 = never), its requests fail at once for `circuit_cooldown`, then one
  /// probes. Engine-wide state, shared by the filesystems of an IoThread.
  int circuit_failures = 5;
  std::chrono::milliseconds circuit_cooldown{10'000};
};

/// A failure as log records show it: kind, message and cause, without the URL (which may hold
/// credentials or signatures).
std::string describe_for_log(const std::exception_ptr& error);

/// Why a decoded body must stop ("" = it may go on): `decoded` bytes delivered from
/// `received` bytes on the wire, under `o`'s caps.
std::string decoded_limit_problem(std::uint64_t decoded, std::uint64_t received,
                                  const TransportOptions& o);

/// \brief Flow control between a streamed body's consumer and the transport carrying it
/// (Engine::stream). Loop thread only.
struct FlowGate {
  /// Set by the consumer while its buffer is full: the transport stops receiving after the
  /// chunk it is delivering (the native client stops reading the socket, libcurl pauses).
  bool pause_wanted = false;
  /// Set by a transport that paused: called (once, on the loop thread, outside any transport
  /// callback) to go on receiving.
  UniqueFunction<void()> resume;
};

/// Where a response body goes.
struct BodySink {
  /// Called on the loop thread for every received chunk (already de-chunked, not decoded
  /// unless Request::accept_encoding was set). Return false to abort the transfer (the fetch
  /// then throws Cancelled); an exception it throws aborts too and is rethrown by fetch().
  /// It runs inside a curl callback: it must not resume coroutines or start transfers.
  /// Unset: the body is accumulated into Response::body.
  UniqueFunction<bool(std::string_view)> on_data;
  /// Optional, with on_data: free space where the next body bytes may be received directly
  /// (the native client uses it for Content-Length bodies; libcurl does not). Bytes received
  /// there are then passed to on_data as a view of that same space, so the sink can tell them
  /// from bytes it must copy. Empty = no space now.
  UniqueFunction<std::span<char>()> room;
  /// With on_data unset: a body longer than this throws TooLarge (naming the URL).
  std::optional<std::uint64_t> max_bytes;
  /// Optional: the final response's status and headers, before its first body byte (not for
  /// redirects that are followed). Same rules as on_data: no resumption inside.
  UniqueFunction<void(long status, const Headers& headers)> on_head;
  /// Optional, with on_data: pauses the transfer while the consumer is behind.
  std::shared_ptr<FlowGate> gate;
};

struct Request {
  std::string method = "GET";  ///< "HEAD" sends no body request (CURLOPT_NOBODY)
  std::string url;
  Headers headers;
  /// Request body for PUT/POST; sent with Content-Length.
  std::optional<Bytes> body;
  /// Alternatively stream the request body from a local file (PUT/POST), bounded memory.
  /// Opened through libuv's thread pool; read in curl's read callback with pread() of at most
  /// 64 KiB at a time on the loop thread (normally a page-cache hit; see engine.cpp). A missing
  /// file throws NotFound; a file that shrinks while uploading throws IoError.
  std::string upload_path;
  /// With upload_path: send only `upload_length` bytes from `upload_offset` (one part of a
  /// multipart upload); nullopt = to the end of the file.
  std::uint64_t upload_offset = 0;
  std::optional<std::uint64_t> upload_length;
  /// Redirects of requests without a body are followed by curl; with a body (body or
  /// upload_path) by the engine, which restarts the body at 0 on every hop (curl 7.88 does not
  /// always rewind it). Either way Authorization (and Cookie) never go to another
  /// scheme/host/port, 303 (and 301/302 after POST) continue as GET, and more than
  /// TransportOptions::max_redirects hops throw ProtocolError.
  bool follow_redirects = true;
  /// "" = ask for identity (no compression): `Accept-Encoding: identity` is sent unless
  /// `headers` has its own. Non-empty = the caller wants the decoded body and accepts these
  /// encodings: libcurl sends them and decodes; the native client asks for identity and, when
  /// a server compresses anyway, hands the request to libcurl (either way the body is decoded).
  std::string accept_encoding;
  /// Lower-case names of headers that, like Authorization and Cookie, are dropped when a
  /// redirect leads to another scheme, host or port (the user's custom headers that were not
  /// marked safe to cross hosts).
  std::vector<std::string> private_headers;
  BodySink sink;
  Callback* progress = nullptr;  ///< set_size(Content-Length) and byte updates
};

struct Response {
  long status = 0;
  Headers headers;  ///< names lower-cased, in arrival order (last response after redirects)
  Bytes body;       ///< empty when a sink consumed it
  std::string effective_url;     ///< after redirects
  std::uint64_t body_bytes = 0;  ///< bytes received (also when a sink consumed them)
  /// The last hop opened a connection (false: it reused a pooled one). For the debug log.
  bool new_connection = false;

  /// First header of that (lower-case) name.
  std::optional<std::string> header(std::string_view lower_name) const;
};

/// \brief A response body read chunk by chunk with bounded memory: the transfer pauses while
/// `high_water` bytes wait unread (Engine::stream). Use it on the loop thread; destroying it
/// cancels a transfer still running.
class BodyStream {
 public:
  struct State;
  explicit BodyStream(std::shared_ptr<State> state);
  ~BodyStream();
  BodyStream(const BodyStream&) = delete;
  BodyStream& operator=(const BodyStream&) = delete;

  /// Status and headers of the final response (no body).
  const Response& response() const;
  /// Bytes received and not read yet (diagnostics, tests of the memory bound).
  std::size_t buffered() const noexcept;
  /// The next chunk of the body; empty once it has all been read. Throws what Engine::fetch
  /// would (a truncated body, a reset, a timeout...) when the transfer fails midway.
  Task<Bytes> next();

 private:
  std::shared_ptr<State> state_;
};

/// \brief The HTTP engine of one IoThread. Get it with `Engine::of(io)` on the loop thread.
///
/// Two transports behind one fetch(): the native HTTP/1.1 client takes GET and HEAD of plain
/// http:// URLs (the hot path: bulk cat, ranged reads, listings), libcurl's multi interface
/// everything else (https and HTTP/2, proxies, uploads, other methods, decoding). Redirects
/// move between them hop by hop.
class Engine final : public IoThread::Service {
 public:
  explicit Engine(IoThread& io);
  ~Engine() override;  // cancels (without resuming) what is left, cleans up curl, closes polls
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  static Engine& of(IoThread& io) { return io.service<Engine>(); }

  /// \brief Performs one request. Returns whatever status the server sent (no status is an
  /// error here: callers map statuses to errors). Throws NetworkError (connect, reset,
  /// truncated body), Timeout (connect / low-speed / total), Cancelled (stop requested, or the
  /// sink aborted), TooLarge, InvalidArgument (malformed URL), each naming the URL.
  Task<Response> fetch(Request request, TransportOptions options);

  /// \brief Starts `request` and returns once the final response's head has arrived; its body
  /// is then read with BodyStream::next(). At most about `high_water` bytes (plus one
  /// transport read) wait in memory. `request.sink` must be empty. Throws as fetch() for
  /// failures before the head.
  Task<std::unique_ptr<BodyStream>> stream(Request request, TransportOptions options,
                                           std::size_t high_water = 1 << 20);

  /// The IoThread this engine belongs to.
  IoThread& io() const noexcept;

  /// Transfers currently attached to the multi handle (tests, diagnostics).
  std::size_t active_transfers() const noexcept;
  /// Connections opened so far (tests of connection reuse).
  std::uint64_t connections_opened() const noexcept;

  /// Opaque; public only so the engine's private helpers (engine.cpp) can name it.
  struct Impl;

 private:
  /// fetch() without the circuit breaker: the hops of one request.
  Task<Response> fetch_hops(Request request, TransportOptions options);

  std::unique_ptr<Impl> impl_;
};

}  // namespace asyncfs::http
