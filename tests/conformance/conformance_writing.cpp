// Writing and managing: pipe_file/pipe, mkdir/makedirs/rmdir, rm_file/rm, cp_file, mv/_mv_file,
// checksum, modified.

#include <chrono>
#include <thread>

#include "conformance/conformance.hpp"

namespace asyncfs::conformance {
namespace {

using Names = std::vector<std::string>;

class WritingTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    if (!caps().write) GTEST_SKIP() << "backend " << GetParam() << " cannot write";
  }
};

// --- pipe_file / pipe ---------------------------------------------------------------------------

TEST_P(WritingTest, PipeFileCreatesAndOverwrites) {
  fs().pipe_file(p("f"), "first");
  EXPECT_EQ(fs().cat_file(p("f")), "first");
  fs().pipe_file(p("f"), "2nd");
  EXPECT_EQ(fs().cat_file(p("f")), "2nd") << "overwrite truncates the old, longer content";
  EXPECT_EQ(fs().size(p("f")), std::optional<std::uint64_t>(3));
}

TEST_P(WritingTest, PipeFileBinarySafe) {
  std::string data;
  for (int i = 0; i < 256; ++i) data.push_back(static_cast<char>(i));
  data += std::string(3, '\0');
  fs().pipe_file(p("bin"), data);
  EXPECT_EQ(fs().cat_file(p("bin")), data);
}

TEST_P(WritingTest, PipeFileCreateMode) {
  fs().pipe_file(p("new"), "x", WriteMode::kCreate);
  EXPECT_EQ(fs().cat_file(p("new")), "x");
  EXPECT_FS_THROW(kAlreadyExists, fs().pipe_file(p("new"), "y", WriteMode::kCreate));
  EXPECT_EQ(fs().cat_file(p("new")), "x") << "a refused create leaves the file untouched";
}

TEST_P(WritingTest, PipeFileOntoDirectoryIsADirectory) {
  REQUIRE_CAP(real_directories);
  fs().mkdir(p("d"));
  EXPECT_FS_THROW(kIsADirectory, fs().pipe_file(p("d"), "x"));
  EXPECT_TRUE(fs().isdir(p("d")));
}

TEST_P(WritingTest, PipeFileBelowAFileFails) {
  fs().pipe_file(p("f"), "x");
  // The parent is a file: POSIX says ENOTDIR; AlreadyExists is acceptable when a backend
  // tries to create the parent directory first.
  EXPECT_FS_THROW2(kNotADirectory, kAlreadyExists, fs().pipe_file(p("f/child"), "y"));
  EXPECT_EQ(fs().cat_file(p("f")), "x");
}

TEST_P(WritingTest, PipeFileViaCoroutineApi) {
  sync(fs().io(), fs()._pipe_file(p("co"), "via coroutine", WriteMode::kOverwrite));
  EXPECT_EQ(fs().cat_file(p("co")), "via coroutine");
}

TEST_P(WritingTest, PipeManyFiles) {
  std::map<std::string, Bytes> items;
  for (int i = 0; i < 30; ++i) {
    items[p("many/f" + std::to_string(i))] =
        std::string(static_cast<std::size_t>(i), static_cast<char>('a' + i % 26));
  }
  fs().pipe(items);
  for (const auto& [k, v] : items) EXPECT_EQ(fs().cat_file(k), v) << k;
  EXPECT_EQ(fs().find(p("many")).size(), 30u);
}

TEST_P(WritingTest, PipeViaCoroutineWithWindow) {
  std::map<std::string, Bytes> items = {{p("w1"), "1"}, {p("w2"), "22"}, {p("w3"), "333"}};
  sync(fs().io(), fs()._pipe(items, 1));
  for (const auto& [k, v] : items) EXPECT_EQ(fs().cat_file(k), v);
  EXPECT_FS_THROW(kInvalidArgument, sync(fs().io(), fs()._pipe(items, 0)));
}

// --- mkdir / makedirs / rmdir -------------------------------------------------------------------

TEST_P(WritingTest, MkdirCreatesParents) {
  REQUIRE_CAP(mkdir);
  fs().mkdir(p("a/b/c"));
  EXPECT_TRUE(fs().isdir(p("a")));
  EXPECT_TRUE(fs().isdir(p("a/b/c")));
}

TEST_P(WritingTest, MkdirWithoutParentsNeedsTheParent) {
  REQUIRE_CAP(mkdir);
  REQUIRE_CAP(real_directories);
  EXPECT_FS_THROW(kNotFound, fs().mkdir(p("x/y"), /*create_parents=*/false));
  EXPECT_FALSE(fs().exists(p("x")));
  fs().mkdir(p("x"), false);
  fs().mkdir(p("x/y"), false);
  EXPECT_TRUE(fs().isdir(p("x/y")));
}

