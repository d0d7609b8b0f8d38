// Many threads on one filesystem: every blocking method is one sync() onto the shared IO
// thread, so 16 callers at once must neither deadlock nor mix up their results.

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "conformance/conformance.hpp"

namespace asyncfs::conformance {
namespace {

constexpr int kThreads = 16;
constexpr int kRounds = 12;

class ConcurrencyTest : public ConformanceTest {
 protected:
  /// Runs `body(thread_index)` on kThreads threads released together; collects failures
  /// (exceptions included) so one bad thread cannot hide behind std::terminate.
  void run_threads(const std::function<void(int)>& body) {
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::mutex mu;
    std::vector<std::string> failures;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ++ready;
        while (!go.load()) std::this_thread::yield();
        try {
          body(t);
        } catch (const std::exception& e) {
          std::lock_guard lock(mu);
          failures.push_back("thread " + std::to_string(t) + ": " + e.what());
        }
      });
    }
    while (ready.load() < kThreads) std::this_thread::yield();
    go = true;
    for (auto& th : threads) th.join();
    EXPECT_TRUE(failures.empty()) << ::testing::PrintToString(failures);
  }
  static std::string payload(int t, int r) {
    return "thread " + std::to_string(t) + " round " + std::to_string(r) +
           std::string(static_cast<std::size_t>(t * 37 + r), static_cast<char>('A' + t));
  }
};

TEST_P(ConcurrencyTest, SixteenThreadsReadingAtOnce) {
  REQUIRE_CAP(read);
  for (int t = 0; t < kThreads; ++t) seed("r/f" + std::to_string(t), payload(t, 0));
  seed("shared", std::string(20000, 's'));
  run_threads([&](int t) {
    const std::string mine = p("r/f" + std::to_string(t));
    for (int r = 0; r < kRounds; ++r) {
      if (fs().cat_file(mine) != payload(t, 0)) throw std::runtime_error("cat_file mismatch");
      if (fs().cat_file(p("shared"), r * 100, r * 100 + 50) != std::string(50, 's')) {
        throw std::runtime_error("range mismatch");
      }
      if (fs().info(mine).size != payload(t, 0).size()) throw std::runtime_error("info size");
      if (!fs().exists(mine) || fs().exists(mine + ".no")) throw std::runtime_error("exists");
      if (caps().list && fs().ls(p("r")).size() != std::size_t{kThreads})
        throw std::runtime_error("ls");
      auto many = fs().cat(Paths{mine, p("shared")});
      if (many.items.at(mine).value() != payload(t, 0)) throw std::runtime_error("cat map");
      File f = fs().open(mine);
      f.seek(7);
      if (f.read(4) != payload(t, 0).substr(7, 4)) throw std::runtime_error("file read");
    }
  });
}

TEST_P(ConcurrencyTest, SixteenThreadsWritingTheirOwnFiles) {
  REQUIRE_CAP(write);
  REQUIRE_CAP(list);
  run_threads([&](int t) {
    const std::string dir = p("w" + std::to_string(t));
    for (int r = 0; r < kRounds; ++r) {
      const std::string f = dir + "/f" + std::to_string(r);
      fs().pipe_file(f, payload(t, r));
      if (fs().cat_file(f) != payload(t, r)) throw std::runtime_error("read back " + f);
    }
    if (fs().find(dir).size() != std::size_t{kRounds}) throw std::runtime_error("find " + dir);
    if (caps().remove) {
      fs().rm(dir, RmOptions{true, std::nullopt, std::nullopt});
      if (fs().exists(dir)) throw std::runtime_error("rm " + dir);
    }
  });
  if (!caps().remove) {
    EXPECT_EQ(fs().find(root()).size(), std::size_t{kThreads * kRounds});
  }
}

TEST_P(ConcurrencyTest, SixteenThreadsOverwritingOneFile) {
  REQUIRE_CAP(write);
  // Every writer stores 4096 copies of its own letter; the result must be one writer's
  // content, never an interleaving of several.
  run_threads([&](int t) {
    for (int r = 0; r < 4; ++r) {
      fs().pipe_file(p("contended"), std::string(4096, static_cast<char>('a' + t)));
    }
  });
  const std::string got = fs().cat_file(p("contended"));
  ASSERT_EQ(got.size(), 4096u);
  EXPECT_EQ(got, std::string(4096, got[0]));
}

TEST_P(ConcurrencyTest, SixteenThreadsMixingBulkCalls) {
  REQUIRE_CAP(write);
  REQUIRE_CAP(list);
  std::map<std::string, Bytes> items;
  for (int i = 0; i < 40; ++i) items[p("bulk/f" + std::to_string(i))] = std::to_string(i * i);
  fs().pipe(items);
  run_threads([&](int t) {
    for (int r = 0; r < 4; ++r) {
      CatOptions o;
      o.batch_size = 1 + t % 5;
      auto got = fs().cat(p("bulk/*"), o);
      if (got.items.size() != items.size()) throw std::runtime_error("cat size");
      for (const auto& [k, v] : items) {
        if (got.items.at(k).value() != v) throw std::runtime_error("cat value " + k);
      }
      if (fs().du_total(p("bulk")) == 0) throw std::runtime_error("du");
      if (fs().glob(p("bulk/f1*")).size() != 11) throw std::runtime_error("glob");
    }
  });
}

}  // namespace

ASYNCFS_CONFORMANCE_SUITE(ConcurrencyTest);

}  // namespace asyncfs::conformance
