#pragma once
/// \file log.hpp
/// \brief The library's log: what it does, request by request, for debugging (docs/logging.md).
///
/// Records are written through spdlog (to stderr by default). The level comes from the
/// environment variable `ASYNCFS_LOG` (`off`, `error`, `warn`, `info`, `debug`, `trace`; `warn`
/// when unset) at the first record, or from set_log_level(). What each level shows:
///   - info: each retry with its cause and delay, each rate-limit wait, circuit breaker
///     state changes, token refreshes, staged transfers started and finished;
///   - debug: each HTTP request (method, URL without credentials or secret query values,
///     transport, status, bytes, time, new or reused connection);
///   - trace: request and response headers, with Authorization, cookies, tokens and the
///     user's private headers redacted.
/// No level ever shows a secret: a password, token, signature or private header value.
///
/// Threading: records are emitted from the IO thread and the caller's thread; set_log_level()
/// and set_log_sink() may be called from any thread at any time.

#include <functional>
#include <string_view>

namespace asyncfs {

/// Severity of a record, from the most verbose.
enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

/// \brief "trace", "debug", "info", "warn", "error" or "off".
std::string_view log_level_name(LogLevel level) noexcept;

/// \brief Parses a level name (case-insensitive; "warning" is "warn").
/// \throws InvalidArgument naming `source` (e.g. "ASYNCFS_LOG") and the accepted names.
LogLevel parse_log_level(std::string_view name, std::string_view source = "log level");

/// \brief The level `ASYNCFS_LOG` asks for (kWarn when unset).
/// \throws InvalidArgument naming ASYNCFS_LOG when it holds no level name. Applications (the
/// CLI does) may call it at start-up to report a bad value before doing any work; otherwise a
/// bad value is reported once on stderr and the default is used.
LogLevel log_level_from_env();

/// \brief Sets the level of the library's log (overrides `ASYNCFS_LOG`).
void set_log_level(LogLevel level);

/// \brief The level records are currently emitted at.
LogLevel log_level() noexcept;

/// \brief Receives the library's records instead of stderr.
///
/// Called with the level, the component ("http", "firecrest", ...) and the message (one line,
/// no trailing newline, secrets already redacted). It may be called from any thread, one
/// record at a time (calls are serialised); it should return quickly and must not call back
/// into asyncfs filesystems. An exception it throws is swallowed.
using LogSink =
    std::function<void(LogLevel level, std::string_view component, std::string_view message)>;

/// \brief Routes records to `sink`; an empty function restores the stderr sink.
void set_log_sink(LogSink sink);

}  // namespace asyncfs
