// Status → error mapping (see status.hpp).

#include "core/http/status.hpp"

#include "asyncfs/errors.hpp"
#include "asyncfs/path.hpp"

namespace asyncfs::http {

std::string body_excerpt(std::string_view body) {
  std::string_view head = body.substr(0, 200);
  std::string out = path::escape_for_message(head);
  if (body.size() > head.size()) out += "...";
  return out;
}

ErrorKind status_error_kind(long status) noexcept {
  switch (status) {
    case 404:
    case 410:
      return ErrorKind::kNotFound;
    case 401:
    case 403:
      return ErrorKind::kPermissionDenied;
    case 400:
    case 422:
      return ErrorKind::kInvalidArgument;
    case 408:
      return ErrorKind::kTimeout;
    case 413:
      return ErrorKind::kTooLarge;
    case 416:
      return ErrorKind::kRangeNotSatisfiable;
    case 429:
      return ErrorKind::kRateLimited;
    case 502:
    case 503:
    case 504:
      return ErrorKind::kNetwork;
    default:
      return ErrorKind::kProtocol;
  }
}

namespace {

// "<op> failed: <what the status means>"; the status itself goes into ErrorDetails.
[[noreturn]] void throw_for(long status, const std::string& url, std::string_view op,
                            ErrorDetails d) {
  d.http_status = static_cast<int>(status);
  const ErrorKind kind = status_error_kind(status);
  std::string message = std::string(op) + " failed: ";
  switch (kind) {
    case ErrorKind::kNotFound:
      message += "not found";
      break;
    case ErrorKind::kPermissionDenied:
      message += status == 401 ? "not authorized" : "permission denied";
      break;
    case ErrorKind::kInvalidArgument:
      message += "request rejected as invalid";
      break;
    case ErrorKind::kTimeout:
      message += "the server timed out";
      break;
    case ErrorKind::kTooLarge:
      message += "too large for the server";
      break;
    case ErrorKind::kRangeNotSatisfiable:
      message += "range not satisfiable";
      break;
    case ErrorKind::kRateLimited:
      message += "rate limited";
      break;
    case ErrorKind::kNetwork:
      message += "server unavailable";
      break;
    default:
      message += "unexpected status " + std::to_string(status);
      break;
  }
  throw_error(kind, url, std::move(message), std::move(d));
}

}  // namespace

void throw_status(long status, const std::string& url, std::string_view op, std::string cause) {
  ErrorDetails d;
  d.cause = std::move(cause);
  throw_for(status, url, op, std::move(d));
}

void throw_status(const Response& resp, const std::string& url, std::string_view op) {
  ErrorDetails d;
  d.body = body_excerpt(resp.body);
  throw_for(resp.status, url, op, std::move(d));
}

}  // namespace asyncfs::http
