// Reading: cat_file with Python-slice ranges, cat (return shape, on_error, batch windows,
// progress), cat_ranges and the streaming _cat_each.

#include <atomic>
#include <mutex>

#include "conformance/conformance.hpp"

namespace asyncfs::conformance {
namespace {

using Names = std::vector<std::string>;
using OptI64 = std::optional<std::int64_t>;

/// Deterministic, non-repeating-looking bytes so an off-by-one range shows up as a mismatch.
std::string pattern_bytes(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 2463534242u;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  return s;
}

/// Counts ticks; callbacks run on the IO thread, the test reads the count after sync returns.
class CountingCallback : public Callback {
 public:
  std::atomic<int> changes{0};

 protected:
  void on_change() override { ++changes; }
};

class ReadingTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    seed("digits", "0123456789");
    seed("empty", "");
    seed("big", pattern_bytes(100000));
    seed_tree();
  }
};

// --- cat_file -----------------------------------------------------------------------------------

struct RangeCase {
  OptI64 start, end;
  std::string expected;
};

TEST_P(ReadingTest, CatFileWhole) {
  REQUIRE_CAP(read);
  EXPECT_EQ(fs().cat_file(p("digits")), "0123456789");
  EXPECT_EQ(fs().cat_file(p("empty")), "");
  EXPECT_EQ(fs().cat_file(p("big")), pattern_bytes(100000));
}

TEST_P(ReadingTest, CatFilePythonSliceRanges) {
  REQUIRE_CAP(read);
  const std::vector<RangeCase> cases = {
      {{}, {}, "0123456789"}, {2, 5, "234"},    {2, {}, "23456789"}, {{}, 3, "012"},
      {0, 10, "0123456789"},  {-3, {}, "789"},  {{}, -3, "0123456"}, {-5, -2, "567"},
      {8, 100, "89"},         {-100, 3, "012"}, {5, 2, ""},          {3, 3, ""},
      {10, {}, ""},           {20, 30, ""},     {-2, -5, ""},        {0, -100, ""},
      {-1, {}, "9"},          {9, 10, "9"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::Message() << "start=" << (c.start ? std::to_string(*c.start) : "None")
                                      << " end=" << (c.end ? std::to_string(*c.end) : "None"));
    EXPECT_EQ(fs().cat_file(p("digits"), c.start, c.end), c.expected);
  }
}

TEST_P(ReadingTest, CatFileRangesOfEmptyFile) {
  REQUIRE_CAP(read);
  EXPECT_EQ(fs().cat_file(p("empty"), 0, 10), "");
  EXPECT_EQ(fs().cat_file(p("empty"), -5, {}), "");
  EXPECT_EQ(fs().cat_file(p("empty"), 3, 1), "");
}

TEST_P(ReadingTest, CatFileRangesOfBigFile) {
  REQUIRE_CAP(read);
  const auto big = pattern_bytes(100000);
  EXPECT_EQ(fs().cat_file(p("big"), 4095, 4097), big.substr(4095, 2));
  EXPECT_EQ(fs().cat_file(p("big"), 12345, 98765), big.substr(12345, 98765 - 12345));
  EXPECT_EQ(fs().cat_file(p("big"), -70000, -1), big.substr(30000, 69999));
}

TEST_P(ReadingTest, CatFileErrors) {
  REQUIRE_CAP(read);
  EXPECT_FS_THROW(kNotFound, fs().cat_file(p("nope")));
  EXPECT_FS_THROW(kNotFound, fs().cat_file(p("nope"), 0, 1));
  EXPECT_FS_THROW2(kNotFound, kNotADirectory, fs().cat_file(p("digits/child")));
}

TEST_P(ReadingTest, CatFileOfDirectoryIsADirectory) {
  REQUIRE_CAP(read);
  REQUIRE_CAP(real_directories);
  EXPECT_FS_THROW(kIsADirectory, fs().cat_file(p("dir1")));
}

