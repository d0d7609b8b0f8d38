// Read caches: every strategy against the true slices of a generated buffer, with a fetcher
// that records its calls, plus the exact fetch patterns each strategy promises (LRU, merged
// block runs, window replacement, buffer growth and trimming) and the cached file on top.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "asyncfs/backends/memory.hpp"
#include "asyncfs/caching.hpp"
#include "asyncfs/errors.hpp"
#include "asyncfs/gather.hpp"
#include "support/co_test.hpp"

namespace asyncfs {
namespace {

using Call = std::pair<std::uint64_t, std::uint64_t>;
using Calls = std::vector<Call>;
constexpr std::uint64_t kToEof = std::numeric_limits<std::uint64_t>::max();

// The remote file behind a cache: its bytes, every fetch made, and knobs for failures.
struct Source {
  Bytes data;
  Calls calls;
  IoThread* suspend_on = nullptr;  // set: every fetch really suspends on a timer of this loop
  int fail_call = -1;              // index of the call that throws IoError
};

// Bytes from a fixed-seed generator, so a slice taken at a wrong offset never looks right.
Bytes generated(std::size_t n) {
  std::mt19937 gen(12345);
  Bytes out(n, '\0');
  for (char& c : out) c = static_cast<char>(gen() & 0xff);
  return out;
}

// The slice a correct cache returns: [start, min(end, size)), "" when empty.
Bytes truth(const Bytes& data, std::uint64_t start, std::uint64_t end) {
  end = std::min<std::uint64_t>(end, data.size());
  if (start >= end) return Bytes{};
  return data.substr(start, end - start);
}

Task<Bytes> fetch_from(Source* src, std::uint64_t start, std::uint64_t end) {
  const int index = static_cast<int>(src->calls.size());
  src->calls.emplace_back(start, end);
  // Caches clamp before fetching: a request past the end or an empty one is a cache bug.
  EXPECT_LT(start, end);
  if (src->suspend_on != nullptr)
    co_await sleep_for(*src->suspend_on, std::chrono::milliseconds(1));
  if (index == src->fail_call) throw IoError("mem://file", "injected failure");
  co_return truth(src->data, start, end);
}

Fetcher fetcher_for(Source* src) {
  return [src](std::uint64_t start, std::uint64_t end) { return fetch_from(src, start, end); };
}

std::unique_ptr<ReadCache> cache_over(Source& src, std::string_view name, std::size_t blocksize,
                                      std::uint64_t size, CacheOptions opts = {}) {
  return make_cache(name, blocksize, size, fetcher_for(&src), opts);
}

Task<std::vector<Bytes>> read_each(ReadCache* cache, Calls ranges) {
  std::vector<Bytes> out;
  for (const Call& range : ranges) {
    Bytes got = co_await cache->read(range.first, range.second);
    out.push_back(std::move(got));
  }
  co_return out;
}

Bytes read_one(IoThread& io, ReadCache& cache, std::uint64_t start, std::uint64_t end) {
  return testing::run(io, cache.read(start, end));
}

// Fixed edge cases, a forward scan, a backward scan and random ranges over a file of `size`.
Calls ranges_for(std::uint64_t size) {
  const std::uint64_t n = size;
  Calls r = {{0, 0},          {0, 1}, {0, n},      {0, n + 10},        {n, n + 5},
             {n + 5, n + 10}, {5, 3}, {0, kToEof}, {n / 2, n / 2 + 1}, {n / 3, 2 * n / 3},
             {n / 2, kToEof}};
  if (n > 0) r.emplace_back(n - 1, n);
  for (std::uint64_t s = 0; s < n + 20; s += 13) r.emplace_back(s, s + 17);
  for (std::uint64_t s = n; s >= 50; s -= 50) r.emplace_back(s - 40, s);
  std::mt19937_64 gen(n + 7);
  for (int i = 0; i < 80; ++i) {
    const std::uint64_t s = gen() % (n + 30);
    const std::uint64_t len = gen() % 3 == 0 ? gen() % (n + 30) : gen() % 40;
    r.emplace_back(s, s + len);
  }
  return r;
}

// --- the matrix ----------------------------------------------------------------------------------

struct MatrixCase {
  std::string name;
  CacheOptions opts;
};

std::vector<MatrixCase> matrix_caches() {
  std::vector<MatrixCase> out;
  for (const std::string& name : cache_types()) {
    if (name == "blockcache") {
      for (std::size_t maxblocks : {1u, 4u, 32u}) {
        CacheOptions o;
        o.maxblocks = maxblocks;
        out.push_back({name, o});
      }
    } else if (name == "bytes") {
      for (bool trim : {true, false}) {
        CacheOptions o;
        o.trim = trim;
        out.push_back({name, o});
      }
    } else {
      out.push_back({name, CacheOptions{}});
    }
  }
  return out;
}

// Runs every range through one cache and checks results, fetch shapes and counters.
void check_matrix_case(IoThread& io, const MatrixCase& mc, std::uint64_t size,
                       std::size_t blocksize, bool suspend) {
  SCOPED_TRACE(mc.name + " maxblocks=" + std::to_string(mc.opts.maxblocks) +
               " trim=" + std::to_string(mc.opts.trim) + " size=" + std::to_string(size) +
               " blocksize=" + std::to_string(blocksize));
  Source src{generated(size)};
  if (suspend) src.suspend_on = &io;
  auto cache = cache_over(src, mc.name, blocksize, size, mc.opts);
  const Calls ranges = ranges_for(size);
  const std::vector<Bytes> got = testing::run(io, read_each(cache.get(), ranges));
  ASSERT_EQ(got.size(), ranges.size());

  std::uint64_t requested = 0;
  std::uint64_t nonempty = 0;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const Bytes want = truth(src.data, ranges[i].first, ranges[i].second);
    EXPECT_EQ(got[i], want) << "read [" << ranges[i].first << ", " << ranges[i].second << ")";
    requested += want.size();
    if (!want.empty()) ++nonempty;
  }

