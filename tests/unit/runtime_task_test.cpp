// Task<T>: laziness, values, exceptions, stop-token propagation, constant stack depth.

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

#include "asyncfs/errors.hpp"
#include "asyncfs/io_thread.hpp"
#include "asyncfs/sync.hpp"
#include "asyncfs/task.hpp"
#include "support/co_test.hpp"
#include "support/task_stack_check.hpp"

namespace asyncfs {
namespace {

using testing::drive_inline;
using testing::run;

Task<int> add(int a, int b) { co_return a + b; }

Task<int> throws_after(int n) {
  if (n > 0) throw std::runtime_error("boom " + std::to_string(n));
  co_return 0;
}

Task<std::string> nested(int depth) {
  if (depth == 0) co_return std::string("leaf");
  std::string inner = co_await nested(depth - 1);
  co_return inner + "+";
}

TEST(Task, IsLazyUntilAwaited) {
  std::atomic<bool> started{false};
  auto make = [&started]() -> Task<int> {
    // Not a coroutine itself: returns a coroutine that records when it starts.
    return [](std::atomic<bool>* s) -> Task<int> {
      s->store(true);
      co_return 7;
    }(&started);
  };
  Task<int> t = make();
  EXPECT_FALSE(started.load());
  EXPECT_EQ(drive_inline(std::move(t)), 7);
  EXPECT_TRUE(started.load());
}

TEST(Task, DestroyingAnUnstartedTaskRunsNothing) {
  std::atomic<bool> started{false};
  {
    auto t = [](std::atomic<bool>* s) -> Task<void> {
      s->store(true);
      co_return;
    }(&started);
  }
  EXPECT_FALSE(started.load());
}

TEST(Task, ValuesAndNesting) {
  EXPECT_EQ(drive_inline(add(2, 3)), 5);
  EXPECT_EQ(drive_inline(nested(5)), "leaf+++++");
}

TEST(Task, ExceptionsPropagateThroughCoAwait) {
  auto outer = []() -> Task<int> {
    try {
      co_await throws_after(3);
    } catch (const std::runtime_error& e) {
      co_return std::string(e.what()) == "boom 3" ? 1 : 2;
    }
    co_return 0;
  };
  EXPECT_EQ(drive_inline(outer()), 1);
}

TEST(Task, MillionSynchronousAwaitsDoNotOverflowTheStack) {
  // This binary is built in Debug by CI as well; the clang build runs the same check in
  // tests/standalone/task_stack_main.cpp.
  EXPECT_EQ(drive_inline(testing::sum_of_ones(1'000'000)), 1'000'000);
}

TEST(Task, MillionAwaitsOnTheIoThread) {
  IoThread io;
  EXPECT_EQ(run(io, testing::sum_of_ones(1'000'000)), 1'000'000);
}

Task<bool> child_sees_stop() {
  std::stop_token t = co_await current_stop_token();
  co_return t.stop_possible();
}

TEST(Task, StopTokenIsHandedToChildren) {
  IoThread io;
  auto parent = []() -> Task<bool> { co_return co_await child_sees_stop(); };
  // sync() gives every root a stoppable token; the grandchild must see it.
  EXPECT_TRUE(run(io, parent()));
}

TEST(Task, ThrowIfStoppedThrowsCancelled) {
  IoThread io;
  auto body = [](IoThread* io) -> Task<int> {
    int loops = 0;
    for (;;) {
      co_await throw_if_stopped("loop");
      co_await sleep_for(*io, std::chrono::milliseconds(1));
      ++loops;
    }
    co_return loops;
  };
  EXPECT_THROW(sync(io, body(&io), std::chrono::milliseconds(30)), Timeout);
}

}  // namespace
}  // namespace asyncfs
