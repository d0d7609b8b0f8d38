// file:// specifics the conformance suite does not see: URL and relative-path handling, the
// temp-file discipline of writes (never a partial file under the final name, no temp left
// after failures, cancellation or an unclosed file), symlinks, non-UTF-8 names on disk.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "asyncfs/asyncfs.hpp"
#include "support/co_test.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs {
namespace {

using namespace std::chrono_literals;
namespace stdfs = std::filesystem;

std::shared_ptr<AsyncFileSystem> make_local(std::size_t block_size = 4 << 20,
                                            bool auto_mkdir = false) {
  local::LocalOptions opts;
  opts.block_size = block_size;
  opts.auto_mkdir = auto_mkdir;
  return local::make_filesystem(std::move(opts));
}

/// Names in `dir` (on disk) that look like our temp files.
std::vector<std::string> temp_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : stdfs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(".asyncfs-") != std::string::npos) out.push_back(name);
  }
  return out;
}

/// Waits (bounded) until `dir` holds no temp file: cleanup after a detached failure may lag.
bool no_temp_files_soon(const std::string& dir) {
  for (int i = 0; i < 500; ++i) {
    if (temp_files(dir).empty()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

mode_t current_umask() {
  const mode_t m = ::umask(0);
  ::umask(m);
  return m;
}

TEST(LocalFs, StripProtocolForms) {
  auto fs = make_local();
  EXPECT_EQ(fs->protocol(), "file");
  EXPECT_EQ(fs->root_marker(), "/");
  EXPECT_EQ(fs->strip_protocol("file:///tmp/x/"), "/tmp/x");
  EXPECT_EQ(fs->strip_protocol("file://localhost/tmp/x"), "/tmp/x");
  EXPECT_EQ(fs->strip_protocol("local:///tmp//x"), "/tmp/x");
  EXPECT_EQ(fs->strip_protocol("/tmp/./a/../x"), "/tmp/x");
  EXPECT_EQ(fs->strip_protocol("file:///"), "/");
  EXPECT_EQ(fs->strip_protocol("/.."), "/");
  const std::string cwd = stdfs::current_path().string();
  EXPECT_EQ(fs->strip_protocol("rel/a"), cwd + "/rel/a");
  EXPECT_EQ(fs->strip_protocol("."), cwd);
  EXPECT_EQ(fs->strip_protocol("./x/../y/"), cwd + "/y");
  EXPECT_EQ(fs->unstrip_protocol("/tmp/x"), "file:///tmp/x");
  EXPECT_THROW(fs->strip_protocol(""), InvalidArgument);
  EXPECT_THROW(fs->strip_protocol("http://host/x"), InvalidArgument);
  EXPECT_THROW(fs->strip_protocol(std::string("/a\0b", 4)), InvalidArgument);
  EXPECT_THROW(fs->strip_protocol("/bad\xff"), InvalidArgument);
}

TEST(LocalFs, FileUrlWithHostIsRejectedWithHelp) {
  auto fs = make_local();
  try {
    fs->strip_protocol("file://relative/path");
    ADD_FAILURE() << "file://relative was accepted";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("file:///"), std::string::npos) << msg;
    EXPECT_NE(msg.find("file://relative/path"), std::string::npos) << msg;
  }
  EXPECT_THROW(fs->ls("file://relative"), InvalidArgument);
  EXPECT_THROW(url_to_fs("file://relative"), InvalidArgument);
}

TEST(LocalFs, RelativePathsResolveAgainstTheCurrentDirectory) {
  testing::TempDir tmp("unit-local");
  const auto old = stdfs::current_path();
  stdfs::current_path(tmp.path());
  auto fs = make_local();
  try {
    fs->pipe_file("rel.txt", "relative");
    EXPECT_EQ(testing::read_local_file(tmp / "rel.txt"), "relative");
    EXPECT_EQ(fs->info("rel.txt").name, tmp / "rel.txt");
    auto [ufs, p] = url_to_fs("rel.txt");
    EXPECT_EQ(ufs->protocol(), "file");
    EXPECT_EQ(p, tmp / "rel.txt");
  } catch (...) {
    stdfs::current_path(old);
    throw;
  }
  stdfs::current_path(old);
}

TEST(LocalFs, WriteLeavesNoTempAndUsesTheUmask) {
  testing::TempDir tmp("unit-local");
  auto fs = make_local(/*block_size=*/7);
  fs->pipe_file(tmp / "f", "some bytes in several chunks");
  EXPECT_EQ(testing::read_local_file(tmp / "f"), "some bytes in several chunks");
  EXPECT_TRUE(temp_files(tmp.path()).empty());
  struct stat st {};
  ASSERT_EQ(::stat((tmp / "f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666 & ~current_umask());
}

TEST(LocalFs, MissingParentIsNotFoundUnlessAutoMkdir) {
  testing::TempDir tmp("unit-local");
  try {
    make_local()->pipe_file(tmp / "no/such/f", "x");
    ADD_FAILURE() << "write into a missing directory succeeded";
  } catch (const NotFound& e) {
    // The error names the file the user asked for, not our temp file.
    EXPECT_EQ(e.path(), tmp / "no/such/f");
  }
  make_local(4096, /*auto_mkdir=*/true)->pipe_file(tmp / "no/such/f", "x");
  EXPECT_EQ(testing::read_local_file(tmp / "no/such/f"), "x");
}

/// RLIMIT_FSIZE makes write(2) fail with EFBIG past a size, for root too (root bypasses
/// permissions, not resource limits). SIGXFSZ is ignored meanwhile so the process survives.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    struct rlimit lim = old_;
    lim.rlim_cur = bytes;
    ok_ = ::setrlimit(RLIMIT_FSIZE, &lim) == 0;
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }
  bool ok() const { return ok_; }

 private:
  struct rlimit old_ {};
  sighandler_t old_handler_;
  bool ok_ = false;
};

TEST(LocalFs, FailedWritesLeaveNoTraceAndKeepOldContents) {
  testing::TempDir tmp("unit-local");
  auto fs = make_local(/*block_size=*/16 << 10);
  testing::write_local_file(tmp / "existing", "old contents");
  testing::write_local_file(tmp / "big-source", std::string(1 << 20, 'b'));
  {
    FileSizeLimit limit(64 << 10);
    ASSERT_TRUE(limit.ok());
    try {
      fs->pipe_file(tmp / "existing", std::string(1 << 20, 'x'));
      ADD_FAILURE() << "write past RLIMIT_FSIZE succeeded";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kTooLarge) << e.what();
      EXPECT_EQ(e.path(), tmp / "existing");
    }
    EXPECT_THROW(fs->pipe_file(tmp / "fresh", std::string(1 << 20, 'x')), TooLarge);
    EXPECT_THROW(fs->put_file(tmp / "big-source", tmp / "existing"), TooLarge);
    EXPECT_THROW(fs->get_file(tmp / "big-source", tmp / "copy"), TooLarge);
    EXPECT_THROW(fs->cp_file(tmp / "big-source", tmp / "copy"), Error);
  }
  EXPECT_EQ(testing::read_local_file(tmp / "existing"), "old contents");
  EXPECT_FALSE(testing::local_exists(tmp / "fresh"));
  EXPECT_FALSE(testing::local_exists(tmp / "copy"));
  EXPECT_TRUE(temp_files(tmp.path()).empty());
}

TEST(LocalFs, FileWithAFailedWriteIsNeverCommitted) {
  testing::TempDir tmp("unit-local");
  auto fs = make_local(/*block_size=*/16 << 10);
  testing::write_local_file(tmp / "existing", "old contents");
  {
    FileSizeLimit limit(64 << 10);
    ASSERT_TRUE(limit.ok());
    File f = fs->open(tmp / "existing", "wb");
    f.write("small");
    EXPECT_THROW(f.write(std::string(1 << 20, 'w')), TooLarge);
    // A later close() must not rename the partial temp file into place.
    EXPECT_THROW(f.close(), Error);
    EXPECT_TRUE(f.closed());
  }
  EXPECT_EQ(testing::read_local_file(tmp / "existing"), "old contents");
  EXPECT_TRUE(temp_files(tmp.path()).empty());
}

class StopAfterFirstChunk : public Callback {
 public:
  explicit StopAfterFirstChunk(std::stop_source* stop) : stop_(stop) {}

 protected:
  void on_change() override {
    if (value() > 0) stop_->request_stop();
  }

 private:
  std::stop_source* stop_;
};

TEST(LocalFs, CancelledCopyLeavesNothing) {
  testing::TempDir tmp("unit-local");
  auto io = std::make_shared<IoThread>("unit-local-io");
  local::LocalOptions opts;
  opts.base.io = io;
  opts.block_size = 64 << 10;
  auto fs = local::make_filesystem(std::move(opts));
  testing::write_local_file(tmp / "src", std::string(4 << 20, 's'));
  testing::write_local_file(tmp / "dst", "previous");

  std::stop_source stop;
  StopAfterFirstChunk progress(&stop);
  std::promise<Outcome<void>> done;
  io->post([&] {
    io->spawn(
        fs->_put_file(tmp / "src", tmp / "dst", &progress, WriteMode::kOverwrite),
        [&](Outcome<void> out) { done.set_value(std::move(out)); }, stop.get_token());
  });
  auto out = done.get_future().get();
  EXPECT_THROW(out.value(), Cancelled);
  EXPECT_EQ(progress.size(), 4u << 20);
  EXPECT_LT(progress.value(), 4u << 20);
  EXPECT_EQ(testing::read_local_file(tmp / "dst"), "previous");
  EXPECT_TRUE(temp_files(tmp.path()).empty());
  fs.reset();
  io->shutdown();
}

TEST(LocalFs, ProgressCountsBytes) {
  testing::TempDir tmp("unit-local");
  auto fs = make_local(/*block_size=*/1000);
  testing::write_local_file(tmp / "src", std::string(4500, 'p'));
  Callback cb;
  fs->get_file(tmp / "src", tmp / "dst", &cb);
  EXPECT_EQ(cb.size(), 4500u);
  EXPECT_EQ(cb.value(), 4500u);
  EXPECT_EQ(testing::read_local_file(tmp / "dst"), std::string(4500, 'p'));
}

TEST(LocalFs, WriteModesCommitOnClose) {
  testing::TempDir tmp("unit-local");
  auto fs = make_local(/*block_size=*/3);
  {
    File f = fs->open(tmp / "w", "wb");
    f.write("hello ");
    EXPECT_FALSE(testing::local_exists(tmp / "w"));  // nothing under the final name yet
    f.write("world");
    EXPECT_EQ(f.tell(), 11u);
    EXPECT_THROW(f.seek(0), InvalidArgument);
    f.close();
    f.close();  // idempotent
  }
  EXPECT_EQ(testing::read_local_file(tmp / "w"), "hello world");

  EXPECT_THROW(fs->open(tmp / "w", "xb"), AlreadyExists);
  {
    File f = fs->open(tmp / "x", "xb");
    f.write("exclusive");
    // Someone else creates the file meanwhile: close() must not replace it.
    testing::write_local_file(tmp / "x", "theirs");
    EXPECT_THROW(f.close(), AlreadyExists);
  }
  EXPECT_EQ(testing::read_local_file(tmp / "x"), "theirs");

  {
    File f = fs->open(tmp / "w", "ab");
    EXPECT_EQ(f.tell(), 11u);
    f.write("!");
    f.close();
  }
  EXPECT_EQ(testing::read_local_file(tmp / "w"), "hello world!");
  {
    File f = fs->open(tmp / "new-append", "ab");
    f.write("fresh");
    f.close();
  }
  EXPECT_EQ(testing::read_local_file(tmp / "new-append"), "fresh");
  EXPECT_THROW(fs->open(tmp.path(), "wb"), IsADirectory);
  EXPECT_TRUE(temp_files(tmp.path()).empty());
}

TEST(LocalFs, UnclosedWriteFileRemovesItsTemp) {
  testing::TempDir tmp("unit-local");
  auto fs = make_local();
  // Destroyed on this (non-loop) thread: close(2) + unlink(2) right here.
  {
    auto f = fs->run_sync(fs->_open(tmp / "abandoned", "wb", {}));
    fs->run_sync(f->write("partial"));
    EXPECT_EQ(temp_files(tmp.path()).size(), 1u);
  }
  EXPECT_TRUE(temp_files(tmp.path()).empty());
  EXPECT_FALSE(testing::local_exists(tmp / "abandoned"));
}

Task<void> open_write_and_drop(std::shared_ptr<AsyncFileSystem> fs, std::string path) {
  // Named arguments: g++ 12 mishandles braced temporaries passed to a coroutine inside co_await.
  OpenOptions opts;
  std::string mode = "wb";
  auto f = co_await fs->_open(path, mode, opts);
  co_await f->write("partial");
  // Dropped on the loop thread: the temp file goes through detached uv requests.
}

TEST(LocalFs, UnclosedWriteFileDroppedOnTheLoopRemovesItsTemp) {
  testing::TempDir tmp("unit-local");
  auto fs = make_local();
  fs->run_sync(open_write_and_drop(fs, tmp / "abandoned"));
  EXPECT_TRUE(no_temp_files_soon(tmp.path()));
  EXPECT_FALSE(testing::local_exists(tmp / "abandoned"));
}

TEST(LocalFs, ReadFileSeekTellAndRanges) {
  testing::TempDir tmp("unit-local");
  auto fs = make_local(/*block_size=*/4);
  testing::write_local_file(tmp / "r", "0123456789");
  File f = fs->open(tmp / "r", "rb");
  EXPECT_EQ(f.size(), 10u);
  EXPECT_EQ(f.read(3), "012");
  EXPECT_EQ(f.tell(), 3u);
  EXPECT_EQ(f.seek(-2, Whence::kEnd), 8u);
  EXPECT_EQ(f.read(), "89");
  EXPECT_EQ(f.read(5), "");
  EXPECT_EQ(f.seek(1), 1u);
  EXPECT_EQ(f.read(), "123456789");
  EXPECT_THROW(f.seek(-1), InvalidArgument);
  f.close();
  EXPECT_THROW(f.read(1), Error);

  EXPECT_EQ(fs->cat_file(tmp / "r", 2, 5), "234");
  EXPECT_EQ(fs->cat_file(tmp / "r", -3), "789");
  EXPECT_EQ(fs->cat_file(tmp / "r", {}, -8), "01");
  EXPECT_EQ(fs->cat_file(tmp / "r", 20), "");
  EXPECT_EQ(fs->cat_file(tmp / "r", 7, 2), "");
  EXPECT_THROW(fs->cat_file(tmp / "none"), NotFound);
  EXPECT_THROW(fs->cat_file(tmp.path()), IsADirectory);
  EXPECT_THROW(fs->open(tmp.path(), "rb"), IsADirectory);
}

TEST(LocalFs, ReadsFilesThatReportSizeZero) {
  // /proc files report st_size 0; cat without an end reads to EOF anyway.
  auto fs = make_local();
  const auto status = fs->cat_file("/proc/self/status");
  EXPECT_NE(status.find("Name:"), std::string::npos);
}

TEST(LocalFs, Symlinks) {
  testing::TempDir tmp("unit-local");
  auto fs = make_local();
  testing::write_local_file(tmp / "target", "12345");
  stdfs::create_directory(tmp / "dir");
  stdfs::create_symlink("target", tmp / "to-file");
  stdfs::create_symlink(tmp / "dir", tmp / "to-dir");
  stdfs::create_symlink("nowhere", tmp / "broken");

  const auto file_link = fs->info(tmp / "to-file");
  EXPECT_EQ(file_link.type, FileType::kFile);
  EXPECT_EQ(file_link.size, 5u);
  EXPECT_EQ(file_link.link_target, "target");
  const auto dir_link = fs->info(tmp / "to-dir");
  EXPECT_EQ(dir_link.type, FileType::kDirectory);
  EXPECT_EQ(dir_link.link_target, tmp / "dir");
  const auto broken = fs->info(tmp / "broken");
  EXPECT_EQ(broken.type, FileType::kOther);
  EXPECT_EQ(broken.link_target, "nowhere");
  EXPECT_FALSE(broken.size.has_value());

  const auto listing = fs->ls(tmp.path());
  ASSERT_EQ(listing.size(), 5u);
  for (const auto& info : listing) {
    if (info.name == tmp / "to-file") {
      EXPECT_EQ(info, file_link);
    }
    if (info.name == tmp / "to-dir") {
      EXPECT_EQ(info, dir_link);
    }
    if (info.name == tmp / "target") {
      EXPECT_FALSE(info.link_target.has_value());
    }
  }
  EXPECT_EQ(fs->cat_file(tmp / "to-file"), "12345");
  EXPECT_EQ(fs->ls(tmp / "to-dir").size(), 0u);
  // Removing a link removes the link, not its target.
  fs->rm_file(tmp / "to-file");
  EXPECT_TRUE(testing::local_exists(tmp / "target"));
}

TEST(LocalFs, NonUtf8NamesOnDisk) {
  testing::TempDir tmp("unit-local");
  auto fs = make_local();
  const std::string odd = tmp / "caf\xe9-\xff\xfe.bin";  // Latin-1 and invalid bytes
  testing::write_local_file(odd, "bytes");
  testing::write_local_file(tmp / "ok.txt", "fine");
  const auto listing = fs->ls(tmp.path());
  ASSERT_EQ(listing.size(), 2u);
  EXPECT_EQ(listing[0].name, odd);  // "c" < "o"
  EXPECT_EQ(listing[0].size, 5u);
  // The API speaks UTF-8: such a name is listed (raw bytes) but cannot be passed back in.
  EXPECT_THROW(fs->cat_file(listing[0].name), InvalidArgument);
  EXPECT_EQ(fs->find(tmp.path()).size(), 2u);
  // A directory with such a name is listed too (walks: NonUtf8DirectoryDoesNotEndTheWalk).
  testing::write_local_file(tmp / "dir\xff/inner", "x");
  const auto again = fs->ls(tmp.path());
  ASSERT_EQ(again.size(), 3u);
  EXPECT_TRUE(again[1].is_dir());
}

TEST(LocalFs, NonUtf8DirectoryDoesNotEndTheWalk) {
  // find/walk/glob/du cannot descend into a directory whose name on disk is not UTF-8 (the
  // name cannot be passed back in), but they report it and walk everything else: with
  // on_error=omit it is an unreadable, empty directory; on_error=raise raises.
  testing::TempDir tmp("unit-local");
  auto fs = make_local();
  const std::string odd_dir = tmp / "b-\xff\xfe";
  testing::write_local_file(odd_dir + "/hidden.txt", "not reachable");
  testing::write_local_file(tmp / "a/one.txt", "1");
  testing::write_local_file(tmp / "c/two.txt", "22");
  testing::write_local_file(tmp / "odd-\xe9.txt", "333");  // Latin-1: a file, listed raw

  std::map<std::string, FileInfo> found;
  ASSERT_NO_THROW(found = fs->find(tmp.path()));
  std::vector<std::string> names;
  for (const auto& kv : found) names.push_back(kv.first);
  EXPECT_EQ(names,
            (std::vector<std::string>{tmp / "a/one.txt", tmp / "c/two.txt", tmp / "odd-\xe9.txt"}));
  FindOptions with_dirs;
  with_dirs.withdirs = true;
  found = fs->find(tmp.path(), with_dirs);
  ASSERT_TRUE(found.contains(odd_dir));
  EXPECT_TRUE(found.at(odd_dir).is_dir());
  EXPECT_FALSE(found.contains(odd_dir + "/hidden.txt"));

  const auto walked = fs->walk(tmp.path());
  ASSERT_EQ(walked.size(), 4u);  // the root, a, the odd directory, c: in name order
  EXPECT_EQ(walked[2].root, odd_dir);
  EXPECT_TRUE(walked[2].dirs.empty());
  EXPECT_TRUE(walked[2].files.empty());
  EXPECT_EQ(walked[3].root, tmp / "c");
  WalkOptions raise;
  raise.on_error = OnError::kRaise;
  EXPECT_THROW(fs->walk(tmp.path(), raise), InvalidArgument);

  EXPECT_EQ(fs->glob(tmp / "**/*.txt").size(), 3u);
  EXPECT_EQ(fs->du_total(tmp.path()), 6u);
  // A recursive removal cannot remove what it cannot name: it fails rather than report
  // success with the directory still there.
  RmOptions recursive;
  recursive.recursive = true;
  EXPECT_THROW(fs->rm(tmp.path(), recursive), InvalidArgument);
  EXPECT_TRUE(testing::local_exists(odd_dir + "/hidden.txt"));
}

TEST(LocalFs, ErrorKinds) {
  testing::TempDir tmp("unit-local");
  auto fs = make_local();
  testing::write_local_file(tmp / "f", "x");
  testing::write_local_file(tmp / "full/child", "x");
  EXPECT_THROW(fs->rm_file(tmp.path()), IsADirectory);
  EXPECT_THROW(fs->rm_file(tmp / "none"), NotFound);
  EXPECT_THROW(fs->rmdir(tmp / "f"), NotADirectory);
  EXPECT_THROW(fs->rmdir(tmp / "full"), DirectoryNotEmpty);
  EXPECT_THROW(fs->mkdir(tmp / "f"), AlreadyExists);
  EXPECT_THROW(fs->mkdir(tmp / "a/b", /*create_parents=*/false), NotFound);
  EXPECT_THROW(fs->mkdir(tmp / "f/sub"), NotADirectory);
  EXPECT_THROW(fs->makedirs(tmp / "f", /*exist_ok=*/true), AlreadyExists);
  fs->makedirs(tmp / "full", /*exist_ok=*/true);
  EXPECT_THROW(fs->pipe_file(tmp / "f", "y", WriteMode::kCreate), AlreadyExists);
  EXPECT_THROW(fs->pipe_file(tmp / "full", "y"), IsADirectory);
  EXPECT_THROW(fs->pipe_file(tmp / "f/below", "y"), NotADirectory);
  EXPECT_THROW(fs->ls(tmp / "none"), NotFound);
  // Below a file nothing exists: NotFound for lookups, NotADirectory for writes.
  EXPECT_THROW(fs->info(tmp / "f/child"), NotFound);
  EXPECT_THROW(fs->cat_file(tmp / "f/child"), NotFound);
  EXPECT_FALSE(fs->exists(tmp / "f/child"));
  EXPECT_THROW(fs->run_sync(fs->_mv_file(tmp / "f", tmp / "full")), IsADirectory);
  EXPECT_THROW(fs->modified(tmp / "none"), NotFound);
  EXPECT_TRUE(temp_files(tmp.path()).empty());
}

TEST(LocalFs, NonEmptyDirectoryIsDirectoryNotEmpty) {
  // ENOTEMPTY has its own kind: neither an I/O failure nor "already exists" (which
  // makedirs(exist_ok) and friends treat as fine).
  testing::TempDir tmp("unit-local");
  auto fs = make_local();
  testing::write_local_file(tmp / "full/child", "x");
  testing::write_local_file(tmp / "src/inner", "y");
  try {
    fs->rmdir(tmp / "full");
    ADD_FAILURE() << "rmdir of a non-empty directory succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kDirectoryNotEmpty) << e.what();
    EXPECT_EQ(e.path(), tmp / "full");
    EXPECT_EQ(e.message(), "rmdir failed");
    EXPECT_NE(e.cause().find("ENOTEMPTY"), std::string::npos) << e.cause();
    EXPECT_EQ(kind_name(e.kind()), "directory not empty");
  }
  EXPECT_EQ(testing::read_local_file(tmp / "full/child"), "x");
  // rename(2) of a directory onto a non-empty one: the error names the destination.
  try {
    fs->run_sync(fs->_mv_file(tmp / "src", tmp / "full"));
    ADD_FAILURE() << "a directory replaced a non-empty one";
  } catch (const DirectoryNotEmpty& e) {
    EXPECT_EQ(e.path(), tmp / "full");
  }
  EXPECT_EQ(testing::read_local_file(tmp / "src/inner"), "y");
  fs->rm_file(tmp / "full/child");
  fs->rmdir(tmp / "full");
  EXPECT_FALSE(fs->exists(tmp / "full"));
}

TEST(LocalFs, CpKeepsModeAndMvRenames) {
  testing::TempDir tmp("unit-local");
  auto fs = make_local();
  testing::write_local_file(tmp / "script", "#!/bin/sh\n");
  ::chmod((tmp / "script").c_str(), 0750);
  fs->cp_file(tmp / "script", tmp / "copy");
  struct stat st {};
  ASSERT_EQ(::stat((tmp / "copy").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  EXPECT_EQ(testing::read_local_file(tmp / "copy"), "#!/bin/sh\n");
  fs->run_sync(fs->_mv_file(tmp / "copy", tmp / "moved"));
  EXPECT_FALSE(testing::local_exists(tmp / "copy"));
  EXPECT_EQ(testing::read_local_file(tmp / "moved"), "#!/bin/sh\n");
  testing::write_local_file(tmp / "d/x", "x");
  fs->run_sync(fs->_mv_file(tmp / "d", tmp / "e"));
  EXPECT_EQ(testing::read_local_file(tmp / "e/x"), "x");
  EXPECT_TRUE(temp_files(tmp.path()).empty());
}

TEST(LocalFs, InfoAndModified) {
  testing::TempDir tmp("unit-local");
  auto fs = make_local();
  testing::write_local_file(tmp / "f", "abc");
  const auto info = fs->info(tmp / "f");
  EXPECT_EQ(info.size, 3u);
  ASSERT_TRUE(info.mtime.has_value());
  ASSERT_TRUE(info.mode.has_value());
  EXPECT_TRUE(S_ISREG(*info.mode));
  EXPECT_EQ(fs->modified(tmp / "f"), *info.mtime);
  EXPECT_TRUE(fs->info(tmp.path()).is_dir());
  EXPECT_TRUE(fs->info("/").is_dir());
  EXPECT_TRUE(fs->capabilities().local);
}

TEST(LocalFs, OptionsAreValidated) {
  EXPECT_THROW(local::LocalOptions::from({{"block_size", "0"}}, nullptr), InvalidArgument);
  EXPECT_THROW(local::LocalOptions::from({{"block_size", "big"}}, nullptr), InvalidArgument);
  EXPECT_THROW(local::LocalOptions::from({{"auto_mkdir", "perhaps"}}, nullptr), InvalidArgument);
  EXPECT_THROW(local::LocalOptions::from({{"colour", "red"}}, nullptr), InvalidArgument);
  auto opts = local::LocalOptions::from(
      {{"block_size", "1024"}, {"auto_mkdir", "true"}, {"batch_size", "4"}}, nullptr);
  EXPECT_EQ(opts.block_size, 1024u);
  EXPECT_TRUE(opts.auto_mkdir);
  EXPECT_EQ(opts.base.batch_size, 4);
}

TEST(LocalFs, SharedInstancePerIoThread) {
  auto io = std::make_shared<IoThread>("unit-local-shared");
  auto a = local::local_filesystem(io);
  auto b = local::local_filesystem(io);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(&a->io(), io.get());
  EXPECT_NE(local::local_filesystem(nullptr).get(), a.get());
  a.reset();
  b.reset();
  io->shutdown();
}

TEST(LocalFs, SymlinksBackToAnAncestorEndTheWalk) {
  // b/up -> .. and b/abs -> (absolute) a: find, du, walk and cp -r used to grow to 1.5 GB.
  testing::TempDir tmp("unit-local");
  const std::string a = tmp / "a";
  stdfs::create_directories(a + "/b");
  auto fs = make_local();
  fs->pipe_file(a + "/f.txt", "f");
  fs->pipe_file(a + "/b/g.txt", "g");
  stdfs::create_directory_symlink("..", a + "/b/up");
  stdfs::create_directory_symlink(a, a + "/b/abs");
  const auto t0 = std::chrono::steady_clock::now();
  auto found = fs->find(a);
  EXPECT_LT(found.size(), 20u);
  EXPECT_TRUE(found.count(a + "/f.txt"));
  EXPECT_TRUE(found.count(a + "/b/g.txt"));
  EXPECT_LT(fs->du(a).size(), 20u);
  fs->copy(a, tmp / "copy", TransferOptions{.recursive = true});
  EXPECT_TRUE(stdfs::exists(tmp / "copy/b/g.txt"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

TEST(LocalFs, SpecialFilesAreReportedAndNeverCopied) {
  testing::TempDir tmp("unit-local");
  stdfs::create_directories(tmp / "tree");
  auto fs = make_local();
  fs->pipe_file(tmp / "tree/a.txt", "a");
  ASSERT_EQ(::mkfifo((tmp / "tree/pipe").c_str(), 0600), 0);
  const FileInfo info = fs->info(tmp / "tree/pipe");
  EXPECT_EQ(info.type, FileType::kOther);
  EXPECT_EQ(info.extra.at("special"), "fifo");
  // cp -r opened the FIFO for reading and hung forever, with a temporary file left behind.
  auto copy = std::async(std::launch::async, [&] {
    fs->copy(tmp / "tree", tmp / "out", TransferOptions{.recursive = true});
  });
  ASSERT_EQ(copy.wait_for(10s), std::future_status::ready) << "the copy hangs";
  try {
    copy.get();
    ADD_FAILURE() << "a FIFO was copied";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("fifo"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(stdfs::exists(tmp / "out/pipe"));
  if (stdfs::exists(tmp / "out")) {
    EXPECT_TRUE(temp_files(tmp / "out").empty());
  }
}

TEST(LocalFs, ConcurrentWritersToOneNameNeverTear) {
  testing::TempDir tmp("unit-local");
  auto fs = make_local(/*block_size=*/512);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        fs->pipe_file(tmp / "contended", std::string(8192, static_cast<char>('a' + t)));
      }
    });
  }
  for (auto& th : threads) th.join();
  const auto got = testing::read_local_file(tmp / "contended");
  ASSERT_EQ(got.size(), 8192u);
  EXPECT_EQ(got, std::string(8192, got[0]));
  EXPECT_TRUE(temp_files(tmp.path()).empty());
}

}  // namespace
}  // namespace asyncfs
