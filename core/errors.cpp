#include "asyncfs/errors.hpp"

#include <fmt/format.h>
#include <uv.h>

namespace asyncfs {

namespace {

std::string compose(const std::string& path, const std::string& message,
                    const ErrorDetails& details) {
  std::string out = path.empty() ? message : fmt::format("{}: {}", path, message);
  if (details.http_status != 0) out += fmt::format(" (HTTP {})", details.http_status);
  if (!details.cause.empty()) out += fmt::format(": {}", details.cause);
  return out;
}

}  // namespace

std::string_view kind_name(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::kNotFound:
      return "not found";
    case ErrorKind::kPermissionDenied:
      return "permission denied";
    case ErrorKind::kAlreadyExists:
      return "already exists";
    case ErrorKind::kIsADirectory:
      return "is a directory";
    case ErrorKind::kNotADirectory:
      return "not a directory";
    case ErrorKind::kInvalidArgument:
      return "invalid argument";
    case ErrorKind::kNotImplemented:
      return "not implemented";
    case ErrorKind::kRangeNotSatisfiable:
      return "range not satisfiable";
    case ErrorKind::kTooLarge:
      return "too large";
    case ErrorKind::kRateLimited:
      return "rate limited";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kCancelled:
      return "cancelled";
    case ErrorKind::kNetwork:
      return "network error";
    case ErrorKind::kProtocol:
      return "protocol error";
    case ErrorKind::kIo:
      return "I/O error";
    case ErrorKind::kDirectoryNotEmpty:
      return "directory not empty";
    case ErrorKind::kOutOfMemory:
      return "out of memory";
  }
  return "error";
}

Error::Error(ErrorKind kind, std::string path, std::string message, ErrorDetails details)
    : std::runtime_error(compose(path, message, details)),
      kind_(kind),
      path_(std::move(path)),
      message_(std::move(message)),
      details_(std::move(details)) {}

void throw_error(ErrorKind kind, std::string path, std::string message, ErrorDetails details) {
  switch (kind) {
#define ASYNCFS_THROW_CASE(K) \
  case ErrorKind::K:          \
    throw ErrorOf<ErrorKind::K>(std::move(path), std::move(message), std::move(details));
    ASYNCFS_THROW_CASE(kNotFound)
    ASYNCFS_THROW_CASE(kPermissionDenied)
    ASYNCFS_THROW_CASE(kAlreadyExists)
    ASYNCFS_THROW_CASE(kIsADirectory)
    ASYNCFS_THROW_CASE(kNotADirectory)
    ASYNCFS_THROW_CASE(kInvalidArgument)
    ASYNCFS_THROW_CASE(kNotImplemented)
    ASYNCFS_THROW_CASE(kRangeNotSatisfiable)
    ASYNCFS_THROW_CASE(kTooLarge)
    ASYNCFS_THROW_CASE(kRateLimited)
    ASYNCFS_THROW_CASE(kTimeout)
    ASYNCFS_THROW_CASE(kCancelled)
    ASYNCFS_THROW_CASE(kNetwork)
    ASYNCFS_THROW_CASE(kProtocol)
    ASYNCFS_THROW_CASE(kIo)
    ASYNCFS_THROW_CASE(kDirectoryNotEmpty)
    ASYNCFS_THROW_CASE(kOutOfMemory)
#undef ASYNCFS_THROW_CASE
  }
  throw Error(kind, std::move(path), std::move(message), std::move(details));
}

void throw_uv_error(int uv_code, std::string path, std::string_view op) {
  ErrorKind kind = ErrorKind::kIo;
  switch (uv_code) {
    case UV_ENOENT:
      kind = ErrorKind::kNotFound;
      break;
    case UV_EACCES:
    case UV_EPERM:
    case UV_EROFS:
      kind = ErrorKind::kPermissionDenied;
      break;
    case UV_EEXIST:
      kind = ErrorKind::kAlreadyExists;
      break;
    case UV_ENOTEMPTY:
      // Its own kind rather than kAlreadyExists (which POSIX also allows rmdir to return):
      // callers that tolerate an existing directory (makedirs with exist_ok) must not
      // mistake "still has entries" for it, and it is no I/O failure either.
      kind = ErrorKind::kDirectoryNotEmpty;
      break;
    case UV_EISDIR:
      kind = ErrorKind::kIsADirectory;
      break;
    case UV_ENOTDIR:
      kind = ErrorKind::kNotADirectory;
      break;
    case UV_EINVAL:
    case UV_ENAMETOOLONG:
    case UV_ELOOP:
      kind = ErrorKind::kInvalidArgument;
      break;
    case UV_ECANCELED:
      kind = ErrorKind::kCancelled;
      break;
    case UV_ETIMEDOUT:
      kind = ErrorKind::kTimeout;
      break;
    case UV_EFBIG:
      kind = ErrorKind::kTooLarge;
      break;
    default:
      break;
  }
  throw_error(kind, std::move(path), fmt::format("{} failed", op),
              ErrorDetails{0, fmt::format("{} ({})", uv_strerror(uv_code), uv_err_name(uv_code))});
}

}  // namespace asyncfs
