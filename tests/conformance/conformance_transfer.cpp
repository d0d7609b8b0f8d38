// Transfers: the fsspec copying scenarios (docs/source/copying.rst 1a-1j, re-derived from the
// rules in fsspec.md §1.6) run three ways: copy (fs → same fs), get (fs → local temp dir) and
// put (local temp dir → fs). Each scenario is written once against a source side and a
// destination side; TRANSFER_TEST stamps out one test per direction.

#include <filesystem>

#include "conformance/conformance.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::conformance {
namespace {

using Names = std::vector<std::string>;
namespace stdfs = std::filesystem;

enum class Op { kCopy, kGet, kPut };

/// Marks an "existing directory" on backends without real directories; never counted.
constexpr const char* kPlaceholder = ".keep";

class CountingCallback : public Callback {
 public:
  int changes = 0;

 protected:
  void on_change() override { ++changes; }
};

class TransferTest : public ConformanceTest {
 protected:
  /// Prepares both sides for `op`; skips when the backend cannot take part.
  void begin(Op op) {
    op_ = op;
    switch (op) {
      case Op::kCopy:
        REQUIRE_CAP(write);
        REQUIRE_CAP(copy);
        break;
      case Op::kGet:
        REQUIRE_CAP(read);
        break;
      case Op::kPut:
        REQUIRE_CAP(write);
        break;
    }
    REQUIRE_CAP(list);
    src_base_ = src_local() ? local_.path() + "/src-side" : p("src-side");
    dst_base_ = dst_local() ? local_.path() + "/dst-side" : p("dst-side");
    if (dst_local()) {
      stdfs::create_directories(dst_base_);
    } else {
      fixture().seed_dir(dst_base_);
    }
  }

  bool src_local() const { return op_ == Op::kPut; }
  bool dst_local() const { return op_ == Op::kGet; }

  std::string src(const std::string& r) const { return src_base_ + "/" + r; }
  std::string dst(const std::string& r) const { return dst_base_ + "/" + r; }
  Paths srcs(std::initializer_list<std::string> rs) const {
    std::vector<std::string> out;
    for (const auto& r : rs) out.push_back(src(r));
    return Paths(out);
  }
  Paths dsts(std::initializer_list<std::string> rs) const {
    std::vector<std::string> out;
    for (const auto& r : rs) out.push_back(dst(r));
    return Paths(out);
  }

  void src_file(const std::string& r, const std::string& data) {
    if (src_local()) {
      testing::write_local_file(src(r), data);
    } else {
      fixture().seed_file(src(r), data);
    }
  }

  /// source/file1 file2 subdir/subfile1 subdir/subfile2 subdir/nesteddir/nestedfile; each
  /// file's content is its basename, so the tests can tell which source landed where.
  void make_source() {
    for (const char* r : {"source/file1", "source/file2", "source/subdir/subfile1",
                          "source/subdir/subfile2", "source/subdir/nesteddir/nestedfile"}) {
      src_file(r, std::string(path::basename(r)));
    }
  }

  /// An existing, empty target directory.
  void dst_dir(const std::string& r) {
    if (dst_local()) {
      stdfs::create_directories(dst(r));
    } else if (caps().real_directories && caps().mkdir) {
      fs().makedirs(dst(r), true);
    } else {
      fs().pipe_file(dst(r) + "/" + kPlaceholder, "");
    }
  }

  /// Files below dst(r), relative to it, sorted (placeholders left out).
  Names dst_files(const std::string& r) {
    const std::string base = dst(r);
    Names out;
    if (dst_local()) {
      std::error_code ec;
      if (!stdfs::is_directory(base, ec)) return out;
      for (const auto& e : stdfs::recursive_directory_iterator(base)) {
        if (e.is_regular_file()) out.push_back(stdfs::relative(e.path(), base).generic_string());
      }
    } else {
      for (const auto& [name, info] : fs().find(base)) {
        if (path::basename(name) == kPlaceholder) continue;
        out.push_back(name.size() > base.size() ? name.substr(base.size() + 1) : name);
      }
    }
    return sorted(out);
  }

  std::string dst_read(const std::string& r) {
    return dst_local() ? testing::read_local_file(dst(r)) : fs().cat_file(dst(r));
  }
  bool dst_isdir(const std::string& r) {
    if (dst_local()) return stdfs::is_directory(dst(r));
    return fs().isdir(dst(r));
  }
  bool dst_exists(const std::string& r) {
    if (dst_local()) return testing::local_exists(dst(r));
    return fs().exists(dst(r));
  }

