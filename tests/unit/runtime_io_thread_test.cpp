// IoThread and sync(): posting, the loop-thread guard, timeouts, shutdown, bring-your-own-loop.

#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "asyncfs/errors.hpp"
#include "asyncfs/io_thread.hpp"
#include "asyncfs/sync.hpp"
#include "support/co_test.hpp"

namespace asyncfs {
namespace {

using namespace std::chrono_literals;
using testing::run;

Task<int> answer() { co_return 42; }

Task<int> sleep_then(IoThread* io, Duration d, int v) {
  co_await sleep_for(*io, d);
  co_return v;
}

TEST(IoThread, PostRunsJobsInOrderOnTheLoopThread) {
  IoThread io;
  std::vector<int> seen;
  std::promise<void> done;
  std::atomic<bool> all_on_loop{true};
  for (int i = 0; i < 100; ++i) {
    io.post([&, i] {
      all_on_loop = all_on_loop && io.in_loop_thread();
      seen.push_back(i);
      if (i == 99) done.set_value();
    });
  }
  ASSERT_EQ(done.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(all_on_loop.load());
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
  EXPECT_FALSE(io.in_loop_thread());
}

TEST(IoThread, SyncReturnsValues) {
  IoThread io;
  EXPECT_EQ(run(io, answer()), 42);
  EXPECT_EQ(run(io, sleep_then(&io, 5ms, 7)), 7);
}

TEST(IoThread, SyncFromManyThreadsAtOnce) {
  IoThread io;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (sync(io, sleep_then(&io, i % 3 == 0 ? 1ms : 0ms, t * 1000 + i), 30s) == t * 1000 + i) {
          ok.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 16 * 200);
}

TEST(IoThread, SyncOnTheLoopThreadThrowsInsteadOfDeadlocking) {
  IoThread io;
  std::promise<std::string> result;
  io.post([&] {
    try {
      (void)sync(io, answer());
      result.set_value("no exception");
    } catch (const InvalidArgument& e) {
      result.set_value(e.what());
    }
  });
  auto f = result.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_NE(f.get().find("deadlock"), std::string::npos);
}

TEST(IoThread, TimeoutThrowsAndStopsTheTask) {
  IoThread io;
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  auto long_task = [](IoThread* io, std::shared_ptr<std::atomic<bool>> flag) -> Task<int> {
    try {
      co_await sleep_for(*io, 30s);
    } catch (const Cancelled&) {
      flag->store(true);
      throw;
    }
    co_return 1;
  };
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(sync(io, long_task(&io, cancelled), 50ms), Timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  for (int i = 0; i < 500 && !cancelled->load(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(cancelled->load()) << "the timed-out task was not stopped";
  for (int i = 0; i < 500 && io.active_roots() != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(io.active_roots(), 0u);
}

TEST(IoThread, ZeroTimeoutMeansNoTimeout) {
  IoThread io;
  EXPECT_EQ(sync(io, sleep_then(&io, 20ms, 3), Duration::zero()), 3);
}

TEST(IoThread, ShutdownWithWorkInFlightReleasesWaiters) {
  auto io = std::make_unique<IoThread>();
  std::vector<std::future<std::string>> waiters;
  for (int i = 0; i < 8; ++i) {
    waiters.push_back(std::async(std::launch::async, [&io] {
      try {
        (void)sync(*io, sleep_then(io.get(), 60s, 1));
        return std::string("finished");
      } catch (const Cancelled&) {
        return std::string("cancelled");
      }
    }));
  }
  for (int i = 0; i < 500 && io->active_roots() < 8; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(io->active_roots(), 8u);
  const auto t0 = std::chrono::steady_clock::now();
  io->shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  for (auto& w : waiters) {
    ASSERT_EQ(w.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(w.get(), "cancelled");
  }
  EXPECT_FALSE(io->running());
  EXPECT_THROW((void)sync(*io, answer()), Cancelled);
  EXPECT_THROW(io->post([] {}), Cancelled);
  io.reset();  // a second shutdown from the destructor is a no-op
}

TEST(IoThread, ShutdownAbandonsTasksThatIgnoreCancellation) {
  IoThread io;
  // A task that waits on something that never completes and never looks at its stop token.
  struct Forever {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    void await_resume() const noexcept {}
  };
  auto stuck = []() -> Task<int> {
    co_await Forever{};
    co_return 1;
  };
  auto waiter = std::async(std::launch::async, [&] {
    try {
      (void)sync(io, stuck());
      return std::string("finished");
    } catch (const Cancelled&) {
      return std::string("cancelled");
    }
  });
  for (int i = 0; i < 500 && io.active_roots() < 1; ++i) std::this_thread::sleep_for(5ms);
  io.shutdown(100ms);
  ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(waiter.get(), "cancelled");
}

struct CountingService : IoThread::Service {
  explicit CountingService(IoThread& io) : io_(io) { ++created; }
  ~CountingService() override {
    destroyed_on_loop = io_.in_loop_thread();
    ++destroyed;
  }
  IoThread& io_;
  static inline std::atomic<int> created{0};
  static inline std::atomic<int> destroyed{0};
  static inline std::atomic<bool> destroyed_on_loop{false};
};

TEST(IoThread, ServicesAreCreatedOnceAndDestroyedOnTheLoopAtShutdown) {
  auto io = std::make_unique<IoThread>();
  auto use = [](IoThread* io) -> Task<bool> {
    CountingService& a = io->service<CountingService>();
    CountingService& b = io->service<CountingService>();
    co_return &a == &b;
  };
  EXPECT_TRUE(run(*io, use(io.get())));
  EXPECT_TRUE(run(*io, use(io.get())));
  EXPECT_EQ(CountingService::created.load(), 1);
  EXPECT_EQ(CountingService::destroyed.load(), 0);
  io->shutdown();
  EXPECT_EQ(CountingService::destroyed.load(), 1);
  EXPECT_TRUE(CountingService::destroyed_on_loop.load());
}

TEST(IoThread, DefaultIoThreadIsSharedAndRecreatedAfterShutdown) {
  auto a = default_io_thread();
  auto b = default_io_thread();
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(run(*a, answer()), 42);
  shutdown_default_io_thread();
  EXPECT_FALSE(a->running());
  auto c = default_io_thread();
  EXPECT_TRUE(c->running());
  EXPECT_EQ(run(*c, answer()), 42);
}

TEST(IoThread, BringYourOwnLoop) {
  // The caller owns the loop and the thread; asyncfs only adopts it.
  std::promise<IoThread*> adopted;
  std::promise<void> stop;
  std::atomic<bool> shutdown_ok{false};
  std::thread owner([&] {
    uv_loop_t loop;
    uv_loop_init(&loop);
    uv_async_t keepalive;  // the application's own handle keeps its loop running
    uv_async_init(&loop, &keepalive, [](uv_async_t* h) { uv_close((uv_handle_t*)h, nullptr); });
    IoThread io(IoThread::AdoptTag{}, &loop);
    adopted.set_value(&io);
    std::thread([&] {
      stop.get_future().wait();
      uv_async_send(&keepalive);
    }).detach();
    uv_run(&loop, UV_RUN_DEFAULT);
    io.shutdown();  // outside uv_run, on the loop's thread, as documented
    shutdown_ok = !io.running();
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop), 0);
  });
  IoThread* io = adopted.get_future().get();
  EXPECT_EQ(sync(*io, answer(), 10s), 42);
  EXPECT_EQ(sync(*io, sleep_then(io, 5ms, 9), 10s), 9);
  stop.set_value();
  owner.join();
  EXPECT_TRUE(shutdown_ok.load());
}

TEST(IoThread, AnAdoptedLoopShutDownOnItsThreadMayBeDroppedOnAnother) {
  // docs/runtime.md: the loop's thread calls shutdown(); the last reference may be dropped
  // later by another thread (a filesystem held by main): no second shutdown, no throw.
  std::shared_ptr<IoThread> io;
  std::thread owner([&] {
    uv_loop_t loop;
    uv_loop_init(&loop);
    io = std::make_shared<IoThread>(IoThread::AdoptTag{}, &loop);
    io->shutdown();
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop), 0);
  });
  owner.join();
  EXPECT_FALSE(io->running());
  EXPECT_NO_THROW(io->shutdown());
  io.reset();  // ~IoThread on this thread: used to throw from the destructor (terminate)
}

}  // namespace
}  // namespace asyncfs