  std::uint64_t fetched = 0;
  for (const Call& c : src.calls) {
    EXPECT_LE(c.second, size);
    fetched += c.second - c.first;
    if (mc.name == "blockcache") {
      EXPECT_EQ(c.first % blocksize, 0u) << "unaligned block fetch at " << c.first;
      EXPECT_TRUE(c.second % blocksize == 0 || c.second == size) << "fetch ends at " << c.second;
    }
  }
  const CacheStats st = cache->stats();
  EXPECT_EQ(st.fetches, src.calls.size());
  EXPECT_EQ(st.fetched_bytes, fetched);
  EXPECT_EQ(st.requested_bytes, requested);
  if (mc.name != "blockcache") {
    EXPECT_EQ(st.hits + st.misses, nonempty);
  }
  if (mc.name == "none") {
    EXPECT_EQ(src.calls.size(), nonempty);
  }
  if (mc.name == "all") {
    EXPECT_EQ(src.calls.size(), size == 0 ? 0u : 1u);
  }
  if (size == 0) {
    EXPECT_TRUE(src.calls.empty());
  }
  if (mc.name == "blockcache") {
    EXPECT_LE(cache->cached_bytes(), mc.opts.maxblocks * blocksize);
  }
}

TEST(CachingMatrix, EveryCacheReturnsTheTrueSliceForEveryBlocksizeAndRange) {
  IoThread io;
  for (const MatrixCase& mc : matrix_caches()) {
    for (std::uint64_t size : {0u, 1u, 999u, 1024u}) {
      for (std::size_t blocksize : {1u, 7u, 64u, 100u, 1000u, 4096u}) {
        check_matrix_case(io, mc, size, blocksize, /*suspend=*/false);
      }
    }
  }
}

TEST(CachingMatrix, FetchersThatReallySuspendGiveTheSameResults) {
  IoThread io;
  for (const MatrixCase& mc : matrix_caches()) check_matrix_case(io, mc, 999, 64, true);
}

// Reads interleaving on the loop (each suspends in its fetch) must still each see their own
// true slice: caches install snapshots, never a half-updated buffer.
TEST(CachingMatrix, ConcurrentReadsOnOneCacheEachGetTheirSlice) {
  IoThread io;
  for (const MatrixCase& mc : matrix_caches()) {
    SCOPED_TRACE(mc.name + " maxblocks=" + std::to_string(mc.opts.maxblocks));
    Source src{generated(777)};
    src.suspend_on = &io;
    auto cache = cache_over(src, mc.name, 32, 777, mc.opts);
    const Calls ranges = ranges_for(777);
    std::vector<Task<Bytes>> reads;
    for (const Call& r : ranges) reads.push_back(cache->read(r.first, r.second));
    GatherOptions unbounded;
    const std::vector<Outcome<Bytes>> got = testing::run(io, gather(std::move(reads), unbounded));
    ASSERT_EQ(got.size(), ranges.size());
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      ASSERT_TRUE(got[i].has_value());
      EXPECT_EQ(got[i].value(), truth(src.data, ranges[i].first, ranges[i].second))
          << "read [" << ranges[i].first << ", " << ranges[i].second << ")";
    }
  }
}

