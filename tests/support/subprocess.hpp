#pragma once
// Child processes for test servers: spawn with redirected stdio, stop by pid (SIGTERM, then
// SIGKILL after a bound) and always reap. Used by NginxServer, FaultServer and the
// integration tests (which run /usr/bin/curl).

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace asyncfs::testing {

struct SpawnOptions {
  /// argv[0] is the executable path (no PATH lookup: tests must name exact binaries).
  std::vector<std::string> argv;
  /// Files that receive the child's stdout/stderr (created/truncated); empty = /dev/null.
  /// Ignored for stdout when `pipe_stdout` is set.
  std::string stdout_path;
  std::string stderr_path;
  /// Gives the parent a pipe to read the child's stdout (see ChildProcess::stdout_fd()).
  bool pipe_stdout = false;
  /// The child gets SIGTERM when the test binary dies, so a crash leaves no servers behind.
  /// Only armed when spawning from the main thread (PDEATHSIG follows the spawning thread).
  bool die_with_parent = true;
};

class ChildProcess {
 public:
  /// Throws std::runtime_error if fork/exec fails (exec failure is reported via a CLOEXEC pipe).
  explicit ChildProcess(const SpawnOptions& options);
  ~ChildProcess();  // stop()
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  /// Read end of the stdout pipe, or -1.
  int stdout_fd() const { return stdout_fd_; }
  /// Non-blocking: false once the child has exited (and it is then reaped).
  bool running();
  /// Raw wait status once exited (see running()).
  std::optional<int> exit_status() const { return status_; }
  /// SIGTERM, wait up to `grace`, then SIGKILL; reaps. Idempotent. Returns the wait status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  /// Waits up to `timeout` for a natural exit; SIGKILLs and reaps on timeout (returns nullopt).
  std::optional<int> wait_for(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::optional<int> status_;
};

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal or the timeout
  bool timed_out = false;
  std::string out;  // stdout
};

/// Runs argv to completion with a bounded wall time, capturing stdout (stderr -> `stderr_path`
/// or /dev/null).
RunResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                      const std::string& stderr_path = "");

/// Reads `fd` until a '\n' or EOF or the deadline; returns the line without the newline, or
/// nullopt on timeout/EOF without a newline.
std::optional<std::string> read_line(int fd, std::chrono::milliseconds timeout);

/// A test server written in Python that prints its port as its first stdout line.
struct PythonServer {
  std::unique_ptr<ChildProcess> process;
  int port = 0;
};

/// \brief Starts `/usr/bin/python3 -u -I script args...` (never the PATH python3, which may be
/// a pyenv shim; -u so the port line is not stuck in a buffer; -I: standard library only) with
/// stderr to `stderr_path`, and waits for the port line. Throws std::runtime_error naming
/// `who`, with the server's stderr, if none arrives within `startup`.
PythonServer start_python_server(const std::string& who, const std::string& script,
                                 const std::vector<std::string>& args,
                                 const std::string& stderr_path, std::chrono::milliseconds startup);

/// True when a TCP connect to 127.0.0.1:port succeeds.
bool port_accepts(int port);
/// A port that was free a moment ago (bind to port 0, read it, close). Callers must handle the
/// race where someone else takes it before they bind.
int pick_free_port();

}  // namespace asyncfs::testing
