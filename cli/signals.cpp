#include "signals.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "asyncfs/io_thread.hpp"

namespace asyncfs::cli {

namespace {

// The wind-down the IO thread gets to cancel its operations and remove their temporaries,
// and the time after which the process exits regardless (a blocking read of stdin, say).
constexpr auto kCancelGrace = std::chrono::milliseconds(800);
constexpr auto kForcedExitAfter = std::chrono::seconds(2);

int pipe_fds[2] = {-1, -1};
std::atomic<int> first_signal{0};

struct Exiting {
  std::mutex mutex;
  std::condition_variable cv;
  bool exiting = false;
};

Exiting& exiting() {
  static auto* e = new Exiting();  // leaked: the watcher may outlive static destruction
  return *e;
}

extern "C" void on_signal(int sig) {
  const int saved = errno;
  const auto byte = static_cast<unsigned char>(sig);
  // write(2) is async-signal-safe; a full pipe only drops a repeated signal.
  [[maybe_unused]] const ssize_t n = ::write(pipe_fds[1], &byte, 1);
  errno = saved;
}

void watch() {
  unsigned char sig = 0;
  for (;;) {
    const ssize_t n = ::read(pipe_fds[0], &sig, 1);
    if (n == 1) break;
    if (n < 0 && errno == EINTR) continue;
    return;
  }
  first_signal.store(sig);
  const int code = 128 + sig;
  // A second signal means "now": the user gave up waiting for the clean-up.
  std::thread([code] {
    unsigned char again = 0;
    while (::read(pipe_fds[0], &again, 1) < 0 && errno == EINTR) {
    }
    std::_Exit(code);
  }).detach();
  // Work that does not go through the IO thread (a blocking read of stdin) cannot be
  // cancelled: the process must still end promptly.
  std::thread([code] {
    Exiting& e = exiting();
    std::unique_lock lock(e.mutex);
    if (!e.cv.wait_for(lock, kForcedExitAfter, [&e] { return e.exiting; })) std::_Exit(code);
  }).detach();
  // Cancels every root task; their failure paths (temporary files removed) run within the
  // grace, then blocked callers get Cancelled and later calls fail at once.
  default_io_thread()->shutdown(kCancelGrace);
}

}  // namespace

void install_signal_handlers() {
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return;  // no handlers: the default action applies
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  std::thread(watch).detach();
}

int received_signal() noexcept { return first_signal.load(); }

int exit_code_after_signals(int rc) {
  {
    Exiting& e = exiting();
    std::lock_guard lock(e.mutex);
    e.exiting = true;
  }
  exiting().cv.notify_all();
  const int sig = received_signal();
  return sig != 0 ? 128 + sig : rc;
}

}  // namespace asyncfs::cli