TEST(CachingFactory, UnknownNameListsTheKnownTypes) {
  Source src{generated(10)};
  try {
    (void)cache_over(src, "mmap", 4, 10);
    ADD_FAILURE() << "no exception";
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("mmap"), std::string::npos) << what;
    for (const std::string& name : cache_types()) {
      EXPECT_NE(what.find(name), std::string::npos) << what;
    }
  }
  EXPECT_THROW((void)cache_over(src, "", 4, 10), InvalidArgument);
  EXPECT_THROW((void)cache_over(src, "blockcache", 0, 10), InvalidArgument);
  CacheOptions no_blocks;
  no_blocks.maxblocks = 0;
  EXPECT_THROW((void)cache_over(src, "blockcache", 4, 10, no_blocks), InvalidArgument);
  EXPECT_THROW((void)make_cache("none", 4, 10, Fetcher{}), InvalidArgument);
  EXPECT_EQ(cache_over(src, "bytes", 4, 10)->name(), "bytes");
}

// --- blockcache ----------------------------------------------------------------------------------

TEST(CachingBlockCache, LruEvictsTheLeastRecentlyUsedBlockAndCounts) {
  IoThread io;
  Source src{generated(100)};
  CacheOptions opts;
  opts.maxblocks = 2;
  auto cache = cache_over(src, "blockcache", 10, 100, opts);
  EXPECT_EQ(read_one(io, *cache, 0, 5), truth(src.data, 0, 5));      // miss block 0
  EXPECT_EQ(read_one(io, *cache, 12, 15), truth(src.data, 12, 15));  // miss block 1
  EXPECT_EQ(read_one(io, *cache, 3, 8), truth(src.data, 3, 8));      // hit 0: now 1 is LRU
  EXPECT_EQ(read_one(io, *cache, 25, 26), truth(src.data, 25, 26));  // miss 2, evicts 1
  EXPECT_EQ(read_one(io, *cache, 0, 1), truth(src.data, 0, 1));      // hit 0: now 2 is LRU
  EXPECT_EQ(read_one(io, *cache, 10, 11), truth(src.data, 10, 11));  // miss 1, evicts 2
  EXPECT_EQ(src.calls, (Calls{{0, 10}, {10, 20}, {20, 30}, {10, 20}}));
  const CacheStats st = cache->stats();
  EXPECT_EQ(st.hits, 2u);
  EXPECT_EQ(st.misses, 4u);
  EXPECT_EQ(st.fetches, 4u);
  EXPECT_EQ(st.evictions, 2u);
  EXPECT_EQ(st.fetched_bytes, 40u);
  EXPECT_EQ(st.requested_bytes, 5u + 3u + 5u + 1u + 1u + 1u);
  EXPECT_EQ(cache->cached_bytes(), 20u);
  // Block 0 and block 1 are cached; block 2 is not.
  EXPECT_EQ(read_one(io, *cache, 0, 20), truth(src.data, 0, 20));
  EXPECT_EQ(src.calls.size(), 4u);
}

TEST(CachingBlockCache, AWideReadFetchesEachMissingRunOnceEvenPastMaxblocks) {
  IoThread io;
  Source src{generated(100)};
  CacheOptions opts;
  opts.maxblocks = 3;
  auto cache = cache_over(src, "blockcache", 10, 100, opts);
  EXPECT_EQ(read_one(io, *cache, 0, 100), src.data);
  EXPECT_EQ(src.calls, (Calls{{0, 100}}));  // ten missing blocks, one request
  EXPECT_EQ(cache->stats().misses, 10u);
  EXPECT_EQ(cache->stats().evictions, 7u);
  EXPECT_EQ(cache->cached_bytes(), 30u);  // the last three blocks stay
  // Again: blocks 7-9 are hits, 0-6 come back in one request, and inserting them must not
  // make the read fetch 7-9 again.
  EXPECT_EQ(read_one(io, *cache, 3, 100), truth(src.data, 3, 100));
  EXPECT_EQ(src.calls, (Calls{{0, 100}, {0, 70}}));
  EXPECT_EQ(cache->stats().hits, 3u);
}