TEST_P(WritingTest, MkdirOfExistingIsAlreadyExists) {
  REQUIRE_CAP(mkdir);
  REQUIRE_CAP(real_directories);
  fs().mkdir(p("d"));
  EXPECT_FS_THROW(kAlreadyExists, fs().mkdir(p("d")));
  EXPECT_FS_THROW(kAlreadyExists, fs().mkdir(p("d"), false));
  fs().pipe_file(p("f"), "x");
  EXPECT_FS_THROW(kAlreadyExists, fs().mkdir(p("f")));
  EXPECT_TRUE(fs().isfile(p("f")));
}

TEST_P(WritingTest, MkdirBelowAFileFails) {
  REQUIRE_CAP(mkdir);
  REQUIRE_CAP(real_directories);
  fs().pipe_file(p("f"), "x");
  EXPECT_FS_THROW2(kNotADirectory, kAlreadyExists, fs().mkdir(p("f/sub")));
  EXPECT_TRUE(fs().isfile(p("f")));
}

TEST_P(WritingTest, MakedirsExistOk) {
  REQUIRE_CAP(mkdir);
  REQUIRE_CAP(real_directories);
  fs().makedirs(p("m/n"));
  EXPECT_TRUE(fs().isdir(p("m/n")));
  EXPECT_FS_THROW(kAlreadyExists, fs().makedirs(p("m/n")));
  EXPECT_NO_THROW(fs().makedirs(p("m/n"), /*exist_ok=*/true));
  EXPECT_NO_THROW(fs().makedirs(p("m"), true));
}

TEST_P(WritingTest, MakedirsOverAFileFailsEvenWithExistOk) {
  // os.makedirs(file, exist_ok=True) raises: exist_ok covers directories only.
  REQUIRE_CAP(mkdir);
  REQUIRE_CAP(real_directories);
  fs().pipe_file(p("f"), "x");
  EXPECT_FS_THROW2(kAlreadyExists, kNotADirectory, fs().makedirs(p("f"), true));
  EXPECT_TRUE(fs().isfile(p("f")));
}

TEST_P(WritingTest, RmdirRemovesEmptyDirectoryOnly) {
  REQUIRE_CAP(mkdir);
  REQUIRE_CAP(real_directories);
  fs().mkdir(p("e"));
  fs().rmdir(p("e"));
  EXPECT_FALSE(fs().exists(p("e")));
  fs().pipe_file(p("full/f"), "x");
  EXPECT_FS_THROW(kDirectoryNotEmpty, fs().rmdir(p("full")));
  EXPECT_TRUE(fs().isfile(p("full/f"))) << "rmdir must not delete contents";
  EXPECT_FS_THROW(kNotFound, fs().rmdir(p("nope")));
  EXPECT_FS_THROW(kNotADirectory, fs().rmdir(p("full/f")));
  EXPECT_TRUE(fs().isfile(p("full/f")));
}

TEST_P(WritingTest, MkdirViaCoroutineApi) {
  REQUIRE_CAP(mkdir);
  sync(fs().io(), fs()._mkdir(p("co/dir"), true));
  sync(fs().io(), fs()._makedirs(p("co/dir2/x"), false));
  EXPECT_TRUE(fs().isdir(p("co/dir")));
  EXPECT_TRUE(fs().isdir(p("co/dir2/x")));
}

// --- rm_file / rm -------------------------------------------------------------------------------

TEST_P(WritingTest, RmFile) {
  REQUIRE_CAP(remove);
  fs().pipe_file(p("f"), "x");
  fs().rm_file(p("f"));
  EXPECT_FALSE(fs().exists(p("f")));
  EXPECT_FS_THROW(kNotFound, fs().rm_file(p("f")));
}

TEST_P(WritingTest, RmFileOfDirectoryIsADirectory) {
  REQUIRE_CAP(remove);
  REQUIRE_CAP(real_directories);
  fs().pipe_file(p("d/f"), "x");
  EXPECT_FS_THROW(kIsADirectory, fs().rm_file(p("d")));
  EXPECT_TRUE(fs().isfile(p("d/f")));
}

TEST_P(WritingTest, RmSingleFileAndList) {
  REQUIRE_CAP(remove);
  fs().pipe({{p("a"), "1"}, {p("b"), "2"}, {p("c"), "3"}});
  fs().rm(p("a"));
  EXPECT_FALSE(fs().exists(p("a")));
  fs().rm(Paths{p("b"), p("c")});
  EXPECT_FALSE(fs().exists(p("b")));
  EXPECT_FALSE(fs().exists(p("c")));
}

