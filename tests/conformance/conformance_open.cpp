// File objects: read/seek/tell/readinto in "rb", "wb"/"ab"/"xb" writes, the commit-on-close
// promise of file.hpp, and the coroutine AsyncFile.

#include <array>

#include "conformance/conformance.hpp"

namespace asyncfs::conformance {
namespace {

std::string alphabet_bytes(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 26) % 26);
  return s;
}

class OpenTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    seed("digits", "0123456789");
    seed("big", alphabet_bytes(50000));
    seed_dir("dir");
    seed("dir/inside", "x");
  }
};

// --- read mode ----------------------------------------------------------------------------------

TEST_P(OpenTest, ReadSequentially) {
  REQUIRE_CAP(read);
  File f = fs().open(p("digits"));
  EXPECT_EQ(f.size(), std::optional<std::uint64_t>(10));
  EXPECT_EQ(f.tell(), 0u);
  EXPECT_EQ(f.read(3), "012");
  EXPECT_EQ(f.tell(), 3u);
  EXPECT_EQ(f.read(4), "3456");
  EXPECT_EQ(f.read(100), "789") << "short only at EOF";
  EXPECT_EQ(f.read(5), "") << "at EOF";
  EXPECT_EQ(f.tell(), 10u);
  f.close();
  EXPECT_TRUE(f.closed());
}

TEST_P(OpenTest, ReadAllWithNegativeCount) {
  REQUIRE_CAP(read);
  File f = fs().open(p("digits"), "rb");
  f.seek(4);
  EXPECT_EQ(f.read(-1), "456789");
  f.seek(0);
  EXPECT_EQ(f.read(), "0123456789");
}

TEST_P(OpenTest, SeekWhence) {
  REQUIRE_CAP(read);
  File f = fs().open(p("digits"));
  EXPECT_EQ(f.seek(2, Whence::kSet), 2u);
  EXPECT_EQ(f.read(1), "2");
  EXPECT_EQ(f.seek(3, Whence::kCur), 6u);
  EXPECT_EQ(f.read(1), "6");
  EXPECT_EQ(f.seek(-2, Whence::kCur), 5u);
  EXPECT_EQ(f.read(2), "56");
  EXPECT_EQ(f.seek(-3, Whence::kEnd), 7u);
  EXPECT_EQ(f.read(10), "789");
  EXPECT_EQ(f.seek(0, Whence::kEnd), 10u);
  EXPECT_EQ(f.read(1), "");
}

TEST_P(OpenTest, SeekPastEndThenReadIsEmpty) {
  REQUIRE_CAP(read);
  File f = fs().open(p("digits"));
  EXPECT_EQ(f.seek(25), 25u);
  EXPECT_EQ(f.tell(), 25u);
  EXPECT_EQ(f.read(3), "");
}

TEST_P(OpenTest, SeekToNegativePositionIsInvalid) {
  REQUIRE_CAP(read);
  File f = fs().open(p("digits"));
  f.seek(3);
  EXPECT_FS_THROW(kInvalidArgument, f.seek(-1, Whence::kSet));
  EXPECT_FS_THROW(kInvalidArgument, f.seek(-4, Whence::kCur));
  EXPECT_FS_THROW(kInvalidArgument, f.seek(-11, Whence::kEnd));
  EXPECT_EQ(f.tell(), 3u) << "a refused seek does not move";
}

TEST_P(OpenTest, Readinto) {
  REQUIRE_CAP(read);
  File f = fs().open(p("digits"));
  std::array<char, 4> buf{};
  EXPECT_EQ(f.readinto(buf), 4u);
  EXPECT_EQ(std::string(buf.data(), 4), "0123");
  f.seek(8);
  EXPECT_EQ(f.readinto(buf), 2u);
  EXPECT_EQ(std::string(buf.data(), 2), "89");
  EXPECT_EQ(f.readinto(buf), 0u) << "0 at EOF";
}

TEST_P(OpenTest, SmallBlocksReadTheWholeFileCorrectly) {
  REQUIRE_CAP(read);
  const auto expected = alphabet_bytes(50000);
  OpenOptions o;
  o.block_size = 777;  // deliberately not a divisor of the chunk size below
  File f = fs().open(p("big"), "rb", o);
  std::string got;
  for (std::string chunk; !(chunk = f.read(1000)).empty();) got += chunk;
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_EQ(got, expected);
  // Random access across block boundaries.
  f.seek(776);
  EXPECT_EQ(f.read(3), expected.substr(776, 3));
  f.seek(-1, Whence::kEnd);
  EXPECT_EQ(f.read(5), expected.substr(49999));
  f.seek(10000);
  EXPECT_EQ(f.read(20000), expected.substr(10000, 20000));
}

