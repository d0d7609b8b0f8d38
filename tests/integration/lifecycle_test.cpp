// Lifecycle under load: HTTP transfers in flight while the IoThread shuts down from another
// thread, while a bulk call times out (its gather cancelled from the caller's thread), while the
// process forks, and while the process exits. No crash, no hang, no leaked descriptor.

#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "asyncfs/asyncfs.hpp"
#include "asyncfs/backends/http.hpp"
#include "support/expect_kind.hpp"
#include "support/fault_server.hpp"
#include "support/http_transport.hpp"
#include "support/patterns.hpp"

extern char** environ;

namespace asyncfs {
namespace {

using namespace std::chrono_literals;
using testing::FaultServer;

std::shared_ptr<AsyncFileSystem> make_fs(std::shared_ptr<IoThread> io) {
  Options opts{{"retry_backoff", "0.01"}, {"transport", testing::test_http_transport()}};
  return http::make_filesystem(http::HttpOptions::from(std::move(opts), std::move(io)));
}

/// 64 slow URLs (a byte every 50 ms, 2 s each) and 64 quick ones.
std::vector<std::string> busy_urls(FaultServer& f, const std::string& tag) {
  std::vector<std::string> urls;
  for (int i = 0; i < 64; ++i) {
    urls.push_back(f.url("slow?size=40&interval_ms=50&k=" + tag + std::to_string(i)));
    urls.push_back(f.url("file/" + tag + std::to_string(i) + "?size=5000"));
  }
  return urls;
}

std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

std::string descriptor_list() {
  std::string out;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    out += e.path().filename().string() + " -> " +
           std::filesystem::read_symlink(e.path(), ec).string() + "\n";
  }
  return out;
}

TEST(Lifecycle, ShutdownFromAnotherThreadWithTransfersInFlight) {
  auto& f = FaultServer::shared();
  // libuv opens a process-wide signal pipe with its first loop, once: not ours to count.
  IoThread("warm-up").shutdown();
  const std::size_t fds_before = open_descriptors();
  const std::string fd_list_before = descriptor_list();
  auto io = std::make_shared<IoThread>("lifecycle-io");
  auto fs = make_fs(io);
  auto bulk = std::async(std::launch::async, [&] {
    CatOptions o;
    o.on_error = OnError::kReturn;
    return fs->cat(busy_urls(f, "shut"), o);
  });
  std::this_thread::sleep_for(300ms);  // the quick files are done, the slow ones in flight
  const auto t0 = std::chrono::steady_clock::now();
  io->shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "shutdown waited for the transfers";
  ASSERT_EQ(bulk.wait_for(10s), std::future_status::ready) << "the blocked caller hangs";
  try {
    CatResult r = bulk.get();  // what finished before is there; the rest failed
    for (const auto& [url, o] : r.items) EXPECT_TRUE(o.has_value() || o.has_error()) << url;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCancelled) << e.what();
  }
  // A call after shutdown is an error, not a hang.
  EXPECT_THROW(fs->cat_file(f.url("file/late?size=10")), Error);
  fs.reset();
  io.reset();
  EXPECT_EQ(open_descriptors(), fds_before) << "before:\n"
                                            << fd_list_before << "after:\n"
                                            << descriptor_list();
}

TEST(Lifecycle, ATimedOutBulkCallCancelsItsTransfersAndTheFilesystemGoesOn) {
  auto& f = FaultServer::shared();
  auto io = std::make_shared<IoThread>("lifecycle-io");
  auto fs = make_fs(io);
  const auto t0 = std::chrono::steady_clock::now();
  CatOptions o;
  o.on_error = OnError::kReturn;
  EXPECT_KIND(kTimeout, fs->cat(busy_urls(f, "timeout"), o, CallTimeout(300ms)));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  // Cancelled transfers left nothing behind that would block the next calls.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(fs->cat_file(f.url("file/after?size=1000")), testing::pattern(1000));
  }
  fs.reset();
  io->shutdown();
}