TEST(CachingBlockCache, CachedBlocksSplitAReadIntoRunsAndArePinnedDuringIt) {
  IoThread io;
  Source src{generated(95)};
  auto cache = cache_over(src, "blockcache", 10, 95);
  (void)read_one(io, *cache, 20, 30);
  (void)read_one(io, *cache, 55, 56);
  src.calls.clear();
  EXPECT_EQ(read_one(io, *cache, 0, kToEof), src.data);
  EXPECT_EQ(src.calls, (Calls{{0, 20}, {30, 50}, {60, 95}}));  // the last block is short

  // maxblocks 1: block 5 is cached, then a full read evicts it while inserting run 0-4, yet
  // serves it from the pinned copy instead of fetching it again.
  Source src2{generated(100)};
  CacheOptions one;
  one.maxblocks = 1;
  auto small = cache_over(src2, "blockcache", 10, 100, one);
  (void)read_one(io, *small, 50, 51);
  src2.calls.clear();
  EXPECT_EQ(read_one(io, *small, 0, 100), src2.data);
  EXPECT_EQ(src2.calls, (Calls{{0, 50}, {60, 100}}));
  std::map<std::uint64_t, int> block_fetches;
  for (const Call& c : src2.calls) {
    for (std::uint64_t b = c.first / 10; b * 10 < c.second; ++b) ++block_fetches[b];
  }
  for (const auto& [block, count] : block_fetches) EXPECT_EQ(count, 1) << "block " << block;
}

// --- readahead -----------------------------------------------------------------------------------

TEST(CachingReadAhead, AMissReplacesTheWindowKeepingTheOverlap) {
  IoThread io;
  Source src{generated(100)};
  auto cache = cache_over(src, "readahead", 10, 100);
  EXPECT_EQ(read_one(io, *cache, 0, 5), truth(src.data, 0, 5));        // window [0, 15)
  EXPECT_EQ(read_one(io, *cache, 5, 10), truth(src.data, 5, 10));      // hit
  EXPECT_EQ(read_one(io, *cache, 12, 20), truth(src.data, 12, 20));    // keeps [12, 15)
  EXPECT_EQ(cache->cached_bytes(), 18u);                               // window [12, 30)
  EXPECT_EQ(read_one(io, *cache, 20, 30), truth(src.data, 20, 30));    // hit
  EXPECT_EQ(read_one(io, *cache, 0, 5), truth(src.data, 0, 5));        // behind: replaced
  EXPECT_EQ(read_one(io, *cache, 95, 200), truth(src.data, 95, 100));  // clamped at EOF
  EXPECT_EQ(read_one(io, *cache, 150, 160), "");
  EXPECT_EQ(src.calls, (Calls{{0, 15}, {15, 30}, {0, 15}, {95, 100}}));
  const CacheStats st = cache->stats();
  EXPECT_EQ(st.hits, 2u);
  EXPECT_EQ(st.misses, 4u);
  EXPECT_EQ(st.fetches, 4u);
  EXPECT_EQ(st.fetched_bytes, 15u + 15u + 15u + 5u);
  EXPECT_EQ(cache->cached_bytes(), 5u);
}

// --- bytes ---------------------------------------------------------------------------------------

TEST(CachingBytes, GrowsForwardAndBackwardNearTheBufferAndTrimsItsFront) {
  IoThread io;
  Source src{generated(100)};
  auto cache = cache_over(src, "bytes", 10, 100);
  EXPECT_EQ(read_one(io, *cache, 20, 25), truth(src.data, 20, 25));  // new buffer [20, 35)
  EXPECT_EQ(read_one(io, *cache, 30, 40), truth(src.data, 30, 40));  // forward: [20, 50)
  EXPECT_EQ(cache->cached_bytes(), 30u);
  EXPECT_EQ(read_one(io, *cache, 45, 48), truth(src.data, 45, 48));  // hit
  EXPECT_EQ(read_one(io, *cache, 44, 55), truth(src.data, 44, 55));  // forward, then trimmed
  EXPECT_EQ(cache->cached_bytes(), 31u);                             // [34, 65)
  EXPECT_EQ(read_one(io, *cache, 30, 40), truth(src.data, 30, 40));  // buffer reaches too far
  EXPECT_EQ(read_one(io, *cache, 25, 45), truth(src.data, 25, 45));  // backward: [25, 50)
  EXPECT_EQ(cache->cached_bytes(), 25u);
  EXPECT_EQ(read_one(io, *cache, 80, 85), truth(src.data, 80, 85));  // far: replaced
  EXPECT_EQ(src.calls, (Calls{{20, 35}, {35, 50}, {50, 65}, {30, 50}, {25, 30}, {80, 95}}));
  EXPECT_EQ(cache->stats().hits, 1u);
  EXPECT_EQ(cache->stats().misses, 6u);
}