TEST_P(ReadingTest, CatFileViaCoroutineApi) {
  REQUIRE_CAP(read);
  EXPECT_EQ(sync(fs().io(), fs()._cat_file(p("digits"), 1, -1)), "12345678");
  EXPECT_EQ(sync(fs().io(), fs()._cat_file(p("digits"), std::nullopt, std::nullopt)), "0123456789");
  EXPECT_FS_THROW(kNotFound, sync(fs().io(), fs()._cat_file(p("x"), std::nullopt, 2)));
}

// --- cat: return shape --------------------------------------------------------------------------

TEST_P(ReadingTest, CatSingleLiteralPathIsSingle) {
  REQUIRE_CAP(read);
  auto r = fs().cat(p("digits"));
  EXPECT_TRUE(r.single);
  EXPECT_EQ(r.value(), "0123456789");
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items.begin()->first, p("digits"));
}

TEST_P(ReadingTest, CatSingleViaUrl) {
  REQUIRE_CAP(read);
  // The protocol is stripped before comparing with the expansion: still a literal path.
  auto r = fs().cat(fixture().url(p("digits")));
  EXPECT_TRUE(r.single);
  EXPECT_EQ(r.value(), "0123456789");
}

TEST_P(ReadingTest, CatListOfOneIsAMap) {
  REQUIRE_CAP(read);
  auto r = fs().cat(Paths(std::vector<std::string>{p("digits")}));
  EXPECT_FALSE(r.single);
  ASSERT_EQ(keys(r.items), (Names{p("digits")}));
  EXPECT_EQ(r.items.at(p("digits")).value(), "0123456789");
  EXPECT_FS_THROW(kInvalidArgument, r.value());
}

TEST_P(ReadingTest, CatGlobIsAMapEvenForOneMatch) {
  REQUIRE_CAP(read);
  REQUIRE_CAP(list);
  auto r = fs().cat(p("dig*"));
  EXPECT_FALSE(r.single);
  ASSERT_EQ(keys(r.items), (Names{p("digits")}));
  EXPECT_EQ(r.items.at(p("digits")).value(), "0123456789");
}

TEST_P(ReadingTest, CatGlobManyMatches) {
  REQUIRE_CAP(read);
  REQUIRE_CAP(list);
  auto r = fs().cat(p("*/x.txt"));
  EXPECT_FALSE(r.single);
  ASSERT_EQ(rel(keys(r.items)), (Names{"dir1/x.txt", "dir2/x.txt"}));
  EXPECT_EQ(r.items.at(p("dir1/x.txt")).value(), "dir1/x.txt");
  EXPECT_EQ(r.items.at(p("dir2/x.txt")).value(), "dir2/x.txt");
}

TEST_P(ReadingTest, CatRecursiveDirectoryGivesItsFiles) {
  REQUIRE_CAP(read);
  REQUIRE_CAP(list);
  // Directories found by the expansion are not files to read: a demanding user expects the
  // files only, not IsADirectory failures for dir1 and dir1/sub.
  CatOptions o;
  o.recursive = true;
  auto r = fs().cat(p("dir1"), o);
  EXPECT_FALSE(r.single);
  ASSERT_EQ(rel(keys(r.items)), (Names{"dir1/sub/z.txt", "dir1/x.txt", "dir1/y.dat"}));
  for (const auto& [k, v] : r.items) EXPECT_EQ(v.value(), k.substr(root().size() + 1));
}

TEST_P(ReadingTest, CatListDeduplicatesAndSorts) {
  REQUIRE_CAP(read);
  auto r = fs().cat(Paths{p("b.txt"), p("a.txt"), p("b.txt")});
  EXPECT_EQ(keys(r.items), (Names{p("a.txt"), p("b.txt")}));
  EXPECT_EQ(r.items.at(p("b.txt")).value(), "b.txt");
}

TEST_P(ReadingTest, CatPipedMapRoundTrips) {
  REQUIRE_CAP(read);
  REQUIRE_CAP(write);
  std::map<std::string, Bytes> items = {
      {p("m/one"), "1"}, {p("m/two"), std::string("\0\x01\xff", 3)}, {p("m/three"), ""}};
  fs().pipe(items);
  auto r = fs().cat(Paths(keys(items)));
  ASSERT_EQ(keys(r.items), keys(items));
  for (const auto& [k, v] : items) EXPECT_EQ(r.items.at(k).value(), v) << k;
}