TEST(Lifecycle, DroppingAFilesystemWhileItsTimedOutCallStillRunsIsSafe) {
  // The blocking call gave up (Timeout) while its coroutines were still cancelling their
  // transfers; the caller then drops its only reference. The task's keep-alive holds the
  // filesystem until the last coroutine ends; then it goes, with no use after free (ASan) and
  // no hang.
  auto& f = FaultServer::shared();
  auto io = std::make_shared<IoThread>("lifecycle-io");
  auto fs = make_fs(io);
  std::weak_ptr<AsyncFileSystem> watch = fs;
  CatOptions o;
  o.on_error = OnError::kReturn;
  EXPECT_KIND(kTimeout, fs->cat(busy_urls(f, "drop"), o, CallTimeout(200ms)));
  fs.reset();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!watch.expired() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(watch.expired()) << "the filesystem outlived its cancelled call";
  // The loop is unharmed: a new filesystem on it works.
  auto again = make_fs(io);
  EXPECT_EQ(again->cat_file(f.url("file/after-drop?size=100")), testing::pattern(100));
  again.reset();
  io->shutdown();
}

TEST(Lifecycle, ForkDuringTransfersGivesTheChildAWorkingLibrary) {
  auto& f = FaultServer::shared();
  auto fs = make_fs(nullptr);
  auto bulk = std::async(std::launch::async, [&] {
    CatOptions o;
    o.on_error = OnError::kReturn;
    return fs->cat(busy_urls(f, "fork"), o);
  });
  std::this_thread::sleep_for(200ms);
  const std::string url = f.url("file/child?size=777");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child: the parent's loop is not ours; a new filesystem gets a new IoThread.
    int rc = 1;
    try {
      auto child_fs = make_fs(nullptr);
      rc = child_fs->cat_file(url) == testing::pattern(777) ? 0 : 2;
    } catch (...) {
      rc = 3;
    }
    ::_exit(rc);
  }
  int status = 0;
  for (int i = 0; i < 200 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  if (::waitpid(pid, &status, WNOHANG) == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "the forked child hangs";
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  ASSERT_EQ(bulk.wait_for(30s), std::future_status::ready);
  CatResult r = bulk.get();
  EXPECT_EQ(r.items.size(), 128u);
}

TEST(Lifecycle, ExitChild) {
  // The process ExitWithTransfersInFlightIsClean starts: transfers run on a detached thread
  // when exit() runs the static destructors.
  const char* base = std::getenv("ASYNCFS_LIFECYCLE_EXIT_CHILD");
  if (!base) GTEST_SKIP() << "run as a child process by ExitWithTransfersInFlightIsClean";
  std::vector<std::string> urls;
  for (int i = 0; i < 64; ++i) {
    urls.push_back(std::string(base) + "slow?size=40&interval_ms=50&k=exit" + std::to_string(i));
  }
  auto fs = make_fs(nullptr);
  std::thread([fs, urls] {
    CatOptions o;
    o.on_error = OnError::kReturn;
    try {
      fs->cat(urls, o);
    } catch (...) {
    }
  }).detach();
  std::this_thread::sleep_for(200ms);
  std::exit(0);
}

TEST(Lifecycle, ExitWithTransfersInFlightIsClean) {
  // A program that returns from main (or calls exit) while its transfers run: static
  // destructors and the default IoThread must not crash or hang. The child is this binary
  // again (a fresh process, not a fork of one with threads), without leak checking: what a
  // detached thread holds at exit is not a leak this test is about.
  auto& f = FaultServer::shared();
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    if (!std::string_view(*e).starts_with("ASAN_OPTIONS=")) env_strings.emplace_back(*e);
  }
  env_strings.push_back("ASYNCFS_LIFECYCLE_EXIT_CHILD=" + f.url(""));
  env_strings.push_back("ASAN_OPTIONS=detect_leaks=0:abort_on_error=1");
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string filter = "--gtest_filter=Lifecycle.ExitChild";
  std::vector<char*> argv{self.data(), filter.data(), nullptr};
  pid_t pid = -1;
  ASSERT_EQ(::posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), envp.data()), 0);
  int status = 0;
  for (int i = 0; i < 400 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  if (::waitpid(pid, &status, WNOHANG) == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "exit hangs with transfers in flight";
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
}

}  // namespace
}  // namespace asyncfs