TEST(CachingBytes, TrimBoundsMemoryDuringAForwardScan) {
  IoThread io;
  for (bool trim : {true, false}) {
    Source src{generated(1000)};
    CacheOptions opts;
    opts.trim = trim;
    auto cache = cache_over(src, "bytes", 50, 1000, opts);
    std::uint64_t most = 0;
    for (std::uint64_t s = 0; s < 1000; s += 20) {
      EXPECT_EQ(read_one(io, *cache, s, s + 20), truth(src.data, s, s + 20));
      most = std::max(most, cache->cached_bytes());
    }
    if (trim) {
      EXPECT_LE(most, 20u + 50u + 50u);  // one block behind, the read, one block ahead
    } else {
      EXPECT_EQ(most, 1000u);
    }
    // Each byte is fetched once, in requests of about a blocksize.
    EXPECT_EQ(cache->stats().fetched_bytes, 1000u) << "trim=" << trim;
    EXPECT_LE(src.calls.size(), 1000u / 50u) << "trim=" << trim;
  }
}

// --- all and none --------------------------------------------------------------------------------

TEST(CachingAll, FetchesTheWholeFileOnceAndAgainAfterClear) {
  IoThread io;
  Source src{generated(100)};
  auto cache = cache_over(src, "all", 10, 100);
  EXPECT_EQ(read_one(io, *cache, 10, 20), truth(src.data, 10, 20));
  EXPECT_EQ(read_one(io, *cache, 90, 200), truth(src.data, 90, 100));
  EXPECT_EQ(read_one(io, *cache, 0, 100), src.data);
  EXPECT_EQ(src.calls, (Calls{{0, 100}}));
  EXPECT_EQ(cache->stats().hits, 2u);
  EXPECT_EQ(cache->stats().misses, 1u);
  cache->clear();
  EXPECT_EQ(cache->cached_bytes(), 0u);
  EXPECT_EQ(read_one(io, *cache, 0, 1), truth(src.data, 0, 1));
  EXPECT_EQ(src.calls.size(), 2u);
  EXPECT_EQ(cache->stats().misses, 2u);  // counters survive clear()
}

TEST(CachingNone, PassesEveryReadThroughClamped) {
  IoThread io;
  Source src{generated(100)};
  auto cache = cache_over(src, "none", 10, 100);
  (void)read_one(io, *cache, 0, 5);
  (void)read_one(io, *cache, 0, 5);
  (void)read_one(io, *cache, 98, kToEof);
  EXPECT_EQ(src.calls, (Calls{{0, 5}, {0, 5}, {98, 100}}));
  EXPECT_EQ(cache->stats().misses, 3u);
  EXPECT_EQ(cache->stats().hits, 0u);
  EXPECT_EQ(cache->cached_bytes(), 0u);
}

// --- edges: empty files, EOF, failures, shrunken files -------------------------------------------

TEST(CachingEdges, AnEmptyFileReadsAsEmptyWithoutFetching) {
  IoThread io;
  for (const std::string& name : cache_types()) {
    Source src;
    auto cache = cache_over(src, name, 16, 0);
    EXPECT_EQ(read_one(io, *cache, 0, 10), "") << name;
    EXPECT_EQ(read_one(io, *cache, 0, kToEof), "") << name;
    EXPECT_EQ(read_one(io, *cache, 5, 10), "") << name;
    EXPECT_TRUE(src.calls.empty()) << name;
  }
}

