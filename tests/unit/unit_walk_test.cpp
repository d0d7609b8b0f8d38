// walk/find/glob of the base class against a counting test double: the number of listings in
// flight over the whole walk stays within the batch size however deep and wide the tree, and
// the results (order, errors, cancellation) are those of a plain recursive walk.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "asyncfs/asyncfs.hpp"

namespace asyncfs {
namespace {

using namespace std::chrono_literals;

/// A memory filesystem whose listings take a little while (so they overlap) and are counted:
/// how many are in flight, the peak of that, how many were made. Listings of the paths in
/// `failures` fail with the given kind after the given delay.
class CountingFs final : public AsyncFileSystem {
 public:
  struct Failure {
    ErrorKind kind;
    Duration delay;
  };

  CountingFs(std::optional<int> batch_size, std::map<std::string, Failure> failures = {})
      : AsyncFileSystem(base_options(batch_size)),
        inner_(memory::make_filesystem({})),
        failures_(std::move(failures)) {}

  AsyncFileSystem& inner() { return *inner_; }
  int peak() const { return peak_.load(); }
  int in_flight() const { return in_flight_.load(); }
  int calls() const { return calls_.load(); }
  void reset_counts() {
    peak_ = 0;
    calls_ = 0;
  }

  std::string protocol() const override { return "counting"; }
  Capabilities capabilities() const override { return inner_->capabilities(); }
  std::string root_marker() const override { return inner_->root_marker(); }
  std::string strip_protocol(std::string_view path) const override {
    return inner_->strip_protocol(path);
  }

  Task<std::vector<FileInfo>> _ls(std::string path) override {
    const int now = in_flight_.fetch_add(1) + 1;
    calls_.fetch_add(1);
    int seen = peak_.load();
    while (now > seen && !peak_.compare_exchange_weak(seen, now)) {
    }
    std::exception_ptr err;
    std::vector<FileInfo> out;
    try {
      // 1-3 ms, varying by name, so that listings complete out of walk order.
      const Duration pause = std::chrono::milliseconds(1 + std::hash<std::string>{}(path) % 3);
      auto failure = failures_.find(path);
      if (failure != failures_.end()) {
        co_await sleep_for(io(), failure->second.delay);
        throw_error(failure->second.kind, path, "injected failure");
      }
      co_await sleep_for(io(), pause);
      out = co_await inner_->_ls(path);
    } catch (...) {
      err = std::current_exception();
    }
    in_flight_.fetch_sub(1);
    if (err) std::rethrow_exception(err);
    co_return out;
  }

  Task<FileInfo> _info(std::string path) override { co_return co_await inner_->_info(path); }

 private:
  static FsBaseOptions base_options(std::optional<int> batch_size) {
    FsBaseOptions base;
    base.batch_size = batch_size;
    return base;
  }