TEST_P(WritingTest, RmRecursive) {
  REQUIRE_CAP(remove);
  fs().pipe({{p("t/a"), "1"}, {p("t/sub/b"), "2"}, {p("t/sub/deeper/c"), "3"}, {p("keep"), "k"}});
  RmOptions o;
  o.recursive = true;
  fs().rm(p("t"), o);
  EXPECT_FALSE(fs().exists(p("t")));
  EXPECT_FALSE(fs().exists(p("t/sub/deeper/c")));
  EXPECT_TRUE(fs().exists(p("keep")));
}

TEST_P(WritingTest, RmDirectoryWithoutRecursiveFails) {
  REQUIRE_CAP(remove);
  REQUIRE_CAP(real_directories);
  fs().pipe_file(p("t/a"), "1");
  EXPECT_FS_ERROR(fs().rm(p("t")));
  EXPECT_TRUE(fs().isfile(p("t/a")));
}

TEST_P(WritingTest, RmGlob) {
  REQUIRE_CAP(remove);
  REQUIRE_CAP(list);
  fs().pipe({{p("x1.log"), "1"}, {p("x2.log"), "2"}, {p("x.txt"), "3"}});
  fs().rm(p("*.log"));
  EXPECT_EQ(rel(fs().find(root())), (Names{"x.txt"}));
}

TEST_P(WritingTest, RmMissingIsNotFound) {
  REQUIRE_CAP(remove);
  EXPECT_FS_THROW(kNotFound, fs().rm(p("nope")));
  RmOptions o;
  o.recursive = true;
  EXPECT_FS_THROW(kNotFound, fs().rm(p("nope"), o));
}

TEST_P(WritingTest, RmDoesNotTouchSiblingsSharingAPrefix) {
  REQUIRE_CAP(remove);
  fs().pipe({{p("data/f"), "1"}, {p("data2/f"), "2"}, {p("data.txt"), "3"}});
  RmOptions o;
  o.recursive = true;
  fs().rm(p("data"), o);
  EXPECT_FALSE(fs().exists(p("data")));
  EXPECT_TRUE(fs().isfile(p("data2/f")));
  EXPECT_TRUE(fs().isfile(p("data.txt")));
}

TEST_P(WritingTest, RmBatchSizeValidation) {
  REQUIRE_CAP(remove);
  fs().pipe({{p("a"), "1"}, {p("b"), "2"}});
  RmOptions o;
  o.batch_size = 0;
  EXPECT_FS_THROW(kInvalidArgument, fs().rm(Paths{p("a"), p("b")}, o));
  o.batch_size = 1;
  fs().rm(Paths{p("a"), p("b")}, o);
  EXPECT_FALSE(fs().exists(p("a")));
  EXPECT_FALSE(fs().exists(p("b")));
}

TEST_P(WritingTest, RmViaCoroutineApi) {
  REQUIRE_CAP(remove);
  fs().pipe_file(p("gone"), "x");
  sync(fs().io(), fs()._rm_file(p("gone")));
  EXPECT_FALSE(fs().exists(p("gone")));
  fs().pipe_file(p("r/x"), "x");
  RmOptions o;
  o.recursive = true;
  sync(fs().io(), fs()._rm(Paths(p("r")), o));
  EXPECT_FALSE(fs().exists(p("r")));
}

// --- cp_file ------------------------------------------------------------------------------------

TEST_P(WritingTest, CpFile) {
  REQUIRE_CAP(copy);
  fs().pipe_file(p("src"), "payload");
  fs().cp_file(p("src"), p("dst"));
  EXPECT_EQ(fs().cat_file(p("dst")), "payload");
  EXPECT_EQ(fs().cat_file(p("src")), "payload") << "the source stays";
  fs().pipe_file(p("src"), "other");
  fs().cp_file(p("src"), p("dst"));
  EXPECT_EQ(fs().cat_file(p("dst")), "other") << "an existing target is overwritten";
}

TEST_P(WritingTest, CpFileMissingSourceIsNotFound) {
  REQUIRE_CAP(copy);
  EXPECT_FS_THROW(kNotFound, fs().cp_file(p("nope"), p("dst")));
  EXPECT_FALSE(fs().exists(p("dst"))) << "a failed copy leaves no target";
}

TEST_P(WritingTest, CpFileViaCoroutineApi) {
  REQUIRE_CAP(copy);
  fs().pipe_file(p("src"), "abc");
  sync(fs().io(), fs()._cp_file(p("src"), p("dst")));
  EXPECT_EQ(fs().cat_file(p("dst")), "abc");
}

// --- mv -----------------------------------------------------------------------------------------

TEST_P(WritingTest, MvFile) {
  REQUIRE_CAP(remove);
  fs().pipe_file(p("a"), "moved");
  fs().mv(p("a"), p("b"));
  EXPECT_FALSE(fs().exists(p("a")));
  EXPECT_EQ(fs().cat_file(p("b")), "moved");
}

