// The runtime as users meet it through a filesystem: many threads, asynchronous mode, fork().

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "asyncfs/asyncfs.hpp"
#include "support/co_test.hpp"

namespace asyncfs {
namespace {

using namespace std::chrono_literals;

// A memory filesystem with its own store (registry-made ones share one process-wide store).
std::shared_ptr<AsyncFileSystem> fresh_memory() { return memory::make_filesystem({}); }

TEST(RuntimeFilesystem, SixteenThreadsCallBlockingMethodsOnOneFilesystem) {
  auto fs = fresh_memory();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int i = 0; i < 50; ++i) {
          const std::string p = "/t" + std::to_string(t) + "/f" + std::to_string(i);
          const std::string data = "thread " + std::to_string(t) + " item " + std::to_string(i);
          fs->pipe_file(p, data);
          if (fs->cat_file(p) != data) failures.fetch_add(1);
          if (!fs->exists(p)) failures.fetch_add(1);
          if (fs->info(p).size != data.size()) failures.fetch_add(1);
        }
        if (fs->ls("/t" + std::to_string(t)).size() != 50) failures.fetch_add(1);
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        failures.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(fs->find("/").size(), 16u * 50u);
}

TEST(RuntimeFilesystem, PerCallTimeoutIsAccepted) {
  auto fs = fresh_memory();
  fs->pipe_file("/a", "x", WriteMode::kOverwrite, 10s);
  EXPECT_EQ(fs->cat_file("/a", {}, {}, 10s), "x");
}

// A filesystem whose info() takes longer than any timeout the tests give.
class SlowFs final : public AsyncFileSystem {
 public:
  SlowFs() : AsyncFileSystem(FsBaseOptions{}) {}
  std::string protocol() const override { return "slow"; }
  Capabilities capabilities() const override { return {}; }
  Task<FileInfo> _info(std::string) override {
    co_await sleep_for(io(), 10s);
    co_return FileInfo{};
  }
};

TEST(RuntimeFilesystem, BlockingTimeoutNamesThePath) {
  // The Timeout of a blocking call used to carry an empty path: sync() never saw it.
  auto fs = std::make_shared<SlowFs>();
  try {
    fs->info("/data/slow.bin", 50ms);
    ADD_FAILURE() << "no timeout";
  } catch (const Timeout& e) {
    EXPECT_EQ(e.path(), "/data/slow.bin");
    EXPECT_NE(std::string(e.what()).find("/data/slow.bin"), std::string::npos) << e.what();
  }
  try {
    fs->get(Paths("/data/slow.bin"), Paths("/tmp/never"), {}, 50ms);
    ADD_FAILURE() << "no timeout";
  } catch (const Timeout& e) {
    EXPECT_EQ(e.path(), "/data/slow.bin");
  }
}

TEST(RuntimeFilesystem, AsynchronousModeIsUsedFromCoroutines) {
  auto fs = filesystem("memory", {{"asynchronous", "true"}, {"skip_instance_cache", "true"}});
  EXPECT_TRUE(fs->asynchronous());
  // Blocking methods refuse: the caller is expected to be a coroutine on the loop.
  EXPECT_THROW(fs->cat_file("/nothing"), InvalidArgument);
  auto body = [](std::shared_ptr<AsyncFileSystem> fs) -> Task<std::string> {
    co_await fs->_pipe_file("/x", "hello", WriteMode::kOverwrite);
    // Built outside the co_await: g++ 12 rejects an initializer_list's backing array inside a
    // co_await full-expression ("array used as initializer").
    const std::string key = "/x";
    Paths paths(std::vector<std::string>{key});
    auto all = co_await fs->_cat(std::move(paths), CatOptions{});
    co_return all.items.at(key).value();
  };
  EXPECT_EQ(sync(fs->io(), body(fs), 30s), "hello");
}

TEST(RuntimeFilesystem, ForkedChildUsesANewFilesystem) {
  auto fs = filesystem("memory");
  fs->pipe_file("/before-fork", "parent");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: the parent's IO thread does not exist here. Using the old instance must fail
    // clearly; a new one must work.
    int code = 0;
    try {
      (void)fs->cat_file("/before-fork");
      code = 10;  // must not succeed silently
    } catch (const Cancelled&) {
    } catch (...) {
      code = 11;
    }
    try {
      auto child_fs = filesystem("memory");
      if (child_fs.get() == fs.get()) code = 12;
      child_fs->pipe_file("/in-child", "child");
      if (child_fs->cat_file("/in-child") != "child") code = 13;
    } catch (...) {
      code = 14;
    }
    _exit(code);
  }
  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 1000 && done == 0; ++i) {
    done = waitpid(pid, &status, WNOHANG);
    if (done == 0) std::this_thread::sleep_for(10ms);
  }
  if (done == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    FAIL() << "forked child hung";
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(fs->cat_file("/before-fork"), "parent");  // the parent is unaffected
}

}  // namespace
}  // namespace asyncfs