// --- cat: on_error ------------------------------------------------------------------------------

TEST_P(ReadingTest, CatOnErrorRaise) {
  REQUIRE_CAP(read);
  EXPECT_FS_THROW(kNotFound, fs().cat(Paths{p("digits"), p("nope")}));
  EXPECT_FS_THROW(kNotFound, fs().cat(p("nope")));
}

TEST_P(ReadingTest, CatOnErrorOmit) {
  REQUIRE_CAP(read);
  CatOptions o;
  o.on_error = OnError::kOmit;
  auto r = fs().cat(Paths{p("digits"), p("nope"), p("a.txt")}, o);
  EXPECT_EQ(keys(r.items), (Names{p("a.txt"), p("digits")}));
  EXPECT_EQ(r.items.at(p("digits")).value(), "0123456789");
}

TEST_P(ReadingTest, CatOnErrorReturn) {
  REQUIRE_CAP(read);
  CatOptions o;
  o.on_error = OnError::kReturn;
  auto r = fs().cat(Paths{p("digits"), p("nope")}, o);
  ASSERT_EQ(keys(r.items), (Names{p("digits"), p("nope")}));
  EXPECT_TRUE(r.items.at(p("digits")).has_value());
  EXPECT_TRUE(r.items.at(p("nope")).has_error());
  EXPECT_EQ(outcome_kind(r.items.at(p("nope"))), ErrorKind::kNotFound);
}

TEST_P(ReadingTest, CatSingleMissingWithReturnRethrowsOnValue) {
  REQUIRE_CAP(read);
  CatOptions o;
  o.on_error = OnError::kReturn;
  auto r = fs().cat(p("nope"), o);
  EXPECT_TRUE(r.single);
  EXPECT_FS_THROW(kNotFound, r.value());
}

TEST_P(ReadingTest, CatGlobMatchingNothingIsNotFound) {
  REQUIRE_CAP(read);
  REQUIRE_CAP(list);
  EXPECT_FS_THROW(kNotFound, fs().cat(p("zz*")));
}

TEST_P(ReadingTest, CatOfDirectoryIsADirectory) {
  REQUIRE_CAP(read);
  REQUIRE_CAP(real_directories);
  EXPECT_FS_THROW(kIsADirectory, fs().cat(p("dir2")));
}

// --- cat: windows and progress ------------------------------------------------------------------

TEST_P(ReadingTest, CatBatchSizes) {
  REQUIRE_CAP(read);
  Paths many(std::vector<std::string>{});
  for (const auto& f : tree_files()) many.items.push_back(p(f));
  for (int bs : {1, 2, 3, 1000, -1}) {
    SCOPED_TRACE(bs);
    CatOptions o;
    o.batch_size = bs;
    auto r = fs().cat(many, o);
    ASSERT_EQ(rel(keys(r.items)), tree_files());
    for (const auto& [k, v] : r.items) EXPECT_EQ(v.value(), k.substr(root().size() + 1));
  }
}

TEST_P(ReadingTest, CatBatchSizeZeroOrBelowMinusOneIsInvalid) {
  REQUIRE_CAP(read);
  CatOptions o;
  o.batch_size = 0;
  EXPECT_FS_THROW(kInvalidArgument, fs().cat(Paths{p("a.txt"), p("b.txt")}, o));
  o.batch_size = -2;
  EXPECT_FS_THROW(kInvalidArgument, fs().cat(Paths{p("a.txt"), p("b.txt")}, o));
}

TEST_P(ReadingTest, CatProgressTicksOncePerFile) {
  REQUIRE_CAP(read);
  CountingCallback cb;
  CatOptions o;
  o.progress = &cb;
  o.on_error = OnError::kReturn;
  fs().cat(Paths{p("a.txt"), p("b.txt"), p("digits"), p("nope")}, o);
  // Failed items finish too: the bar reaches its end either way.
  EXPECT_EQ(cb.value(), 4u);
}

