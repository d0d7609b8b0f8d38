// Built by CI with clang at -O0 (g++ runs the same check in asyncfs_runtime_tests): one million
// synchronously completing awaits must not overflow the stack.
#include <cstdio>

#include "support/task_stack_check.hpp"

int main() {
  const std::int64_t n = 1'000'000;
  const std::int64_t got = asyncfs::testing::drive_inline(asyncfs::testing::sum_of_ones(n));
  if (got != n) {
    std::fprintf(stderr, "expected %lld, got %lld\n", static_cast<long long>(n),
                 static_cast<long long>(got));
    return 1;
  }
  std::printf("ok: %lld synchronous awaits\n", static_cast<long long>(got));
  return 0;
}
