#include "support/subprocess.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "support/temp_dir.hpp"

namespace asyncfs::testing {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Only async-signal-safe calls from here on: the parent may be multi-threaded.
[[noreturn]] void child_after_fork(char* const* argv, const char* out_path, const char* err_path,
                                   int out_pipe_w, int err_report_fd, bool die_with_parent,
                                   int max_fd) {
  if (die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
  }
  // Default signal dispositions and mask: the test binary may have blocked or ignored some.
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  signal(SIGPIPE, SIG_DFL);
  signal(SIGCHLD, SIG_DFL);
  setpgid(0, 0);  // own process group: a terminal ^C to the tests is not delivered twice

  int in = open("/dev/null", O_RDONLY);
  int out =
      out_pipe_w >= 0 ? out_pipe_w : open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) {
    int e = errno;
    (void)!write(err_report_fd, &e, sizeof e);
    _exit(127);
  }
  // Inherited sockets (other servers' connections, curl handles) must not stay open in the
  // child, or a test expecting a peer close would wait on a descriptor we keep alive.
  for (int fd = 3; fd <= max_fd; ++fd) {
    if (fd != err_report_fd) close(fd);
  }
  execv(argv[0], argv);
  int e = errno;
  (void)!write(err_report_fd, &e, sizeof e);
  _exit(127);
}

}  // namespace

ChildProcess::ChildProcess(const SpawnOptions& options) {
  if (options.argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");
  std::vector<std::string> args = options.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string out_path = options.stdout_path.empty() ? "/dev/null" : options.stdout_path;
  const std::string err_path = options.stderr_path.empty() ? "/dev/null" : options.stderr_path;

  int out_pipe[2] = {-1, -1};
  if (options.pipe_stdout && pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  }
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    if (out_pipe[0] >= 0) close(out_pipe[0]), close(out_pipe[1]);
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  }
  // Bound the close loop: a huge RLIMIT_NOFILE would make it slow, and test binaries never get
  // near 64k descriptors.
  rlimit lim{};
  int max_fd = 4096;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    max_fd = static_cast<int>(std::min<rlim_t>(lim.rlim_cur, 65536));
  }

  // PDEATHSIG fires when the spawning *thread* exits; from a short-lived thread (an IoThread
  // running a coroutine test body) that would kill a still-shared server, so only the main
  // thread arms it. fault_server.py also watches its parent process on its own.
  const bool die_with_parent = options.die_with_parent && gettid() == getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(report[0]), close(report[1]);
    if (out_pipe[0] >= 0) close(out_pipe[0]), close(out_pipe[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    child_after_fork(argv.data(), out_path.c_str(), err_path.c_str(), out_pipe[1], report[1],
                     die_with_parent, max_fd);
  }
  pid_ = pid;
  close(report[1]);
  if (out_pipe[1] >= 0) close(out_pipe[1]);
  stdout_fd_ = out_pipe[0];
  // exec closes the CLOEXEC report pipe (EOF = success) or the child writes errno into it.
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(report[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n > 0) {
    stop(std::chrono::milliseconds(0));
    throw std::runtime_error("cannot exec " + options.argv[0] + ": " + std::strerror(child_errno));
  }
}

ChildProcess::~ChildProcess() { stop(); }

bool ChildProcess::running() {
  if (status_ || pid_ <= 0) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  if (r < 0 && errno == ECHILD) {  // someone else reaped it (SIGCHLD ignored?)
    status_ = 0;
    return false;
  }
  return true;
}

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) {
      stop(std::chrono::milliseconds(0));
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ > 0 && running()) {
    kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + grace;
    while (running() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (running()) {
      kill(pid_, SIGKILL);
      int st = 0;
      pid_t r;
      do {
        r = waitpid(pid_, &st, 0);
      } while (r < 0 && errno == EINTR);
      status_ = r == pid_ ? st : 0;
    }
  }
  if (stdout_fd_ >= 0) {
    close(stdout_fd_);
    stdout_fd_ = -1;
  }
  return status_.value_or(0);
}

RunResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                      const std::string& stderr_path) {
  SpawnOptions options;
  options.argv = argv;
  options.pipe_stdout = true;
  options.stderr_path = stderr_path;
  ChildProcess child(options);
  RunResult result;
  const auto deadline = Clock::now() + timeout;
  char buf[65536];
  for (;;) {
    pollfd p{child.stdout_fd(), POLLIN, 0};
    int left = remaining_ms(deadline);
    if (left == 0) {
      result.timed_out = true;
      break;
    }
    int r = poll(&p, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;  // timeout: loop re-checks the deadline
    ssize_t n = read(child.stdout_fd(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child closed stdout (normally by exiting)
    result.out.append(buf, static_cast<size_t>(n));
  }
  if (result.timed_out) {
    child.stop(std::chrono::milliseconds(0));
    return result;
  }
  auto status = child.wait_for(std::chrono::milliseconds(remaining_ms(deadline) + 1000));
  if (!status) {
    result.timed_out = true;
  } else if (WIFEXITED(*status)) {
    result.exit_code = WEXITSTATUS(*status);
  }
  return result;
}

std::optional<std::string> read_line(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string line;
  for (;;) {
    int left = remaining_ms(deadline);
    if (left == 0) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char c;
    ssize_t n = read(fd, &c, 1);  // byte-wise so nothing after the line is consumed
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    if (c == '\n') return line;
    line.push_back(c);
  }
}

bool port_accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

int pick_free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int e = errno;
    close(fd);
    throw std::runtime_error(std::string("bind to port 0: ") + std::strerror(e));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

PythonServer start_python_server(const std::string& who, const std::string& script,
                                 const std::vector<std::string>& args,
                                 const std::string& stderr_path,
                                 std::chrono::milliseconds startup) {
  static constexpr const char* kPython = "/usr/bin/python3";
  if (::access(kPython, X_OK) != 0) {
    throw std::runtime_error(who + ": " + kPython + " not found");
  }
  if (::access(script.c_str(), R_OK) != 0)
    throw std::runtime_error(who + ": cannot read " + script);
  SpawnOptions spawn;
  spawn.argv = {kPython, "-u", "-I", script};
  spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
  spawn.pipe_stdout = true;
  spawn.stderr_path = stderr_path;
  PythonServer server;
  server.process = std::make_unique<ChildProcess>(spawn);
  auto line = read_line(server.process->stdout_fd(), startup);
  try {
    server.port = line ? std::stoi(*line) : 0;
  } catch (const std::exception&) {
    server.port = 0;
  }
  if (server.port <= 0 || server.port > 65535) {
    server.process->stop(std::chrono::seconds(2));
    std::string log;
    try {
      log = read_local_file(stderr_path);
    } catch (const std::exception&) {
    }
    throw std::runtime_error(who + ": " + script + " did not report a port within " +
                             std::to_string(startup.count()) + " ms (got '" +
                             line.value_or("<nothing>") + "'); stderr:\n" + log);
  }
  return server;
}

}  // namespace asyncfs::testing
