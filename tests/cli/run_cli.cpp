#include "run_cli.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>

extern char** environ;

namespace asyncfs::testing {

namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() {
    if (::pipe2(fd, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  }
  ~Pipe() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

std::vector<std::string> build_env(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    if (!extra.count(key)) env.push_back(kv);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

}  // namespace

CliResult run_cli(const CliRun& run) {
  Pipe in, out, err;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err.fd[1], 2);

  std::vector<std::string> argv_s{ASYNCFS_CLI_PATH};
  argv_s.insert(argv_s.end(), run.args.begin(), run.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = build_env(run.env);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, ASYNCFS_CLI_PATH, &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error(std::string("posix_spawn: ") + std::strerror(rc));
  in.close_end(0);
  out.close_end(1);
  err.close_end(1);

  // Feed stdin and drain both outputs together so a chatty child never blocks on a full pipe.
  std::size_t written = 0;
  if (run.stdin_data.empty()) in.close_end(1);
  if (in.fd[1] >= 0) ::fcntl(in.fd[1], F_SETFL, O_NONBLOCK);
  CliResult result;
  const auto deadline = std::chrono::steady_clock::now() + run.timeout;
  ::signal(SIGPIPE, SIG_IGN);
  while (out.fd[0] >= 0 || err.fd[0] >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd fds[3];
    int n = 0;
    int idx_out = -1, idx_err = -1, idx_in = -1;
    if (out.fd[0] >= 0) fds[idx_out = n++] = {out.fd[0], POLLIN, 0};
    if (err.fd[0] >= 0) fds[idx_err = n++] = {err.fd[0], POLLIN, 0};
    if (in.fd[1] >= 0) fds[idx_in = n++] = {in.fd[1], POLLOUT, 0};
    if (::poll(fds, static_cast<nfds_t>(n), static_cast<int>(left.count())) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    char buf[65536];
    const auto drain = [&](int idx, Pipe& p, std::string& into) {
      if (idx < 0 || fds[idx].revents == 0) return;
      const ssize_t got = ::read(p.fd[0], buf, sizeof buf);
      if (got > 0) {
        into.append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        p.close_end(0);
      }
    };
    if (run.stdout_keep == std::string::npos) {
      drain(idx_out, out, result.out);
    } else if (idx_out >= 0 && fds[idx_out].revents != 0) {
      const ssize_t got = ::read(out.fd[0], buf, sizeof buf);
      if (got > 0) {
        const std::string_view data(buf, static_cast<std::size_t>(got));
        result.out_bytes += data.size();
        if (result.out.size() < run.stdout_keep) {
          result.out.append(data.substr(0, run.stdout_keep - result.out.size()));
        }
        result.out_tail.append(data);
        if (result.out_tail.size() > run.stdout_keep) {
          result.out_tail.erase(0, result.out_tail.size() - run.stdout_keep);
        }
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        out.close_end(0);
      }
    }
    drain(idx_err, err, result.err);
    if (idx_in >= 0 && fds[idx_in].revents != 0) {
      const ssize_t put =
          ::write(in.fd[1], run.stdin_data.data() + written, run.stdin_data.size() - written);
      if (put > 0) written += static_cast<std::size_t>(put);
      if (put < 0 && errno != EAGAIN && errno != EINTR) written = run.stdin_data.size();
      if (written == run.stdin_data.size()) in.close_end(1);
    }
  }
  in.close_end(1);
  int status = 0;
  struct rusage usage {};
  while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  if (!result.timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  result.max_rss_kib = static_cast<std::uint64_t>(usage.ru_maxrss);
  if (run.stdout_keep == std::string::npos) result.out_bytes = result.out.size();
  return result;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t nl = s.find('\n', pos);
    if (nl == std::string::npos) {
      lines.push_back(s.substr(pos));
      break;
    }
    lines.push_back(s.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

}  // namespace asyncfs::testing
