// Runtime overheads: one co_await, one gathered task, one sync() round trip.
// Targets (issue #2): <= 50 ns per await, <= 1 us per gathered task, <= 20 us per sync().

#include <benchmark/benchmark.h>

#include <chrono>

#include "asyncfs/gather.hpp"
#include "asyncfs/io_thread.hpp"
#include "asyncfs/sync.hpp"

namespace asyncfs {
namespace {

Task<int> leaf(int v) { co_return v; }

Task<std::int64_t> await_loop(std::int64_t n) {
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += co_await leaf(static_cast<int>(i & 1));
  co_return sum;
}

// Seconds per item, from wall time (the work runs on the IO thread, not the timed thread).
benchmark::Counter per_item(std::size_t items_per_iteration) {
  return benchmark::Counter(
      static_cast<double>(items_per_iteration),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

IoThread& bench_io() {
  static IoThread* io = new IoThread("asyncfs-bench");
  return *io;
}

// Cost of creating, awaiting and destroying one synchronously completing child task.
void BM_CoAwait(benchmark::State& state) {
  constexpr std::int64_t kPerSync = 100'000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sync(bench_io(), await_loop(kPerSync)));
  }
  state.SetItemsProcessed(state.iterations() * kPerSync);
  state.counters["per_await"] = per_item(kPerSync);
}
BENCHMARK(BM_CoAwait)->UseRealTime()->Unit(benchmark::kMillisecond);

Task<std::size_t> gather_noops(std::size_t n, int batch) {
  auto outs = co_await gather<int>(
      n, [](std::size_t i) { return leaf(static_cast<int>(i)); }, GatherOptions{batch});
  co_return outs.size();
}

// 100,000 no-op tasks through a window of 1,280.
void BM_Gather100k(benchmark::State& state) {
  constexpr std::size_t kTasks = 100'000;
  for (auto _ : state) benchmark::DoNotOptimize(sync(bench_io(), gather_noops(kTasks, 1280)));
  state.SetItemsProcessed(state.iterations() * kTasks);
  state.counters["per_task"] = per_item(kTasks);
}
BENCHMARK(BM_Gather100k)->UseRealTime()->Unit(benchmark::kMillisecond);

// A blocking call from another thread: post, wake the loop, run, wake the caller.
void BM_SyncRoundTrip(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(sync(bench_io(), leaf(1)));
  state.counters["per_sync"] = per_item(1);
}
BENCHMARK(BM_SyncRoundTrip)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace asyncfs

BENCHMARK_MAIN();