// --- cat_ranges ---------------------------------------------------------------------------------

TEST_P(ReadingTest, CatRangesAlignedWithInputs) {
  REQUIRE_CAP(read);
  auto out = fs().cat_ranges({p("digits"), p("digits"), p("a.txt"), p("digits"), p("digits")},
                             {0, -3, 1, 7, {}}, {3, {}, 100, 2, {}});
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].value(), "012");
  EXPECT_EQ(out[1].value(), "789");
  EXPECT_EQ(out[2].value(), ".txt");
  EXPECT_EQ(out[3].value(), "") << "start > end gives empty bytes";
  EXPECT_EQ(out[4].value(), "0123456789");
}

TEST_P(ReadingTest, CatRangesErrorsInline) {
  REQUIRE_CAP(read);
  auto out = fs().cat_ranges({p("nope"), p("digits")}, {0, 0}, {1, 1});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(outcome_kind(out[0]), ErrorKind::kNotFound);
  EXPECT_EQ(out[1].value(), "0");
}

TEST_P(ReadingTest, CatRangesLengthMismatchIsInvalid) {
  REQUIRE_CAP(read);
  EXPECT_FS_THROW(kInvalidArgument,
                  fs().cat_ranges({p("digits"), p("digits")}, {0, 1, 2}, {1, 2, 3}));
  EXPECT_FS_THROW(kInvalidArgument, fs().cat_ranges({p("digits"), p("digits")}, {0, 1}, {1}));
}

TEST_P(ReadingTest, CatRangesEmpty) {
  REQUIRE_CAP(read);
  EXPECT_TRUE(fs().cat_ranges({}, {}, {}).empty());
}

TEST_P(ReadingTest, CatRangesViaCoroutineWithWindow) {
  REQUIRE_CAP(read);
  const auto big = pattern_bytes(100000);
  std::vector<std::string> paths;
  std::vector<OptI64> starts, ends;
  for (int i = 0; i < 40; ++i) {
    paths.push_back(p("big"));
    starts.push_back(i * 2000);
    ends.push_back(i * 2000 + 777);
  }
  auto out = sync(fs().io(), fs()._cat_ranges(paths, starts, ends, 3));
  ASSERT_EQ(out.size(), 40u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(out[static_cast<std::size_t>(i)].value(),
              big.substr(static_cast<std::size_t>(i) * 2000, 777))
        << i;
  }
  EXPECT_FS_THROW(kInvalidArgument, sync(fs().io(), fs()._cat_ranges(paths, starts, ends, 0)));
}

// --- _cat_each ----------------------------------------------------------------------------------

TEST_P(ReadingTest, CatEachStreamsEveryItem) {
  REQUIRE_CAP(read);
  auto mutex = std::make_shared<std::mutex>();
  auto seen = std::make_shared<std::map<std::string, Outcome<Bytes>>>();
  CatOptions o;
  o.on_error = OnError::kReturn;
  o.batch_size = 2;
  auto failed = sync(fs().io(), fs()._cat_each(
                                    Paths{p("a.txt"), p("nope"), p("digits"), p("dir2/x.txt")},
                                    [mutex, seen](const std::string& path, Outcome<Bytes>&& r) {
                                      std::lock_guard lock(*mutex);
                                      (*seen)[path] = std::move(r);
                                    },
                                    o));
  EXPECT_EQ(failed, 1u);
  ASSERT_EQ(keys(*seen), (Names{p("a.txt"), p("digits"), p("dir2/x.txt"), p("nope")}));
  EXPECT_EQ(seen->at(p("digits")).value(), "0123456789");
  EXPECT_EQ(outcome_kind(seen->at(p("nope"))), ErrorKind::kNotFound);
}

}  // namespace

ASYNCFS_CONFORMANCE_SUITE(ReadingTest);

}  // namespace asyncfs::conformance