TEST(CachingEdges, ReadsPastTheEndReturnWhatExistsAndNeverThrow) {
  IoThread io;
  for (const std::string& name : cache_types()) {
    Source src{generated(50)};
    auto cache = cache_over(src, name, 16, 50);
    EXPECT_EQ(read_one(io, *cache, 40, 100), truth(src.data, 40, 50)) << name;
    EXPECT_EQ(read_one(io, *cache, 60, 70), "") << name;
    EXPECT_EQ(read_one(io, *cache, 50, kToEof), "") << name;
    EXPECT_EQ(read_one(io, *cache, 0, kToEof), src.data) << name;
    for (const Call& c : src.calls) EXPECT_LE(c.second, 50u) << name;
  }
}

TEST(CachingEdges, AFailingFetchPropagatesAndLeavesTheCacheConsistent) {
  IoThread io;
  for (const std::string& name : cache_types()) {
    SCOPED_TRACE(name);
    Source src{generated(500)};
    auto cache = cache_over(src, name, 16, 500);
    EXPECT_EQ(read_one(io, *cache, 0, 10), truth(src.data, 0, 10));
    const CacheStats before = cache->stats();
    const std::uint64_t held = cache->cached_bytes();
    src.fail_call = static_cast<int>(src.calls.size());
    if (name == "all") {
      cache->clear();  // otherwise nothing below would fetch
    }
    EXPECT_THROW((void)read_one(io, *cache, 300, 340), IoError);
    EXPECT_EQ(cache->stats().fetches, before.fetches + 1);
    if (name != "all") {
      EXPECT_EQ(cache->cached_bytes(), held);
    }
    // The same and other reads work afterwards and see correct bytes.
    EXPECT_EQ(read_one(io, *cache, 300, 340), truth(src.data, 300, 340));
    EXPECT_EQ(read_one(io, *cache, 0, 10), truth(src.data, 0, 10));
    EXPECT_EQ(read_one(io, *cache, 5, 400), truth(src.data, 5, 400));
  }
}

TEST(CachingEdges, ABlockRunThatFailsKeepsTheRunsFetchedBeforeIt) {
  IoThread io;
  Source src{generated(100)};
  auto cache = cache_over(src, "blockcache", 10, 100);
  (void)read_one(io, *cache, 50, 51);
  src.fail_call = 2;  // run [0, 50) succeeds (call 1), run [60, 100) fails (call 2)
  EXPECT_THROW((void)read_one(io, *cache, 0, 100), IoError);
  src.calls.clear();
  EXPECT_EQ(read_one(io, *cache, 0, 60), truth(src.data, 0, 60));
  EXPECT_TRUE(src.calls.empty());
}

TEST(CachingEdges, AFetcherThatThrowsBeforeReturningATaskPropagates) {
  IoThread io;
  for (const std::string& name : cache_types()) {
    Fetcher broken = [](std::uint64_t, std::uint64_t) -> Task<Bytes> {
      throw NetworkError("mem://file", "connection refused");
    };
    auto cache = make_cache(name, 16, 100, std::move(broken));
    EXPECT_THROW((void)read_one(io, *cache, 0, 10), NetworkError) << name;
    EXPECT_EQ(cache->cached_bytes(), 0u) << name;
  }
}

TEST(CachingEdges, AFileThatShrankGivesShortReadsNotErrors) {
  IoThread io;
  for (const std::string& name : cache_types()) {
    Source src{generated(60)};  // the cache believes 100 bytes
    auto cache = cache_over(src, name, 16, 100);
    EXPECT_EQ(read_one(io, *cache, 50, 80), truth(src.data, 50, 80)) << name;
    EXPECT_EQ(read_one(io, *cache, 70, 80), "") << name;
    EXPECT_EQ(read_one(io, *cache, 0, 100), src.data) << name;
  }
}

// Ignores its end, like a server that sends the whole file instead of a range.
Task<Bytes> sloppy_fetch(const Bytes* data, std::uint64_t start) { co_return data->substr(start); }

TEST(CachingEdges, AnAnswerLongerThanAskedIsCut) {
  IoThread io;
  const Bytes data = generated(100);
  for (const std::string& name : cache_types()) {
    Fetcher sloppy = [d = &data](std::uint64_t start, std::uint64_t) {
      return sloppy_fetch(d, start);
    };
    auto cache = make_cache(name, 16, 100, std::move(sloppy));
    EXPECT_EQ(read_one(io, *cache, 10, 20), truth(data, 10, 20)) << name;
    EXPECT_EQ(read_one(io, *cache, 40, 90), truth(data, 40, 90)) << name;
  }
}

