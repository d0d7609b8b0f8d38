#pragma once
/// \file errors.hpp
/// \brief One exception hierarchy for every backend: a kind, the path or URL, the cause.

#include <stdexcept>
#include <string>
#include <string_view>

namespace asyncfs {

/// \brief What went wrong, independent of the backend that noticed it.
///
/// A timeout or a server error is never reported as kNotFound: callers branch on the kind.
enum class ErrorKind {
  kNotFound,
  kPermissionDenied,
  kAlreadyExists,
  kIsADirectory,
  kNotADirectory,
  kInvalidArgument,
  kNotImplemented,
  kRangeNotSatisfiable,
  kTooLarge,
  kRateLimited,
  kTimeout,
  kCancelled,
  kNetwork,
  kProtocol,
  kIo,  ///< a local I/O failure that fits no other kind (disk full, EIO, ...)
  /// rmdir of a directory that still has entries, or a rename onto one (ENOTEMPTY). Last in
  /// the list so that the values of the kinds above stay what they were.
  kDirectoryNotEmpty,
  /// An allocation failed (a body that does not fit in memory, libcurl out of memory): the
  /// one operation fails, the process goes on.
  kOutOfMemory,
};

/// \brief Short lower-case name of a kind ("not found", "timeout", ...).
std::string_view kind_name(ErrorKind kind) noexcept;

/// \brief Extra context carried by an Error.
struct ErrorDetails {
  int http_status = 0;  ///< 0 when the failure did not come from an HTTP response
  std::string cause;    ///< lower-level cause (errno text, curl message, server's message)
  /// Start of the server's response body (escaped, at most 200 bytes). Kept out of what():
  /// an error page is HTML noise in a log line, but it may help debugging.
  std::string body;
};

/// \brief The reason phrase of an HTTP status ("Not Found" for 404), "" when unknown.
std::string_view http_reason(int status) noexcept;

/// \brief Base of every exception asyncfs throws.
///
/// what() reads "<path>: <message> [(HTTP <status>)][: <cause>]" so a log line names the input.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string path, std::string message, ErrorDetails details = {});

  ErrorKind kind() const noexcept { return kind_; }
  /// The path or URL the failed operation was about (may be empty for global failures).
  const std::string& path() const noexcept { return path_; }
  /// The message without the path and cause.
  const std::string& message() const noexcept { return message_; }
  int http_status() const noexcept { return details_.http_status; }
  const std::string& cause() const noexcept { return details_.cause; }
  /// The start of the server's response body for an HTTP failure, else "".
  const std::string& body() const noexcept { return details_.body; }

 private:
  ErrorKind kind_;
  std::string path_;
  std::string message_;
  ErrorDetails details_;
};

/// \brief The typed exception for one kind: `catch (const asyncfs::NotFound&)`.
template <ErrorKind K>
class ErrorOf : public Error {
 public:
  explicit ErrorOf(std::string path, std::string message = std::string(kind_name(K)),
                   ErrorDetails details = {})
      : Error(K, std::move(path), std::move(message), std::move(details)) {}
};

using NotFound = ErrorOf<ErrorKind::kNotFound>;
using PermissionDenied = ErrorOf<ErrorKind::kPermissionDenied>;
using AlreadyExists = ErrorOf<ErrorKind::kAlreadyExists>;
using IsADirectory = ErrorOf<ErrorKind::kIsADirectory>;
using NotADirectory = ErrorOf<ErrorKind::kNotADirectory>;
using InvalidArgument = ErrorOf<ErrorKind::kInvalidArgument>;
using NotImplemented = ErrorOf<ErrorKind::kNotImplemented>;
using RangeNotSatisfiable = ErrorOf<ErrorKind::kRangeNotSatisfiable>;
using TooLarge = ErrorOf<ErrorKind::kTooLarge>;
using RateLimited = ErrorOf<ErrorKind::kRateLimited>;
using Timeout = ErrorOf<ErrorKind::kTimeout>;
using Cancelled = ErrorOf<ErrorKind::kCancelled>;
using NetworkError = ErrorOf<ErrorKind::kNetwork>;
using ProtocolError = ErrorOf<ErrorKind::kProtocol>;
using IoError = ErrorOf<ErrorKind::kIo>;
using DirectoryNotEmpty = ErrorOf<ErrorKind::kDirectoryNotEmpty>;
using OutOfMemory = ErrorOf<ErrorKind::kOutOfMemory>;

/// Start of the message of a NetworkError for a request that was never sent: its host refused
/// connections several times in a row, so its circuit is open for a while (HTTP transports).
inline constexpr std::string_view kCircuitOpenMessage = "not tried: the host refused connections";

/// \brief Throws the typed exception (ErrorOf<kind>) for a runtime kind.
[[noreturn]] void throw_error(ErrorKind kind, std::string path, std::string message,
                              ErrorDetails details = {});

/// \brief Throws the typed exception for a libuv / negated errno code (UV_ENOENT → NotFound...).
/// \param op what was being done ("open", "rename"...), prefixed to the message.
[[noreturn]] void throw_uv_error(int uv_code, std::string path, std::string_view op);

}  // namespace asyncfs