  void run(const Paths& from, const Paths& to, TransferOptions o = {}) {
    switch (op_) {
      case Op::kCopy:
        fs().copy(from, to, o);
        break;
      case Op::kGet:
        fs().get(from, to, o);
        break;
      case Op::kPut:
        fs().put(from, to, o);
        break;
    }
  }
  static TransferOptions rec(std::optional<int> maxdepth = {}) {
    TransferOptions o;
    o.recursive = true;
    o.maxdepth = maxdepth;
    return o;
  }

  // Scenarios (each begins with begin(op) through the TRANSFER_TEST macro).
  void file_to_existing_dir();
  void file_to_new_dir();
  void file_to_file_in_existing_dir();
  void file_to_file_in_new_dir();
  void dir_to_existing_dir();
  void dir_to_new_dir();
  void glob_to_existing_dir();
  void glob_to_new_dir();
  void glob_edge_cases();
  void list_to_existing_dir();
  void list_to_new_dir();
  void dir_recursive_twice();
  void dirs_sharing_a_name_prefix();
  void list_to_list();
  void missing_source();
  void maxdepth_and_batch_size_validation();
  void multi_block_file();
  void progress_counts_files();
  void overwrites_existing_target();

  testing::TempDir local_{"asyncfs-conf-local"};
  Op op_ = Op::kCopy;
  std::string src_base_, dst_base_;
};

#define TRANSFER_TEST(Name, method)               \
  TEST_P(TransferTest, Copy##Name) {              \
    begin(Op::kCopy);                             \
    if (IsSkipped() || HasFatalFailure()) return; \
    method();                                     \
  }                                               \
  TEST_P(TransferTest, Get##Name) {               \
    begin(Op::kGet);                              \
    if (IsSkipped() || HasFatalFailure()) return; \
    method();                                     \
  }                                               \
  TEST_P(TransferTest, Put##Name) {               \
    begin(Op::kPut);                              \
    if (IsSkipped() || HasFatalFailure()) return; \
    method();                                     \
  }                                               \
  static_assert(true)

// 1a: a file into an existing directory, with and without a trailing slash on the target.
void TransferTest::file_to_existing_dir() {
  make_source();
  dst_dir("target");
  run(src("source/subdir/subfile1"), dst("target/"));
  EXPECT_EQ(dst_files("target"), (Names{"subfile1"}));
  EXPECT_EQ(dst_read("target/subfile1"), "subfile1");
  run(src("source/subdir/subfile2"), dst("target"));
  EXPECT_EQ(dst_files("target"), (Names{"subfile1", "subfile2"}));
  EXPECT_EQ(dst_read("target/subfile2"), "subfile2");
}
TRANSFER_TEST(FileToExistingDir, file_to_existing_dir);

// 1b: a trailing slash makes a missing target a directory.
void TransferTest::file_to_new_dir() {
  make_source();
  dst_dir("target");
  run(src("source/subdir/subfile1"), dst("target/newdir/"));
  EXPECT_TRUE(dst_isdir("target/newdir"));
  EXPECT_EQ(dst_files("target"), (Names{"newdir/subfile1"}));
  EXPECT_EQ(dst_read("target/newdir/subfile1"), "subfile1");
}
TRANSFER_TEST(FileToNewDir, file_to_new_dir);

// 1c: a target name that does not exist (no trailing slash) is the new file's name.
void TransferTest::file_to_file_in_existing_dir() {
  make_source();
  dst_dir("target");
  run(src("source/subdir/subfile1"), dst("target/newfile"));
  EXPECT_EQ(dst_files("target"), (Names{"newfile"}));
  EXPECT_EQ(dst_read("target/newfile"), "subfile1");
}
TRANSFER_TEST(FileToFileInExistingDir, file_to_file_in_existing_dir);

// 1d: missing parents of the target file are created.
void TransferTest::file_to_file_in_new_dir() {
  make_source();
  dst_dir("target");
  run(src("source/subdir/subfile1"), dst("target/newdir/newfile"));
  EXPECT_TRUE(dst_isdir("target/newdir"));
  EXPECT_EQ(dst_files("target"), (Names{"newdir/newfile"}));
  EXPECT_EQ(dst_read("target/newdir/newfile"), "subfile1");
}
TRANSFER_TEST(FileToFileInNewDir, file_to_file_in_new_dir);

// 1e: a directory into an existing directory. Without recursive nothing happens; a source
// without a trailing slash is copied as itself (cp -r), with one only its contents are.
void TransferTest::dir_to_existing_dir() {
  make_source();
  for (const char* t : {"t1", "t2", "t3", "t4", "t5", "t6"}) dst_dir(t);
  run(src("source/subdir"), dst("t1/"));
  run(src("source/subdir/"), dst("t1/"));
  EXPECT_EQ(dst_files("t1"), Names{}) << "a directory needs recursive";

  const Names nested = {"subdir/nesteddir/nestedfile", "subdir/subfile1", "subdir/subfile2"};
  const Names contents = {"nesteddir/nestedfile", "subfile1", "subfile2"};
  run(src("source/subdir"), dst("t2/"), rec());
  EXPECT_EQ(dst_files("t2"), nested);
  EXPECT_EQ(dst_read("t2/subdir/nesteddir/nestedfile"), "nestedfile");
  run(src("source/subdir"), dst("t3"), rec());
  EXPECT_EQ(dst_files("t3"), nested) << "an existing target is a directory without the slash";
  run(src("source/subdir/"), dst("t4"), rec());
  EXPECT_EQ(dst_files("t4"), contents);
  EXPECT_TRUE(dst_isdir("t4/nesteddir"));
  run(src("source/subdir/"), dst("t5/"), rec(1));
  EXPECT_EQ(dst_files("t5"), (Names{"subfile1", "subfile2"}));
  run(src("source/subdir"), dst("t6/"), rec(1));
  EXPECT_EQ(dst_files("t6"), (Names{"subdir/subfile1", "subdir/subfile2"}));
}
TRANSFER_TEST(DirToExistingDir, dir_to_existing_dir);

// 1f: a directory to a new directory: the target becomes a copy of the source directory.
void TransferTest::dir_to_new_dir() {
  make_source();
  dst_dir("target");
  run(src("source/subdir"), dst("target/newdir"));
  EXPECT_EQ(dst_files("target"), Names{}) << "a directory needs recursive";
  EXPECT_FALSE(dst_exists("target/newdir"));

  const Names contents = {"nesteddir/nestedfile", "subfile1", "subfile2"};
  run(src("source/subdir"), dst("target/new1"), rec());
  EXPECT_EQ(dst_files("target/new1"), contents);
  run(src("source/subdir/"), dst("target/new2/"), rec());
  EXPECT_EQ(dst_files("target/new2"), contents);
  EXPECT_TRUE(dst_isdir("target/new2/nesteddir"));
  run(src("source/subdir"), dst("target/new3"), rec(1));
  EXPECT_EQ(dst_files("target/new3"), (Names{"subfile1", "subfile2"}));
  EXPECT_FALSE(dst_exists("target/subdir"));
}
TRANSFER_TEST(DirToNewDir, dir_to_new_dir);

// 1g: a glob into an existing directory. Matched directories are skipped unless recursive.
void TransferTest::glob_to_existing_dir() {
  make_source();
  for (const char* t : {"t1", "t2", "t3", "t4"}) dst_dir(t);
  run(src("source/subdir/*"), dst("t1/"));
  EXPECT_EQ(dst_files("t1"), (Names{"subfile1", "subfile2"}));
  EXPECT_FALSE(dst_exists("t1/nesteddir"));
  run(src("source/subdir/*"), dst("t2/"), rec());
  EXPECT_EQ(dst_files("t2"), (Names{"nesteddir/nestedfile", "subfile1", "subfile2"}));
  run(src("source/subdir/*"), dst("t3/"), rec(1));
  EXPECT_EQ(dst_files("t3"), (Names{"subfile1", "subfile2"}));
  run(src("source/subdir/*"), dst("t4"));
  EXPECT_EQ(dst_files("t4"), (Names{"subfile1", "subfile2"}));
  // A glob with a single match behaves like that file copied into the directory.
  dst_dir("t5");
  run(src("source/subdir/*1"), dst("t5"));
  EXPECT_EQ(dst_files("t5"), (Names{"subfile1"}));
}
TRANSFER_TEST(GlobToExistingDir, glob_to_existing_dir);

// 1h: a glob into a new directory, with and without a trailing slash on the target.
void TransferTest::glob_to_new_dir() {
  make_source();
  dst_dir("target");
  run(src("source/subdir/*"), dst("target/new1/"));
  EXPECT_EQ(dst_files("target/new1"), (Names{"subfile1", "subfile2"}));
  run(src("source/subdir/*"), dst("target/new2/"), rec());
  EXPECT_EQ(dst_files("target/new2"), (Names{"nesteddir/nestedfile", "subfile1", "subfile2"}));
  run(src("source/subdir/*"), dst("target/new3"), rec());
  EXPECT_EQ(dst_files("target/new3"), (Names{"nesteddir/nestedfile", "subfile1", "subfile2"}));
  run(src("source/subdir/*"), dst("target/new4"), rec(1));
  EXPECT_EQ(dst_files("target/new4"), (Names{"subfile1", "subfile2"}));
}
TRANSFER_TEST(GlobToNewDir, glob_to_new_dir);

// 1i: glob edge cases on a two-level tree, into an existing directory each.
void TransferTest::glob_edge_cases() {
  for (const char* r :
       {"edge/file1", "edge/file2", "edge/subdir0/subfile1", "edge/subdir0/subfile2",
        "edge/subdir0/nesteddir/nestedfile", "edge/subdir1/subfile1", "edge/subdir1/subfile2",
        "edge/subdir1/nesteddir/nestedfile"}) {
    src_file(r, std::string(path::basename(r)));
  }
  const Names all = {"file1",
                     "file2",
                     "subdir0/nesteddir/nestedfile",
                     "subdir0/subfile1",
                     "subdir0/subfile2",
                     "subdir1/nesteddir/nestedfile",
                     "subdir1/subfile1",
                     "subdir1/subfile2"};
  struct Case {
    std::string pattern;
    bool recursive;
    std::optional<int> maxdepth;
    Names expected;
  };
  const std::vector<Case> cases = {
      {"fil?1", false, {}, {"file1"}},
      {"fil?1", true, {}, {"file1"}},
      {"file[1-2]", false, {}, {"file1", "file2"}},
      {"*", false, {}, {"file1", "file2"}},
      {"*", true, {}, all},
      {"*", true, 1, {"file1", "file2"}},
      {"*",
       true,
       2,
       {"file1", "file2", "subdir0/subfile1", "subdir0/subfile2", "subdir1/subfile1",
        "subdir1/subfile2"}},
      {"*1", false, {}, {"file1"}},
      {"*1",
       true,
       {},
       {"file1", "subdir1/nesteddir/nestedfile", "subdir1/subfile1", "subdir1/subfile2"}},
      {"*1", true, 2, {"file1", "subdir1/subfile1", "subdir1/subfile2"}},
      {"**", false, {}, all},
      {"**/*1", false, {}, {"file1", "subdir0/subfile1", "subdir1/subfile1"}},
      {"subdir[1-2]", false, {}, {}},
      {"subdir[1-2]", true, {}, {"nesteddir/nestedfile", "subfile1", "subfile2"}},
      {"subdir[0-1]",
       true,
       {},
       {"subdir0/nesteddir/nestedfile", "subdir0/subfile1", "subdir0/subfile2",
        "subdir1/nesteddir/nestedfile", "subdir1/subfile1", "subdir1/subfile2"}},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string t = "e" + std::to_string(i++);
    // Where '?' is literal (URLs: it starts the query), its cases say nothing about globbing.
    if (!caps().question_mark_is_wildcard && c.pattern.find('?') != std::string::npos) continue;
    SCOPED_TRACE(::testing::Message() << c.pattern << " recursive=" << c.recursive
                                      << " maxdepth=" << (c.maxdepth ? *c.maxdepth : -1));
    dst_dir(t);
    TransferOptions o;
    o.recursive = c.recursive;
    o.maxdepth = c.maxdepth;
    run(src("edge/" + c.pattern), dst(t + "/"), o);
    EXPECT_EQ(dst_files(t), c.expected);
  }
}
TRANSFER_TEST(GlobEdgeCases, glob_edge_cases);

// 1j: a list of files is flattened to basenames in the target directory.
void TransferTest::list_to_existing_dir() {
  make_source();
  dst_dir("t1");
  dst_dir("t2");
  run(srcs({"source/file1", "source/file2", "source/subdir/subfile1"}), dst("t1/"));
  EXPECT_EQ(dst_files("t1"), (Names{"file1", "file2", "subfile1"}));
  EXPECT_EQ(dst_read("t1/subfile1"), "subfile1");
  run(srcs({"source/file1", "source/subdir/subfile2"}), dst("t2"));
  EXPECT_EQ(dst_files("t2"), (Names{"file1", "subfile2"}));
}
TRANSFER_TEST(ListToExistingDir, list_to_existing_dir);

void TransferTest::list_to_new_dir() {
  make_source();
  dst_dir("target");
  run(srcs({"source/file1", "source/file2", "source/subdir/subfile1"}), dst("target/newdir/"));
  EXPECT_EQ(dst_files("target"), (Names{"newdir/file1", "newdir/file2", "newdir/subfile1"}));
}
TRANSFER_TEST(ListToNewDir, list_to_new_dir);

// fsspec GH#1062: copying a directory to a missing target twice. The first copy creates the
// target as a copy; the second finds it existing and nests the source inside (cp -r).
// With a trailing slash on the source, only contents are copied both times.
void TransferTest::dir_recursive_twice() {
  make_source();
  const std::string s = src("source/subdir/nesteddir");
  run(s, dst("target"), rec());
  EXPECT_TRUE(dst_isdir("target"));
  EXPECT_EQ(dst_files("target"), (Names{"nestedfile"}));
  run(s, dst("target"), rec());
  EXPECT_EQ(dst_files("target"), (Names{"nesteddir/nestedfile", "nestedfile"}));

  run(s + "/", dst("target2"), rec());
  EXPECT_EQ(dst_files("target2"), (Names{"nestedfile"}));
  run(s + "/", dst("target2"), rec());
  EXPECT_EQ(dst_files("target2"), (Names{"nestedfile"}));
}
TRANSFER_TEST(DirRecursiveTwice, dir_recursive_twice);

// A directory must not drag in siblings whose names merely start with its name.
void TransferTest::dirs_sharing_a_name_prefix() {
  src_file("pre/subdir/subfile.txt", "a");
  src_file("pre/subdir.txt", "b");
  src_file("pre/subdir2/other", "c");
  run(src("pre/subdir"), dst("n1"), rec());
  EXPECT_EQ(dst_files("n1"), (Names{"subfile.txt"}));
  run(src("pre/subdir*"), dst("n2"), rec());
  EXPECT_EQ(dst_files("n2"), (Names{"subdir.txt", "subdir/subfile.txt", "subdir2/other"}));
  EXPECT_EQ(dst_read("n2/subdir.txt"), "b");
}
TRANSFER_TEST(DirsSharingANamePrefix, dirs_sharing_a_name_prefix);

// Lists on both sides are paired 1:1, without expansion.
void TransferTest::list_to_list() {
  make_source();
  run(srcs({"source/file1", "source/file2", "source/subdir/subfile1"}),
      dsts({"out/a", "out/b/c", "out/d"}));
  EXPECT_EQ(dst_files("out"), (Names{"a", "b/c", "d"}));
  EXPECT_EQ(dst_read("out/a"), "file1");
  EXPECT_EQ(dst_read("out/b/c"), "file2");
  EXPECT_EQ(dst_read("out/d"), "subfile1");
}
TRANSFER_TEST(ListToList, list_to_list);

void TransferTest::missing_source() {
  make_source();
  EXPECT_FS_THROW(kNotFound, run(src("source/nope"), dst("x")));
  EXPECT_FS_THROW(kNotFound, run(src("source/nope"), dst("x"), rec()));
  EXPECT_FS_THROW(kNotFound, run(src("source/nope*"), dst("x/")));
  EXPECT_FALSE(dst_exists("x"));
}
TRANSFER_TEST(MissingSource, missing_source);

void TransferTest::maxdepth_and_batch_size_validation() {
  make_source();
  EXPECT_FS_THROW(kInvalidArgument, run(src("source"), dst("x"), rec(0)));
  TransferOptions o = rec();
  o.batch_size = 0;
  EXPECT_FS_THROW(kInvalidArgument, run(src("source"), dst("x"), o));
  EXPECT_FALSE(dst_exists("x/file1"));
  o.batch_size = 1;  // the smallest window still gets everything across
  run(src("source/"), dst("y"), o);
  EXPECT_EQ(dst_files("y"), (Names{"file1", "file2", "subdir/nesteddir/nestedfile",
                                   "subdir/subfile1", "subdir/subfile2"}));
}
TRANSFER_TEST(MaxdepthAndBatchSizeValidation, maxdepth_and_batch_size_validation);

void TransferTest::multi_block_file() {
  std::string data;
  for (int i = 0; data.size() < 200000; ++i) data += std::to_string(i) + ",";
  src_file("big/blob", data);
  run(src("big/blob"), dst("blob"));
  EXPECT_EQ(dst_read("blob"), data);
}
TRANSFER_TEST(MultiBlockFile, multi_block_file);

void TransferTest::progress_counts_files() {
  make_source();
  CountingCallback cb;
  TransferOptions o;
  o.progress = &cb;
  dst_dir("t");
  run(srcs({"source/file1", "source/file2", "source/subdir/subfile1"}), dst("t/"), o);
  EXPECT_EQ(cb.size(), std::optional<std::uint64_t>(3));
  EXPECT_EQ(cb.value(), 3u);
}
TRANSFER_TEST(ProgressCountsFiles, progress_counts_files);

void TransferTest::overwrites_existing_target() {
  make_source();
  dst_dir("t");
  run(src("source/file1"), dst("t/file"));
  run(src("source/file2"), dst("t/file"));
  EXPECT_EQ(dst_read("t/file"), "file2");
}
TRANSFER_TEST(OverwritesExistingTarget, overwrites_existing_target);

// --- copy only ----------------------------------------------------------------------------------

TEST_P(TransferTest, CopyOnErrorIgnoreSkipsMissingSources) {
  begin(Op::kCopy);
  if (IsSkipped() || HasFatalFailure()) return;
  make_source();
  dst_dir("t");
  TransferOptions o;
  o.on_error = OnError::kIgnore;
  run(srcs({"source/file1", "source/ghost"}), dst("t/"), o);
  EXPECT_EQ(dst_files("t"), (Names{"file1"}));
  // The default for a non-recursive copy raises.
  EXPECT_FS_THROW(kNotFound, run(srcs({"source/file2", "source/ghost"}), dst("t/")));
}

TEST_P(TransferTest, CopyViaCoroutineApi) {
  begin(Op::kCopy);
  if (IsSkipped() || HasFatalFailure()) return;
  make_source();
  sync(fs().io(), fs()._copy(Paths(src("source/subdir/")), Paths(dst("co")), rec()));
  EXPECT_EQ(dst_files("co"), (Names{"nesteddir/nestedfile", "subfile1", "subfile2"}));
}

// --- get_file / put_file hooks ------------------------------------------------------------------

TEST_P(TransferTest, GetFileHook) {
  begin(Op::kGet);
  if (IsSkipped() || HasFatalFailure()) return;
  src_file("one", "remote bytes");
  fs().get_file(src("one"), dst("one"));
  EXPECT_EQ(dst_read("one"), "remote bytes");
  EXPECT_FS_THROW(kNotFound, fs().get_file(src("nope"), dst("nope")));
  EXPECT_FALSE(dst_exists("nope")) << "a failed download leaves nothing behind";
}

TEST_P(TransferTest, PutFileHook) {
  begin(Op::kPut);
  if (IsSkipped() || HasFatalFailure()) return;
  src_file("one", "local bytes");
  fs().put_file(src("one"), dst("one"));
  EXPECT_EQ(dst_read("one"), "local bytes");
  EXPECT_FS_THROW(kNotFound, fs().put_file(src("nope"), dst("nope")));
  EXPECT_FALSE(dst_exists("nope"));
}

TEST_P(TransferTest, PutFileCreateModeViaCoroutineApi) {
  begin(Op::kPut);
  if (IsSkipped() || HasFatalFailure()) return;
  src_file("one", "v1");
  sync(fs().io(), fs()._put_file(src("one"), dst("one"), nullptr, WriteMode::kCreate));
  EXPECT_EQ(dst_read("one"), "v1");
  src_file("one", "v2");
  EXPECT_FS_THROW(kAlreadyExists, sync(fs().io(), fs()._put_file(src("one"), dst("one"), nullptr,
                                                                 WriteMode::kCreate)));
  EXPECT_EQ(dst_read("one"), "v1");
}

TEST_P(TransferTest, GetFileViaCoroutineApi) {
  begin(Op::kGet);
  if (IsSkipped() || HasFatalFailure()) return;
  src_file("one", "co bytes");
  sync(fs().io(), fs()._get_file(src("one"), dst("sub/one"), nullptr));
  EXPECT_EQ(dst_read("sub/one"), "co bytes") << "missing local parents are created";
}

}  // namespace

ASYNCFS_CONFORMANCE_SUITE(TransferTest);

}  // namespace asyncfs::conformance
