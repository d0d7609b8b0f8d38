#include "exit_codes.hpp"

#include <atomic>

#include "asyncfs/errors.hpp"

namespace asyncfs::cli {

namespace {

// 0 = nothing recorded yet.
std::atomic<int> recorded{0};

int rank(int code) {
  switch (code) {
    case kExitRetryable:
      return 1;
    case kExitNotFound:
      return 2;
    case kExitDenied:
      return 3;
    default:
      return 4;
  }
}

}  // namespace

int exit_code_for(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    const int status = e.http_status();
    // A 500 is a kProtocol error to the library, but for a script it is a server that may
    // answer next time, like 502-504 (kNetwork) and 429.
    if (status == 408 || status == 429 || status >= 500) return kExitRetryable;
    switch (e.kind()) {
      case ErrorKind::kNotFound:
        return kExitNotFound;
      case ErrorKind::kPermissionDenied:
        return kExitDenied;
      case ErrorKind::kTimeout:
      case ErrorKind::kRateLimited:
      case ErrorKind::kNetwork:
        return kExitRetryable;
      default:
        return kExitFailed;
    }
  } catch (...) {
  }
  return kExitFailed;
}

int combine_exit_codes(int a, int b) {
  if (a == kExitOk) return b;
  if (b == kExitOk) return a;
  return rank(a) >= rank(b) ? a : b;
}

void note_failure(int code) {
  int cur = recorded.load(std::memory_order_relaxed);
  while (!recorded.compare_exchange_weak(cur, combine_exit_codes(cur, code),
                                         std::memory_order_relaxed)) {
  }
}

int final_exit_code(int rc) {
  if (rc != kExitFailed) return rc;
  const int r = recorded.load(std::memory_order_relaxed);
  return r == kExitOk ? rc : r;
}

}  // namespace asyncfs::cli
