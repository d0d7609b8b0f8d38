// gather(): the sliding window, order, per-item outcomes, cancel-on-first-error, progress.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "asyncfs/callback.hpp"
#include "asyncfs/config.hpp"
#include "asyncfs/errors.hpp"
#include "asyncfs/gather.hpp"
#include "asyncfs/io_thread.hpp"
#include "support/co_test.hpp"

namespace asyncfs {
namespace {

using namespace std::chrono_literals;
using testing::run;

struct Window {
  int in_flight = 0;
  int peak = 0;
  int started = 0;
};

// Item i sleeps a pseudo-random few ms so completions arrive out of order.
Task<int> item(IoThread* io, Window* w, int i, bool fail) {
  ++w->in_flight;
  ++w->started;
  w->peak = std::max(w->peak, w->in_flight);
  try {
    co_await sleep_for(*io, std::chrono::milliseconds(1 + (i * 7) % 5));
  } catch (...) {
    --w->in_flight;
    throw;
  }
  --w->in_flight;
  if (fail) throw std::runtime_error("item " + std::to_string(i) + " failed");
  co_return i * 10;
}

struct CountingCallback : Callback {
  int changes = 0;
  void on_change() override { ++changes; }
};

TEST(Gather, NeverMoreThanBatchSizeInFlightAndKeepsOrder) {
  IoThread io;
  for (int batch : {1, 3, 16, 64}) {
    Window w;
    CountingCallback progress;
    auto body = [](IoThread* io, Window* w, int batch, Callback* cb) -> Task<std::vector<int>> {
      auto outs = co_await gather<int>(
          200, [=](std::size_t i) { return item(io, w, static_cast<int>(i), false); },
          GatherOptions{batch, cb, GatherPolicy::kCollect});
      std::vector<int> values;
      for (auto& o : outs) values.push_back(o.value());
      co_return values;
    };
    auto values = run(io, body(&io, &w, batch, &progress));
    ASSERT_EQ(values.size(), 200u);
    for (int i = 0; i < 200; ++i) EXPECT_EQ(values[i], i * 10);
    EXPECT_LE(w.peak, batch);
    EXPECT_EQ(w.peak, std::min(batch, 200)) << "the window was not kept full";
    EXPECT_EQ(progress.value(), 200u);
    EXPECT_EQ(progress.changes, 200);
  }
}

TEST(Gather, UnboundedRunsEverythingAtOnce) {
  IoThread io;
  Window w;
  auto body = [](IoThread* io, Window* w) -> Task<std::size_t> {
    auto outs = co_await gather<int>(
        50, [=](std::size_t i) { return item(io, w, static_cast<int>(i), false); },
        GatherOptions{-1});
    co_return outs.size();
  };
  EXPECT_EQ(run(io, body(&io, &w)), 50u);
  EXPECT_EQ(w.peak, 50);
}

TEST(Gather, PerItemOutcomes) {
  IoThread io;
  Window w;
  auto body = [](IoThread* io, Window* w) -> Task<std::vector<Outcome<int>>> {
    co_return co_await gather<int>(
        10, [=](std::size_t i) { return item(io, w, static_cast<int>(i), i % 3 == 0); },
        GatherOptions{4});
  };
  auto outs = run(io, body(&io, &w));
  ASSERT_EQ(outs.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    if (i % 3 == 0) {
      EXPECT_TRUE(outs[i].has_error());
      EXPECT_THROW(outs[i].value(), std::runtime_error);
    } else {
      EXPECT_EQ(outs[i].value(), i * 10);
    }
  }
}

TEST(Gather, CancelOnFirstErrorStopsStartingAndRethrows) {
  IoThread io;
  Window w;
  auto body = [](IoThread* io, Window* w) -> Task<int> {
    co_await gather<int>(
        1000, [=](std::size_t i) { return item(io, w, static_cast<int>(i), i == 5); },
        GatherOptions{4, nullptr, GatherPolicy::kCancelOnFirstError});
    co_return 0;
  };
  try {
    run(io, body(&io, &w));
    FAIL() << "expected the first failure to be rethrown";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "item 5 failed");
  }
  EXPECT_LT(w.started, 20) << "items kept starting after the first failure";
  EXPECT_EQ(w.in_flight, 0) << "running items were not wound down";
}

TEST(Gather, SyncTimeoutCancelsEveryItem) {
  IoThread io;
  Window w;
  auto body = [](IoThread* io, Window* w) -> Task<std::size_t> {
    auto outs = co_await gather<int>(
        100,
        [=](std::size_t) -> Task<int> {
          return [](IoThread* io, Window* w) -> Task<int> {
            ++w->in_flight;
            try {
              co_await sleep_for(*io, 60s);
            } catch (...) {
              --w->in_flight;
              throw;
            }
            co_return 0;
          }(io, w);
        },
        GatherOptions{10});
    co_return outs.size();
  };
  EXPECT_THROW(sync(io, body(&io, &w), 50ms), Timeout);
  for (int i = 0; i < 500 && io.active_roots() != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(io.active_roots(), 0u);
}

TEST(Gather, EmptyInputAndBadWindow) {
  IoThread io;
  auto empty = []() -> Task<std::size_t> {
    auto outs = co_await gather<int>(0, [](std::size_t) -> Task<int> { co_return 1; }, {8});
    co_return outs.size();
  };
  EXPECT_EQ(run(io, empty()), 0u);
  for (int bad : {0, -2, -100}) {
    auto body = [](int b) -> Task<int> {
      co_await gather<int>(3, [](std::size_t) -> Task<int> { co_return 1; }, {b});
      co_return 0;
    };
    EXPECT_THROW(run(io, body(bad)), InvalidArgument) << bad;
  }
}

TEST(Gather, ManyNoOpTasksCompleteInline) {
  IoThread io;
  auto body = []() -> Task<std::size_t> {
    auto outs = co_await gather<int>(
        100'000, [](std::size_t i) -> Task<int> { co_return static_cast<int>(i); },
        GatherOptions{1280});
    co_return outs.size();
  };
  EXPECT_EQ(run(io, body()), 100'000u);
}

TEST(BatchSize, PrecedenceCallInstanceConfigDefault) {
  Config cfg;
  cfg.gather_batch_size = 33;
  cfg.nofiles_gather_batch_size = 44;
  set_config(cfg);
  EXPECT_EQ(resolve_batch_size(5, 6, true), 5);
  EXPECT_EQ(resolve_batch_size(std::nullopt, 6, true), 6);
  EXPECT_EQ(resolve_batch_size(std::nullopt, std::nullopt, true), 44);
  EXPECT_EQ(resolve_batch_size(std::nullopt, std::nullopt, false), 33);
  EXPECT_EQ(resolve_batch_size(-1, std::nullopt, false), -1);
  set_config(Config{});
  EXPECT_EQ(resolve_batch_size(std::nullopt, std::nullopt, true), default_batch_size(true));
  EXPECT_EQ(resolve_batch_size(std::nullopt, std::nullopt, false), default_batch_size(false));
  EXPECT_THROW(resolve_batch_size(0, std::nullopt, true), InvalidArgument);
  EXPECT_THROW(resolve_batch_size(std::nullopt, -5, true), InvalidArgument);
  reload_config();
}

TEST(BatchSize, TheDefaultWindowFitsTheDescriptorLimit) {
  // 1280 requests in flight under `ulimit -n 1024` failed with EMFILE ("Couldn't connect").
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 1024) GTEST_SKIP() << "hard limit";
  rlimit low = saved;
  low.rlim_cur = 1024;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  const int nofiles = default_batch_size(true);
  const int files = default_batch_size(false);
  low.rlim_cur = 100'000 < saved.rlim_max ? 100'000 : saved.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  const int roomy = default_batch_size(true);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_EQ(nofiles, 768);
  EXPECT_EQ(files, 128);
  EXPECT_EQ(roomy, static_cast<int>(std::min<rlim_t>(1280, low.rlim_cur - low.rlim_cur / 4)));
}

}  // namespace
}  // namespace asyncfs