TEST_P(OpenTest, KnownSizeOption) {
  REQUIRE_CAP(read);
  OpenOptions o;
  o.size = 10;
  File f = fs().open(p("digits"), "rb", o);
  EXPECT_EQ(f.size(), std::optional<std::uint64_t>(10));
  EXPECT_EQ(f.read(), "0123456789");
}

TEST_P(OpenTest, OpenReadErrors) {
  REQUIRE_CAP(read);
  EXPECT_FS_THROW(kNotFound, fs().open(p("nope")));
  EXPECT_FS_THROW(kInvalidArgument, fs().open(p("digits"), "r+"));
  EXPECT_FS_THROW(kInvalidArgument, fs().open(p("digits"), "rt"));
  EXPECT_FS_THROW(kInvalidArgument, fs().open(p("digits"), ""));
}

TEST_P(OpenTest, OpenDirectoryIsADirectory) {
  REQUIRE_CAP(read);
  REQUIRE_CAP(real_directories);
  EXPECT_FS_THROW(kIsADirectory, fs().open(p("dir")));
}

TEST_P(OpenTest, WriteOnReadFileFails) {
  REQUIRE_CAP(read);
  File f = fs().open(p("digits"));
  EXPECT_FS_ERROR(f.write("x"));
  f.close();
  EXPECT_EQ(fs().cat_file(p("digits")), "0123456789");
}

TEST_P(OpenTest, ReadAfterCloseFails) {
  REQUIRE_CAP(read);
  File f = fs().open(p("digits"));
  f.close();
  EXPECT_NO_THROW(f.close()) << "close is idempotent";
  EXPECT_FS_ERROR(f.read(1));
}

TEST_P(OpenTest, AsyncFileThroughCoroutines) {
  REQUIRE_CAP(read);
  auto read_some = [](std::shared_ptr<AsyncFileSystem> fsp, std::string path) -> Task<Bytes> {
    // Arguments as named locals: g++ 12 mis-destroys temporaries passed by value to a
    // coroutine inside a co_await expression (it crashed here with OpenOptions{}).
    OpenOptions opts;
    std::string mode = "rb";
    auto f = co_await fsp->_open(std::move(path), std::move(mode), std::move(opts));
    f->seek(5, Whence::kSet);
    Bytes out = co_await f->read(3);
    std::array<char, 2> buf{};
    auto n = co_await f->readinto(buf);
    out.append(buf.data(), n);
    co_await f->close();
    co_return out;
  };
  // The lambda captures nothing and takes its arguments by value (the coroutine frame owns
  // them), so it is safe as a coroutine.
  EXPECT_EQ(sync(fs().io(), read_some(fs_ptr(), p("digits"))), "56789");
}

// --- write modes --------------------------------------------------------------------------------

class OpenWriteTest : public OpenTest {
 protected:
  void SetUp() override {
    OpenTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    if (!caps().write) GTEST_SKIP() << "backend " << GetParam() << " cannot write";
  }
};

TEST_P(OpenWriteTest, WriteThenReadBack) {
  File f = fs().open(p("new"), "wb");
  EXPECT_EQ(f.write("hello "), 6u);
  EXPECT_EQ(f.write("world"), 5u);
  EXPECT_EQ(f.tell(), 11u);
  f.close();
  EXPECT_EQ(fs().cat_file(p("new")), "hello world");
}

TEST_P(OpenWriteTest, WriteManyChunksLargerThanBlock) {
  OpenOptions o;
  o.block_size = 1000;
  const auto data = alphabet_bytes(12345);
  File f = fs().open(p("chunks"), "wb", o);
  for (std::size_t off = 0; off < data.size(); off += 333) f.write(data.substr(off, 333));
  f.close();
  EXPECT_EQ(fs().cat_file(p("chunks")), data);
}

TEST_P(OpenWriteTest, WbTruncatesExisting) {
  File f = fs().open(p("digits"), "wb");
  f.write("ab");
  f.close();
  EXPECT_EQ(fs().cat_file(p("digits")), "ab");
}