  std::shared_ptr<AsyncFileSystem> inner_;
  std::map<std::string, Failure> failures_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> peak_{0};
  std::atomic<int> calls_{0};
};

/// /t with `fanout` subdirectories per directory down to `depth` levels, and two files in
/// every directory. Returns the number of directories, /t included.
int make_tree(AsyncFileSystem& fs, const std::string& dir, int depth, int fanout) {
  fs.pipe_file(dir + "/f1", "1");
  fs.pipe_file(dir + "/f2", "22");
  int dirs = 1;
  if (depth == 0) return dirs;
  for (int i = 0; i < fanout; ++i) {
    dirs += make_tree(fs, dir + "/d" + std::to_string(i), depth - 1, fanout);
  }
  return dirs;
}

/// One line per walk entry: "root | dir names | file names".
std::string render(const WalkEntry& e) {
  std::string out = e.root + " |";
  for (const auto& kv : e.dirs) out += " " + kv.first;
  out += " |";
  for (const auto& kv : e.files) out += " " + kv.first;
  return out;
}

std::vector<std::string> render(const std::vector<WalkEntry>& w) {
  std::vector<std::string> out;
  for (const auto& e : w) out.push_back(render(e));
  return out;
}

/// What a plain recursive walk gives (one listing at a time, straight from the store);
/// directories in `unreadable` are empty, as on_error=omit makes them.
void reference_walk(AsyncFileSystem& fs, const std::string& path, std::optional<int> maxdepth,
                    bool topdown, const std::set<std::string>& unreadable,
                    std::vector<std::string>& out) {
  WalkEntry e;
  e.root = path;
  std::vector<std::string> subdirs;
  if (!unreadable.contains(path)) {
    for (auto& info : fs.ls(path)) {
      std::string name(path::basename(info.name));
      if (info.is_dir()) {
        subdirs.push_back(info.name);
        e.dirs.emplace(std::move(name), info);
      } else {
        e.files.emplace(std::move(name), info);
      }
    }
  }
  if (topdown) out.push_back(render(e));
  if (maxdepth) --*maxdepth;
  if (!maxdepth || *maxdepth >= 1) {
    std::sort(subdirs.begin(), subdirs.end());
    for (const auto& d : subdirs) reference_walk(fs, d, maxdepth, topdown, unreadable, out);
  }
  if (!topdown) out.push_back(render(e));
}

std::vector<std::string> reference_walk(AsyncFileSystem& fs, const std::string& path,
                                        std::optional<int> maxdepth = {}, bool topdown = true,
                                        const std::set<std::string>& unreadable = {}) {
  std::vector<std::string> out;
  reference_walk(fs, path, maxdepth, topdown, unreadable, out);
  return out;
}

TEST(Walk, ListingsInFlightNeverExceedTheBatchSize) {
  for (int batch : {1, 3, 8}) {
    SCOPED_TRACE(batch);
    auto fs = std::make_shared<CountingFs>(batch);
    // 4 levels of 3: 121 directories. With a window per directory, a batch of 3 would let
    // 3 + 9 + 27 listings run at once.
    const int dirs = make_tree(fs->inner(), "/t", 4, 3);
    const auto expected = reference_walk(fs->inner(), "/t");

    EXPECT_EQ(render(fs->walk("/t")), expected);
    EXPECT_LE(fs->peak(), batch);
    EXPECT_EQ(fs->peak(), batch) << "the window is used, not just respected";
    EXPECT_EQ(fs->calls(), dirs) << "every directory listed exactly once";
    EXPECT_EQ(fs->in_flight(), 0);

    fs->reset_counts();
    EXPECT_EQ(fs->find("/t").size(), static_cast<std::size_t>(2 * dirs));
    EXPECT_LE(fs->peak(), batch);

    fs->reset_counts();
    const auto globbed = fs->glob("/t/**/f2");
    EXPECT_EQ(globbed.size(), static_cast<std::size_t>(dirs));
    EXPECT_EQ(globbed, fs->inner().glob("/t/**/f2"));
    EXPECT_LE(fs->peak(), batch);
  }
}

TEST(Walk, OrderMatchesARecursiveWalk) {
  auto fs = std::make_shared<CountingFs>(5);
  // Uneven: wide at the top, one deep chain, empty directories.
  make_tree(fs->inner(), "/u", 2, 6);
  std::string deep = "/u/d3";
  for (int i = 0; i < 12; ++i) {
    deep += "/c" + std::to_string(i);
    fs->inner().pipe_file(deep + "/x", "x");
  }
  fs->inner().mkdir("/u/empty1");
  fs->inner().mkdir("/u/d0/empty2");

  WalkOptions bottom_up;
  bottom_up.topdown = false;
  EXPECT_EQ(render(fs->walk("/u")), reference_walk(fs->inner(), "/u"));
  EXPECT_EQ(render(fs->walk("/u", bottom_up)),
            reference_walk(fs->inner(), "/u", std::nullopt, /*topdown=*/false));
  for (int depth : {1, 2, 3, 7}) {
    SCOPED_TRACE(depth);
    WalkOptions o;
    o.maxdepth = depth;
    EXPECT_EQ(render(fs->walk("/u", o)), reference_walk(fs->inner(), "/u", depth));
    o.topdown = false;
    EXPECT_EQ(render(fs->walk("/u", o)), reference_walk(fs->inner(), "/u", depth, false));
  }
  EXPECT_LE(fs->peak(), 5);
  // find agrees with the store.
  FindOptions with_dirs;
  with_dirs.withdirs = true;
  EXPECT_EQ(fs->find("/u", with_dirs), fs->inner().find("/u", with_dirs));
}

TEST(Walk, UnboundedBatchSizeStillWalksEverything) {
  auto fs = std::make_shared<CountingFs>(-1);
  const int dirs = make_tree(fs->inner(), "/t", 3, 5);
  EXPECT_EQ(render(fs->walk("/t")), reference_walk(fs->inner(), "/t"));
  EXPECT_EQ(fs->calls(), dirs);
  EXPECT_GT(fs->peak(), 5) << "-1 must not be a window of its own";
}

TEST(Walk, FirstFailureInWalkOrderIsRaised) {
  // /t/d1 fails late, /t/d3/d0 fails at once: the walk reports d1, which a recursive walk
  // meets first, whatever finishes first.
  std::map<std::string, CountingFs::Failure> failures = {
      {"/t/d1", {ErrorKind::kPermissionDenied, 30ms}},
      {"/t/d3/d0", {ErrorKind::kNotFound, 0ms}},
  };
  auto fs = std::make_shared<CountingFs>(4, failures);
  make_tree(fs->inner(), "/t", 2, 4);
  WalkOptions raise;
  raise.on_error = OnError::kRaise;
  try {
    fs->walk("/t", raise);
    ADD_FAILURE() << "no exception";
  } catch (const PermissionDenied& e) {
    EXPECT_EQ(e.path(), "/t/d1");
  }
  EXPECT_EQ(fs->in_flight(), 0);

  // on_error=omit: both are empty directories, the rest is complete.
  const std::set<std::string> unreadable = {"/t/d1", "/t/d3/d0"};
  EXPECT_EQ(render(fs->walk("/t")), reference_walk(fs->inner(), "/t", {}, true, unreadable));
}

TEST(Walk, ServiceFailuresAreNotOmitted) {
  std::map<std::string, CountingFs::Failure> failures = {
      {"/t/d2/d1", {ErrorKind::kNetwork, 0ms}},
  };
  auto fs = std::make_shared<CountingFs>(3, failures);
  make_tree(fs->inner(), "/t", 2, 3);
  EXPECT_THROW(fs->walk("/t"), NetworkError);
  EXPECT_THROW(fs->find("/t"), NetworkError);
  EXPECT_EQ(fs->in_flight(), 0);
}

TEST(Walk, CancellationStopsStartingListings) {
  auto fs = std::make_shared<CountingFs>(2);
  const int dirs = make_tree(fs->inner(), "/t", 4, 4);
  EXPECT_THROW(fs->walk("/t", {}, 40ms), Timeout);
  // The walk winds down on the loop: its listings finish and no new one starts.
  for (int i = 0; i < 500 && fs->in_flight() != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(fs->in_flight(), 0);
  const int calls = fs->calls();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(fs->calls(), calls);
  EXPECT_LT(calls, dirs);
  // The filesystem is still usable.
  EXPECT_EQ(fs->find("/t/d0/d0").size(), 2u * 21u);
}

TEST(Walk, SynchronousListingsOfAHugeTreeDoNotNest) {
  // memory:// lists without suspending: one worker does everything in a loop; neither a
  // deep chain nor a wide level grows the stack.
  auto fs = memory::make_filesystem({});
  std::string deep = "/deep";
  for (int i = 0; i < 400; ++i) deep += "/n";
  fs->pipe_file(deep + "/leaf", "x");
  for (int i = 0; i < 3000; ++i) fs->mkdir("/wide/w" + std::to_string(i));
  EXPECT_EQ(fs->walk("/deep").size(), 401u);  // /deep and 400 levels below
  EXPECT_EQ(fs->walk("/wide").size(), 3001u);
  FindOptions with_dirs;
  with_dirs.withdirs = true;
  EXPECT_EQ(fs->find("/deep", with_dirs).size(), 402u);
}

}  // namespace
}  // namespace asyncfs
