#pragma once
// Running coroutine test bodies: `run(io, task)` is sync() with a generous bound so a broken
// test fails instead of hanging. Inside coroutine bodies use EXPECT_*, never ASSERT_* (ASSERT
// expands to `return`, which is not valid in a coroutine).

#include <chrono>

#include "asyncfs/sync.hpp"

namespace asyncfs::testing {

inline constexpr auto kTestTimeout = std::chrono::seconds(60);

template <class T>
T run(IoThread& io, Task<T> task) {
  return sync(io, std::move(task), kTestTimeout);
}

}  // namespace asyncfs::testing