TEST_P(WritingTest, MvFileIntoExistingDirectory) {
  REQUIRE_CAP(remove);
  REQUIRE_CAP(real_directories);
  fs().pipe_file(p("a"), "moved");
  fs().mkdir(p("d"));
  fs().mv(p("a"), p("d"));
  EXPECT_EQ(fs().cat_file(p("d/a")), "moved");
  EXPECT_FALSE(fs().exists(p("a")));
}

TEST_P(WritingTest, MvGlobIntoNewDirectory) {
  REQUIRE_CAP(remove);
  REQUIRE_CAP(list);
  fs().pipe({{p("x1.log"), "1"}, {p("x2.log"), "2"}, {p("keep.txt"), "k"}});
  fs().mv(p("*.log"), p("logs/"));
  EXPECT_EQ(rel(fs().find(root())), (Names{"keep.txt", "logs/x1.log", "logs/x2.log"}));
  EXPECT_EQ(fs().cat_file(p("logs/x2.log")), "2");
}

TEST_P(WritingTest, MvDirectoryRecursive) {
  REQUIRE_CAP(remove);
  fs().pipe({{p("src/a"), "1"}, {p("src/sub/b"), "2"}});
  TransferOptions o;
  o.recursive = true;
  fs().mv(p("src"), p("dst"), o);
  EXPECT_FALSE(fs().exists(p("src")));
  EXPECT_EQ(fs().cat_file(p("dst/a")), "1");
  EXPECT_EQ(fs().cat_file(p("dst/sub/b")), "2");
}

TEST_P(WritingTest, MvOntoItselfIsANoOp) {
  REQUIRE_CAP(remove);
  fs().pipe_file(p("same"), "stay");
  fs().mv(p("same"), p("same"));
  EXPECT_EQ(fs().cat_file(p("same")), "stay");
}

TEST_P(WritingTest, MvMissingIsNotFound) {
  REQUIRE_CAP(remove);
  EXPECT_FS_THROW(kNotFound, fs().mv(p("nope"), p("dst")));
  EXPECT_FALSE(fs().exists(p("dst")));
}

TEST_P(WritingTest, MvFileHookViaCoroutineApi) {
  REQUIRE_CAP(remove);
  fs().pipe_file(p("a"), "hook");
  sync(fs().io(), fs()._mv_file(p("a"), p("b")));
  EXPECT_FALSE(fs().exists(p("a")));
  EXPECT_EQ(fs().cat_file(p("b")), "hook");
}

// --- checksum / modified ------------------------------------------------------------------------

TEST_P(WritingTest, ChecksumTracksContent) {
  fs().pipe_file(p("c"), "one");
  std::string first;
  try {
    first = fs().checksum(p("c"));
  } catch (const NotImplemented&) {
    GTEST_SKIP() << "checksum not implemented";
  }
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(fs().checksum(p("c")), first) << "stable while the file is unchanged";
  fs().pipe_file(p("c"), "a longer content");
  EXPECT_NE(fs().checksum(p("c")), first) << "changes when the content (and size) changes";
  EXPECT_FS_THROW(kNotFound, fs().checksum(p("nope")));
}

TEST_P(WritingTest, ModifiedWhenSupported) {
  using Clock = std::chrono::system_clock;
  auto now = [] { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); };
  const double before = now();
  fs().pipe_file(p("m"), "x");
  const double after = now();
  if (!caps().modified_time) {
    // Capabilities are data generic code relies on: "cannot" must mean NotImplemented.
    EXPECT_FS_THROW(kNotImplemented, fs().modified(p("m")));
    return;
  }
  const double m = fs().modified(p("m"));
  // Generous slack: coarse filesystem timestamps and clock granularity.
  EXPECT_GE(m, before - 2.0);
  EXPECT_LE(m, after + 2.0);
  EXPECT_FS_THROW(kNotFound, fs().modified(p("nope")));
  auto info = fs().info(p("m"));
  if (info.mtime) {
    EXPECT_NEAR(*info.mtime, m, 1.0);
  }
}

TEST_P(WritingTest, ModifiedAdvancesOnRewrite) {
  REQUIRE_CAP(modified_time);
  fs().pipe_file(p("m"), "x");
  const double first = fs().modified(p("m"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  fs().pipe_file(p("m"), "y");
  EXPECT_GE(fs().modified(p("m")), first);
  EXPECT_GE(sync(fs().io(), fs()._modified(p("m"))), first);
}

}  // namespace

ASYNCFS_CONFORMANCE_SUITE(WritingTest);

}  // namespace asyncfs::conformance