// --- the cached file -----------------------------------------------------------------------------

std::shared_ptr<AsyncFileSystem> memory_with(const std::string& path, const Bytes& data) {
  auto fs = memory::make_filesystem({});
  fs->pipe_file(path, data);
  return fs;
}

TEST(CachedFile, ReadsSeeksAndReadintoMatchTheFileForEveryCacheType) {
  const Bytes data = generated(10000);
  auto fs = memory_with("/f", data);
  for (const std::string& name : cache_types()) {
    SCOPED_TRACE(name);
    auto file = make_cached_file(fs, "/f", data.size(), 256, name);
    EXPECT_EQ(file->cache().name(), name);
    EXPECT_EQ(file->size(), data.size());
    EXPECT_TRUE(file->readable());
    Bytes all;
    for (int i = 0; i < 101; ++i) all += fs->run_sync(file->read(100));
    EXPECT_EQ(all, data);
    EXPECT_EQ(file->tell(), data.size());
    EXPECT_EQ(fs->run_sync(file->read(100)), "");  // at EOF

    EXPECT_EQ(file->seek(-150, Whence::kEnd), 9850u);
    EXPECT_EQ(fs->run_sync(file->read(-1)), data.substr(9850));
    EXPECT_EQ(file->seek(1000, Whence::kSet), 1000u);
    EXPECT_EQ(file->seek(-10, Whence::kCur), 990u);
    Bytes buf(64, '\0');
    std::span<char> into(buf.data(), buf.size());
    EXPECT_EQ(fs->run_sync(file->readinto(into)), 64u);
    EXPECT_EQ(buf, data.substr(990, 64));
    EXPECT_EQ(file->tell(), 1054u);
    EXPECT_EQ(file->seek(20000, Whence::kSet), 20000u);  // past the end is allowed
    EXPECT_EQ(fs->run_sync(file->read(10)), "");
    EXPECT_THROW(file->seek(-1, Whence::kSet), InvalidArgument);

    const CacheStats st = file->cache().stats();
    EXPECT_GT(st.fetches, 0u);
    if (name != "none") {
      EXPECT_GT(st.hits, 0u);
    }
    fs->run_sync(file->close());
    EXPECT_TRUE(file->closed());
    EXPECT_EQ(file->cache().cached_bytes(), 0u);
    EXPECT_THROW(fs->run_sync(file->read(1)), InvalidArgument);
  }
}

TEST(CachedFile, SequentialSmallReadsWithTheDefaultCacheFetchOncePerBlock) {
  const Bytes data = generated(4096);
  auto fs = memory_with("/seq", data);
  auto file = make_cached_file(fs, "/seq", data.size(), 1024, "");  // "" = readahead
  EXPECT_EQ(file->cache().name(), kDefaultCacheType);
  Bytes all;
  for (int i = 0; i < 64; ++i) all += fs->run_sync(file->read(64));
  EXPECT_EQ(all, data);
  EXPECT_LE(file->cache().stats().fetches, 5u);
  EXPECT_EQ(file->cache().stats().requested_bytes, 4096u);
}

TEST(CachedFile, RejectsUnknownSizesCacheTypesAndWrites) {
  auto fs = memory_with("/w", "abc");
  EXPECT_THROW((void)make_cached_file(fs, "/w", std::nullopt, 16, "readahead"), InvalidArgument);
  EXPECT_THROW((void)make_cached_file(fs, "/w", 3, 16, "nope"), InvalidArgument);
  auto file = make_cached_file(fs, "/w", 3, 16, "bytes");
  EXPECT_THROW(fs->run_sync(file->write("x")), InvalidArgument);
  EXPECT_EQ(fs->run_sync(file->read(-1)), "abc");
  fs->run_sync(file->close());
  fs->run_sync(file->close());  // idempotent
}

TEST(CachedFile, BackendErrorsReachTheReader) {
  auto fs = memory::make_filesystem({});
  // The size claims a file that is not there: the fetch fails with the backend's NotFound.
  auto file = make_cached_file(fs, "/missing", 10, 16, "blockcache");
  EXPECT_THROW(fs->run_sync(file->read(5)), NotFound);
  EXPECT_EQ(file->tell(), 0u);
}

}  // namespace
}  // namespace asyncfs