TEST_P(OpenWriteTest, EmptyWriteCreatesEmptyFile) {
  File f = fs().open(p("empty"), "wb");
  f.close();
  EXPECT_TRUE(fs().isfile(p("empty")));
  EXPECT_EQ(fs().cat_file(p("empty")), "");
}

TEST_P(OpenWriteTest, DataInvisibleUntilClose) {
  // file.hpp: the data becomes visible under the final name only when close() succeeds.
  File f = fs().open(p("pending"), "wb");
  f.write("partial");
  f.flush();
  EXPECT_FALSE(fs().exists(p("pending"))) << "a new file appears only on close";
  f.write(" and the rest");
  f.close();
  EXPECT_EQ(fs().cat_file(p("pending")), "partial and the rest");
}

TEST_P(OpenWriteTest, OverwriteKeepsOldContentUntilClose) {
  File f = fs().open(p("digits"), "wb");
  f.write("new content");
  f.flush();
  EXPECT_EQ(fs().cat_file(p("digits")), "0123456789") << "readers see the old file until close";
  f.close();
  EXPECT_EQ(fs().cat_file(p("digits")), "new content");
}

TEST_P(OpenWriteTest, AppendMode) {
  {
    File f = fs().open(p("digits"), "ab");
    f.write("abc");
    f.close();
  }
  EXPECT_EQ(fs().cat_file(p("digits")), "0123456789abc");
  File g = fs().open(p("fresh"), "ab");
  g.write("start");
  g.close();
  EXPECT_EQ(fs().cat_file(p("fresh")), "start") << "ab creates a missing file";
}

TEST_P(OpenWriteTest, ExclusiveMode) {
  EXPECT_FS_THROW(kAlreadyExists, fs().open(p("digits"), "xb"));
  EXPECT_EQ(fs().cat_file(p("digits")), "0123456789");
  File f = fs().open(p("excl"), "xb");
  f.write("only once");
  f.close();
  EXPECT_EQ(fs().cat_file(p("excl")), "only once");
}

TEST_P(OpenWriteTest, DestructorCommits) {
  {
    File f = fs().open(p("raii"), "wb");
    f.write("by destructor");
  }
  EXPECT_EQ(fs().cat_file(p("raii")), "by destructor");
}

TEST_P(OpenWriteTest, WriteAfterCloseFailsAndCloseIsIdempotent) {
  File f = fs().open(p("w"), "wb");
  f.write("1");
  f.close();
  EXPECT_NO_THROW(f.close());
  EXPECT_FS_ERROR(f.write("2"));
  EXPECT_EQ(fs().cat_file(p("w")), "1");
}

TEST_P(OpenWriteTest, ReadOnWriteFileFails) {
  File f = fs().open(p("w"), "wb");
  EXPECT_FS_ERROR(f.read(1));
  f.close();
}

TEST_P(OpenWriteTest, OpenForWriteOnDirectoryFails) {
  REQUIRE_CAP(real_directories);
  // The error may surface at open or at close; either way it must be IsADirectory.
  auto attempt = [&] {
    File f = fs().open(p("dir"), "wb");
    f.write("x");
    f.close();
  };
  EXPECT_FS_THROW(kIsADirectory, attempt());
  EXPECT_TRUE(fs().isdir(p("dir")));
}

TEST_P(OpenWriteTest, MovedFileStillCommitsOnce) {
  File a = fs().open(p("moved"), "wb");
  a.write("m");
  File b = std::move(a);
  b.write("n");
  b.close();
  EXPECT_EQ(fs().cat_file(p("moved")), "mn");
}

TEST_P(OpenWriteTest, AsyncFileWriteThroughCoroutines) {
  auto write_some = [](std::shared_ptr<AsyncFileSystem> fsp, std::string path) -> Task<void> {
    OpenOptions opts;
    std::string mode = "wb";
    auto f = co_await fsp->_open(std::move(path), std::move(mode), std::move(opts));
    co_await f->write("co");
    co_await f->write("routine");
    co_await f->close();
  };
  sync(fs().io(), write_some(fs_ptr(), p("co")));
  EXPECT_EQ(fs().cat_file(p("co")), "coroutine");
}

}  // namespace

ASYNCFS_CONFORMANCE_SUITE(OpenTest);
ASYNCFS_CONFORMANCE_SUITE(OpenWriteTest);

}  // namespace asyncfs::conformance
