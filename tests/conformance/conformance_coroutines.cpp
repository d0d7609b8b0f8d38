// The coroutine API used directly (co_await on the loop, results handed out through sync()),
// the run_sync/sync_wrapper helpers, asynchronous mode and the registry's view of a URL.
//
// Arguments of coroutines called inside co_await are bound to named locals first: g++ 12
// double-destroys a capturing temporary (lambda, aggregate) passed by value to a coroutine
// that suspends (see the report of the conformance suite).

#include "conformance/conformance.hpp"

namespace asyncfs::conformance {
namespace {

using Names = std::vector<std::string>;

class CoroutineApiTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    seed_tree();
  }
};

}  // namespace

// Outside the anonymous namespace: a coroutine frame type of sync() must not have internal
// linkage (g++ -Wsubobject-linkage).
/// Several composite coroutines awaited in sequence inside one task on the loop thread.
struct Survey {
  std::vector<std::string> found;
  std::vector<std::string> globbed;
  std::uint64_t du_total = 0;
  std::optional<std::uint64_t> size;
  bool isdir = false;
  std::size_t cat_items = 0;
};

Task<Survey> survey(std::shared_ptr<AsyncFileSystem> fs, std::string root) {
  Survey s;
  FindOptions fo;
  auto found = co_await fs->_find(root, fo);
  for (const auto& [k, v] : found) s.found.push_back(k);
  GlobOptions go;
  std::string pattern = root + "/*/x.txt";
  auto globbed = co_await fs->_glob(pattern, go);
  for (const auto& [k, v] : globbed) s.globbed.push_back(k);
  DuOptions dop;
  auto du = co_await fs->_du(root, dop);
  for (const auto& [k, v] : du) s.du_total += v;
  std::string f = root + "/ab.dat";
  s.size = co_await fs->_size(f);
  std::string d = root + "/dir2";
  s.isdir = co_await fs->_isdir(d);
  Paths many(std::vector<std::string>{root + "/a.txt", root + "/b.txt"});
  CatOptions co;
  auto cat = co_await fs->_cat(many, co);
  s.cat_items = cat.items.size();
  co_return s;
}

namespace {

TEST_P(CoroutineApiTest, CompositesAwaitedOnTheLoop) {
  REQUIRE_CAP(list);
  REQUIRE_CAP(read);
  Survey s = sync(fs().io(), survey(fs_ptr(), root()));
  EXPECT_EQ(rel(s.found), tree_files());
  EXPECT_EQ(rel(s.globbed), (Names{"dir1/x.txt", "dir2/x.txt"}));
  EXPECT_EQ(s.du_total, 60u);
  EXPECT_EQ(s.size, std::optional<std::uint64_t>(6));
  EXPECT_TRUE(s.isdir);
  EXPECT_EQ(s.cat_items, 2u);
}

Task<std::vector<std::string>> errors_inside(std::shared_ptr<AsyncFileSystem> fs,
                                             std::string root) {
  // Exceptions propagate through co_await like through a call, with their kind intact.
  std::vector<std::string> kinds;
  std::string missing = root + "/missing";
  try {
    co_await fs->_info(missing);
  } catch (const Error& e) {
    kinds.emplace_back(kind_name(e.kind()));
  }
  try {
    co_await fs->_cat_file(missing, std::nullopt, std::nullopt);
  } catch (const Error& e) {
    kinds.emplace_back(kind_name(e.kind()));
  }
  bool there = co_await fs->_exists(missing);
  kinds.emplace_back(there ? "exists" : "absent");
  co_return kinds;
}

TEST_P(CoroutineApiTest, ErrorsPropagateThroughCoAwait) {
  auto kinds = sync(fs().io(), errors_inside(fs_ptr(), root()));
  const std::string nf(kind_name(ErrorKind::kNotFound));
  EXPECT_EQ(kinds, (Names{nf, nf, "absent"}));
}

TEST_P(CoroutineApiTest, TransfersAndRemovalThroughCoroutines) {
  REQUIRE_CAP(write);
  REQUIRE_CAP(copy);
  REQUIRE_CAP(remove);
  TransferOptions rec;
  rec.recursive = true;
  sync(fs().io(), fs()._copy(Paths(p("dir1/")), Paths(p("copy")), rec));
  EXPECT_EQ(rel(fs().find(p("copy"))), (Names{"copy/sub/z.txt", "copy/x.txt", "copy/y.dat"}));
  sync(fs().io(), fs()._mv(Paths(p("copy")), Paths(p("moved")), rec));
  EXPECT_FALSE(fs().exists(p("copy")));
  EXPECT_EQ(fs().cat_file(p("moved/sub/z.txt")), "dir1/sub/z.txt");
  RmOptions ro;
  ro.recursive = true;
  sync(fs().io(), fs()._rm(Paths(p("moved")), ro));
  EXPECT_FALSE(fs().exists(p("moved")));
  if (caps().real_directories) {
    sync(fs().io(), fs()._mkdir(p("e"), false));
    sync(fs().io(), fs()._rmdir(p("e")));
    EXPECT_FALSE(fs().exists(p("e")));
  }
}

TEST_P(CoroutineApiTest, RunSyncAndSyncWrapper) {
  // run_sync keeps the filesystem alive for the call; sync_wrapper is the one-line blocking
  // twin a backend writes for its own coroutine.
  auto info = fs().run_sync(fs()._info(p("a.txt")));
  EXPECT_EQ(info.name, p("a.txt"));
  auto same = fs().sync_wrapper(&AsyncFileSystem::_info, p("a.txt"));
  EXPECT_EQ(same.name, p("a.txt"));
  EXPECT_EQ(same.size, info.size);
  EXPECT_FS_THROW(kNotFound, fs().sync_wrapper(&AsyncFileSystem::_info, p("none")));
}

TEST_P(CoroutineApiTest, ChecksumViaCoroutine) {
  std::string a, b;
  try {
    a = sync(fs().io(), fs()._checksum(p("a.txt")));
  } catch (const NotImplemented&) {
    GTEST_SKIP() << "checksum not implemented";
  }
  b = sync(fs().io(), fs()._checksum(p("ab.dat")));
  EXPECT_FALSE(a.empty());
  EXPECT_NE(a, b) << "different files (different names and sizes) differ";
}

TEST_P(CoroutineApiTest, AsynchronousModeRefusesBlockingCalls) {
  auto afs = fixture().make_asynchronous();
  if (!afs) GTEST_SKIP() << "fixture offers no asynchronous instance";
  EXPECT_TRUE(afs->asynchronous());
  EXPECT_FS_THROW(kInvalidArgument, afs->info(p("a.txt")));
  EXPECT_FS_THROW(kInvalidArgument, afs->cat_file(p("a.txt")));
  // The coroutines still work from the caller's own sync() (here: the test thread). The
  // instance may have its own storage (memory), so only the absence of an error is checked.
  EXPECT_NO_THROW(sync(afs->io(), afs->_exists(p("a.txt"))));
}

TEST_P(CoroutineApiTest, UrlResolvesThroughTheRegistry) {
  // The fixture's URL names this backend and this path for url_to_fs (the CLI's entry point).
  auto [rfs, path] = url_to_fs(fixture().url(p("dir1/x.txt")));
  ASSERT_NE(rfs, nullptr);
  EXPECT_EQ(rfs->protocol(), fs().protocol());
  EXPECT_EQ(path, p("dir1/x.txt"));
}

}  // namespace

ASYNCFS_CONFORMANCE_SUITE(CoroutineApiTest);

}  // namespace asyncfs::conformance
