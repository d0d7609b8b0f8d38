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

std::string_view http_reason(int status) noexcept {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 423:
      return "Locked";
    case 425:
      return "Too Early";
    case 426:
      return "Upgrade Required";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 451:
      return "Unavailable For Legal Reasons";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    case 507:
      return "Insufficient Storage";
    case 508:
      return "Loop Detected";
    case 511:
      return "Network Authentication Required";
    default:
      return "";
  }
}

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
