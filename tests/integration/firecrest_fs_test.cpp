// firecrest:// against the FirecREST emulator, beyond the conformance suite: byte-exact round
// trips around the direct/staged boundary, trees of 1,000 files, staged-copy reuse and
// expiry, failing parts, failing transfer jobs, a server killed mid-transfer, a file that
// changes while it is staged, and bad input.

#include "asyncfs/backends/firecrest_fs.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "asyncfs/asyncfs.hpp"
#include "support/expect_kind.hpp"
#include "support/firecrest_emulator.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::testing {
namespace {

namespace stdfs = std::filesystem;
using firecrest::FirecrestFileSystem;
using firecrest::FirecrestFsOptions;

/// Small limits so that staging is exercised with small files: direct transfers up to
/// 3/4 MiB, S3 parts of 4 MiB.
constexpr std::uint64_t kMaxOps = 1 << 20;
const std::vector<std::string> kArgs = {"--job-delay",         "0.1",
                                        "--max-ops-file-size", std::to_string(kMaxOps),
                                        "--max-part-size",     std::to_string(4 << 20)};

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(s.data() + i, &v, std::min<std::size_t>(8, n - i));
  }
  return s;
}

std::string read_local(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_local(const std::string& path, const std::string& data) {
  stdfs::create_directories(stdfs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

std::size_t count(const std::vector<FirecrestEmulator::LogEntry>& log, const std::string& method,
                  const std::string& prefix) {
  std::size_t n = 0;
  for (const auto& e : log) n += e.method == method && e.path.starts_with(prefix);
  return n;
}

/// Entries of a local directory (temporary files included).
std::vector<std::string> entries_of(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : stdfs::directory_iterator(dir)) out.push_back(e.path().filename());
  return out;
}

class FirecrestFsTest : public ::testing::Test {
 protected:
  explicit FirecrestFsTest(std::vector<std::string> args = kArgs) : emu_(std::move(args)) {}
  void SetUp() override { fs_ = make(); }

  std::shared_ptr<FirecrestFileSystem> make(bool verify = false) {
    FirecrestFsOptions o;
    o.client = emu_.options();
    o.client.retry_backoff = std::chrono::milliseconds(20);
    o.base.io = o.client.io;
    o.verify_checksum = verify;
    return firecrest::make_filesystem(std::move(o));
  }
  std::string remote(const std::string& rel) { return "daint/home/fireuser/" + rel; }
  std::string on_disk(const std::string& rel) {
    return emu_.local("daint", "/home/fireuser/" + rel);
  }

  FirecrestEmulator emu_;
  std::shared_ptr<FirecrestFileSystem> fs_;
  TempDir tmp_;
};

TEST_F(FirecrestFsTest, RoundTripsAroundTheDirectLimitAreByteExact) {
  const std::vector<std::size_t> sizes = {0, 1, kMaxOps - 1, kMaxOps + 1, 64u << 20};
  for (std::size_t size : sizes) {
    SCOPED_TRACE("size " + std::to_string(size));
    const std::string data = random_bytes(size, static_cast<unsigned>(size));
    const std::string name = "rt-" + std::to_string(size);
    // pipe/cat through memory, put/get through local files.
    fs_->pipe_file(remote(name + ".pipe"), data);
    EXPECT_TRUE(read_local(on_disk(name + ".pipe")) == data);
    EXPECT_TRUE(fs_->cat_file(remote(name + ".pipe")) == data);
    const std::string src = tmp_.path() + "/" + name + ".src";
    write_local(src, data);
    fs_->put_file(src, remote(name + ".put"));
    EXPECT_TRUE(read_local(on_disk(name + ".put")) == data);
    const std::string dst = tmp_.path() + "/" + name + ".dst";
    fs_->get_file(remote(name + ".put"), dst);
    EXPECT_TRUE(read_local(dst) == data);
    EXPECT_EQ(fs_->info(remote(name + ".put")).size, size);
  }
  // Nothing but the results in the local directory: no temporary left behind.
  for (const auto& e : entries_of(tmp_.path())) EXPECT_FALSE(e.starts_with(".")) << e;
}

TEST_F(FirecrestFsTest, SmallFilesTakeOneRequestEach) {
  std::vector<std::string> paths;
  for (int i = 0; i < 50; ++i) {
    write_local(on_disk("small/f" + std::to_string(i)), "data " + std::to_string(i));
    paths.push_back(remote("small/f" + std::to_string(i)));
  }
  fs_->info(remote("small"));  // token and system list out of the way
  emu_.clear_log();
  CatResult r = fs_->cat(Paths(paths));
  ASSERT_EQ(r.items.size(), 50u);
  EXPECT_EQ(r.items.at(remote("small/f7")).value(), "data 7");
  const auto log = emu_.log();
  EXPECT_EQ(log.size(), 50u);
  EXPECT_EQ(count(log, "GET", "/filesystem/daint/ops/download"), 50u);
  // find: one recursive listing.
  emu_.clear_log();
  EXPECT_EQ(fs_->find(remote("small")).size(), 50u);
  EXPECT_EQ(emu_.log().size(), 1u);
}

TEST_F(FirecrestFsTest, RecursivePutAndGetOfAThousandFiles) {
  const std::string src = tmp_.path() + "/tree";
  for (int d = 0; d < 10; ++d) {
    for (int f = 0; f < 100; ++f) {
      write_local(src + "/d" + std::to_string(d) + "/f" + std::to_string(f),
                  random_bytes(100 + f, d * 100 + f));
    }
  }
  TransferOptions rec;
  rec.recursive = true;
  fs_->put(src, remote("tree"), rec);
  EXPECT_EQ(fs_->find(remote("tree")).size(), 1000u);
  EXPECT_EQ(read_local(on_disk("tree/d3/f42")), random_bytes(142, 342));
  const std::string back = tmp_.path() + "/back";
  fs_->get(remote("tree"), back, rec);
  std::size_t n = 0;
  for (const auto& e : stdfs::recursive_directory_iterator(back)) {
    if (!e.is_regular_file()) continue;
    ++n;
    const std::string rel = stdfs::relative(e.path(), back).string();
    EXPECT_EQ(read_local(e.path()), read_local(src + "/" + rel)) << rel;
  }
  EXPECT_EQ(n, 1000u);
  // The server removes the tree in one request.
  emu_.clear_log();
  RmOptions ro;
  ro.recursive = true;
  fs_->rm(remote("tree"), ro);
  EXPECT_FALSE(fs_->exists(remote("tree")));
  EXPECT_EQ(count(emu_.log(), "DELETE", "/filesystem/daint/ops/rm"), 1u);
}

TEST_F(FirecrestFsTest, RandomAccessReusesOneStagedCopy) {
  const std::string data = random_bytes(10 << 20, 7);
  write_local(on_disk("big.bin"), data);
  File f = fs_->open(remote("big.bin"), "rb", OpenOptions{.block_size = 1 << 20});
  f.seek(5 << 20);
  EXPECT_TRUE(f.read(100) == data.substr(5 << 20, 100));
  f.seek(123);
  EXPECT_TRUE(f.read(1000) == data.substr(123, 1000));
  EXPECT_TRUE(fs_->cat_file(remote("big.bin"), -50) == data.substr(data.size() - 50));
  EXPECT_TRUE(fs_->cat_file(remote("big.bin"), 1, 3) == data.substr(1, 2));
  f.close();
  const auto log = emu_.log();
  EXPECT_EQ(count(log, "POST", "/filesystem/daint/transfer/download"), 1u);
  EXPECT_GE(count(log, "GET", "/s3/"), 3u);
}

class FirecrestFsShortUrlTest : public FirecrestFsTest {
 protected:
  FirecrestFsShortUrlTest()
      : FirecrestFsTest({"--job-delay", "0.1", "--max-ops-file-size", std::to_string(kMaxOps),
                         "--s3-ttl", "2"}) {}
};

TEST_F(FirecrestFsShortUrlTest, AnExpiredPresignedUrlIsStagedAgain) {
  const std::string data = random_bytes(3 << 20, 9);
  write_local(on_disk("exp.bin"), data);
  EXPECT_TRUE(fs_->cat_file(remote("exp.bin"), 10, 20) == data.substr(10, 10));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_TRUE(fs_->cat_file(remote("exp.bin"), 1 << 20, (1 << 20) + 5) == data.substr(1 << 20, 5));
  EXPECT_EQ(count(emu_.log(), "POST", "/filesystem/daint/transfer/download"), 2u);
}

TEST_F(FirecrestFsTest, APartUploadThatFailsOnceIsRetried) {
  const std::string data = random_bytes(9 << 20, 11);  // three parts of 4 MiB
  emu_.control("/_emulator/faults", R"({"match": "/s3/", "method": "PUT", "status": 503})");
  fs_->pipe_file(remote("retried.bin"), data);
  EXPECT_TRUE(read_local(on_disk("retried.bin")) == data);
  std::size_t failed = 0;
  for (const auto& e : emu_.log()) failed += e.method == "PUT" && e.status == 503;
  EXPECT_EQ(failed, 1u);
}

TEST_F(FirecrestFsTest, ADroppedConnectionResumesItsRangeWhereTheFileStops) {
  // One staged range of 8 MiB, and every answer is reset after at most 3 MiB (the reset may
  // discard some of those in flight): only resuming from the first byte not yet on disk
  // completes the range; starting it over never does.
  const std::string data = random_bytes(8 << 20, 13);
  write_local(on_disk("cut.bin"), data);
  emu_.control("/_emulator/faults",
               R"({"match": "/s3/", "method": "GET", "truncate": 3145728, "count": 1000})");
  const std::string dst = tmp_.path() + "/cut.bin";
  fs_->get_file(remote("cut.bin"), dst);
  EXPECT_TRUE(read_local(dst) == data);
  const std::size_t gets = count(emu_.log(), "GET", "/s3/");
  EXPECT_GE(gets, 3u);
  EXPECT_LT(gets, 100u);                          // each attempt kept what it received
  EXPECT_EQ(entries_of(tmp_.path()).size(), 1u);  // no temporary file left beside it
}

TEST_F(FirecrestFsTest, AFailedTransferJobIsAnErrorWithItsLog) {
  const std::string src = tmp_.path() + "/up.bin";
  write_local(src, random_bytes(2 << 20, 3));
  emu_.control("/_emulator/faults", R"({"job_fail": true})");
  try {
    fs_->put_file(src, remote("up.bin"));
    ADD_FAILURE() << "a failed upload job reported success";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("firecrest://daint/home/fireuser/up.bin"),
              std::string::npos)
        << e.what();
  }
  write_local(on_disk("down.bin"), random_bytes(2 << 20, 4));
  emu_.control("/_emulator/faults", R"({"job_fail": true})");
  EXPECT_THROW(fs_->get_file(remote("down.bin"), tmp_.path() + "/down.bin"), Error);
  EXPECT_FALSE(stdfs::exists(tmp_.path() + "/down.bin"));
}

TEST_F(FirecrestFsTest, ServerKilledMidDownloadLeavesNoFile) {
  write_local(on_disk("slow.bin"), random_bytes(32 << 20, 5));
  // One connection, and every staged range (8 MiB) takes half a second: the kill lands
  // mid-transfer, after some ranges were written.
  FirecrestFsOptions o;
  o.client = emu_.options();
  o.client.retry_backoff = std::chrono::milliseconds(20);
  o.client.s3_connections = 1;
  o.base.io = o.client.io;
  auto fs = firecrest::make_filesystem(std::move(o));
  emu_.control("/_emulator/faults",
               R"({"match": "/s3/", "method": "GET", "delay": 0.5, "count": 100})");
  const std::string dst = tmp_.path() + "/out/slow.bin";
  std::thread killer([this] {
    for (int i = 0; i < 400; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (count(emu_.log(), "POST", "/filesystem/daint/transfer/download") > 0) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    emu_.kill();
  });
  try {
    fs->get_file(remote("slow.bin"), dst);
    ADD_FAILURE() << "the download succeeded although the server died";
  } catch (const Error& e) {
    EXPECT_TRUE(e.kind() == ErrorKind::kNetwork || e.kind() == ErrorKind::kTimeout) << e.what();
    EXPECT_NE(std::string(e.what()).find("slow.bin"), std::string::npos) << e.what();
  }
  killer.join();
  EXPECT_FALSE(stdfs::exists(dst));
  if (stdfs::exists(tmp_.path() + "/out")) {
    EXPECT_TRUE(entries_of(tmp_.path() + "/out").empty());
  }
}

class FirecrestFsSlowJobTest : public FirecrestFsTest {
 protected:
  FirecrestFsSlowJobTest()
      : FirecrestFsTest({"--job-delay", "3", "--max-ops-file-size", std::to_string(kMaxOps)}) {}
};

TEST_F(FirecrestFsSlowJobTest, AFileThatGrowsWhileStagedIsRefused) {
  write_local(on_disk("grow.bin"), random_bytes(2 << 20, 6));
  const std::string dst = tmp_.path() + "/grow.bin";
  std::thread writer([this] {
    for (int i = 0; i < 200; ++i) {
      if (count(emu_.log(), "POST", "/filesystem/daint/transfer/download") > 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::ofstream(on_disk("grow.bin"), std::ios::binary | std::ios::app) << "more bytes";
  });
  try {
    fs_->get_file(remote("grow.bin"), dst);
    ADD_FAILURE() << "a changed file was downloaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kProtocol) << e.what();
    EXPECT_NE(std::string(e.what()).find("changed"), std::string::npos) << e.what();
  }
  writer.join();
  EXPECT_FALSE(stdfs::exists(dst));
}

TEST_F(FirecrestFsTest, ChecksumsAreVerifiedWhenAsked) {
  auto fs = make(/*verify=*/true);
  const std::string src = tmp_.path() + "/c.bin";
  write_local(src, random_bytes(3000, 8));
  fs->put_file(src, remote("c.bin"));
  fs->get_file(remote("c.bin"), tmp_.path() + "/c2.bin");
  EXPECT_EQ(read_local(tmp_.path() + "/c2.bin"), read_local(src));
  EXPECT_EQ(fs->sha256(remote("c.bin")).size(), 64u);
}

TEST_F(FirecrestFsTest, BackendOperations) {
  fs_->pipe_file(remote("ops/a.txt"), "hello");
  EXPECT_EQ(fs_->chmod(remote("ops/a.txt"), "640").mode.value_or(0) & 0777, 0640u);
  FileInfo link = fs_->symlink(remote("ops/a.txt"), remote("ops/link"));
  EXPECT_EQ(link.link_target.value_or(""), "/home/fireuser/ops/a.txt");
  FileInfo via = fs_->info(remote("ops/link"));
  EXPECT_TRUE(via.is_file());
  EXPECT_EQ(via.size, 5u);
  EXPECT_EQ(fs_->cat_file(remote("ops/link")), "hello");
  fs_->mv(remote("ops/a.txt"), remote("ops/b.txt"));
  EXPECT_EQ(fs_->cat_file(remote("ops/b.txt")), "hello");
  fs_->copy(remote("ops/b.txt"), remote("ops/c.txt"));
  EXPECT_EQ(fs_->cat_file(remote("ops/c.txt")), "hello");
  // Between systems: through this machine.
  fs_->copy(remote("ops/c.txt"), "eiger/home/fireuser/c.txt");
  EXPECT_EQ(fs_->cat_file("eiger/home/fireuser/c.txt"), "hello");
  EXPECT_GT(fs_->modified(remote("ops/c.txt")), 1.6e9);
  EXPECT_FALSE(fs_->file_type(remote("ops")).empty());
  // A tree is copied and moved by one job each, with fsspec's destination rules.
  fs_->pipe_file(remote("tree/x/1.txt"), "1");
  fs_->pipe_file(remote("tree/x/2.txt"), "2");
  emu_.clear_log();
  TransferOptions rec;
  rec.recursive = true;
  fs_->copy(remote("tree"), remote("tree2"), rec);  // tree2 does not exist: a copy of tree
  fs_->copy(remote("tree"), remote("tree2"), rec);  // now it does: tree2/tree
  fs_->mv(remote("tree2"), remote("moved/deeper"), rec);
  EXPECT_EQ(fs_->cat_file(remote("moved/deeper/x/2.txt")), "2");
  EXPECT_EQ(fs_->cat_file(remote("moved/deeper/tree/x/1.txt")), "1");
  EXPECT_FALSE(fs_->exists(remote("tree2")));
  const auto log = emu_.log();
  EXPECT_EQ(count(log, "POST", "/filesystem/daint/transfer/cp"), 2u);
  EXPECT_EQ(count(log, "POST", "/filesystem/daint/transfer/mv"), 1u);
  // The server's rm is recursive: a non-recursive removal of a directory is refused here.
  EXPECT_KIND(kIsADirectory, fs_->rm_file(remote("ops")));
  EXPECT_KIND(kDirectoryNotEmpty, fs_->rmdir(remote("ops")));
  EXPECT_TRUE(fs_->exists(remote("ops/b.txt")));
}

TEST_F(FirecrestFsTest, BadInputIsAClearTypedError) {
  EXPECT_KIND(kInvalidArgument, fs_->info("firecrest:///home/fireuser/x"));
  EXPECT_KIND(kInvalidArgument, fs_->info(""));
  EXPECT_KIND(kInvalidArgument, fs_->info(remote("a'b")));
  EXPECT_KIND(kInvalidArgument, fs_->info(remote("a\nb")));
  EXPECT_KIND(kInvalidArgument, fs_->info(remote(std::string("a\0b", 3))));
  EXPECT_KIND(kInvalidArgument, fs_->info("bad$system/x"));
  try {
    fs_->info("nosuch/home/fireuser");
    ADD_FAILURE() << "an unknown system was accepted";
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("daint"), std::string::npos) << e.what();
  }
  // A destination that is a directory: remote (direct and staged) and local.
  fs_->makedirs(remote("adir"), true);
  const std::string small = tmp_.path() + "/small";
  const std::string large = tmp_.path() + "/large";
  write_local(small, "x");
  write_local(large, random_bytes(2 << 20, 1));
  EXPECT_KIND(kIsADirectory, fs_->put_file(small, remote("adir")));
  EXPECT_KIND(kIsADirectory, fs_->put_file(large, remote("adir")));
  EXPECT_KIND(kIsADirectory, fs_->pipe_file(remote("adir"), "x"));
  fs_->pipe_file(remote("f.txt"), "content");
  stdfs::create_directories(tmp_.path() + "/ldir");
  EXPECT_ANY_THROW(fs_->get_file(remote("f.txt"), tmp_.path() + "/ldir"));
  EXPECT_TRUE(stdfs::is_directory(tmp_.path() + "/ldir"));
  EXPECT_KIND(kAlreadyExists, fs_->open(remote("f.txt"), "xb"));
  // Through the registry and the environment, as the CLI does.
  EXPECT_KIND(kInvalidArgument, url_to_fs("firecrest://", Options{{"url", emu_.url()}}));
}

TEST_F(FirecrestFsTest, WriteModeFilesSpoolToDisk) {
  const std::string data = random_bytes(3 << 20, 12);
  {
    File f = fs_->open(remote("w.bin"), "wb");
    for (std::size_t at = 0; at < data.size(); at += 100000) f.write(data.substr(at, 100000));
    EXPECT_FALSE(stdfs::exists(on_disk("w.bin")));  // nothing under the name before close
    f.close();
  }
  EXPECT_TRUE(read_local(on_disk("w.bin")) == data);
  {
    File f = fs_->open(remote("w.bin"), "ab");
    f.write("tail");
    f.close();
  }
  EXPECT_TRUE(read_local(on_disk("w.bin")) == data + "tail");
}

}  // namespace
}  // namespace asyncfs::testing
