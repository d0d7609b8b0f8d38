// memory:// specifics the conformance suite does not see: path normalization, the store layout
// (listing siblings that share a prefix, subtree renames), copy sharing, the process-wide store
// and concurrent use from many threads and IoThreads.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "asyncfs/asyncfs.hpp"
#include "support/co_test.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs {
namespace {

std::shared_ptr<AsyncFileSystem> fresh() { return memory::make_filesystem({}); }

std::vector<std::string> names(const std::vector<FileInfo>& infos) {
  std::vector<std::string> out;
  for (const auto& i : infos) out.push_back(i.name);
  return out;
}

TEST(MemoryFs, StripProtocolNormalizes) {
  auto fs = fresh();
  EXPECT_EQ(fs->strip_protocol("memory://a/b"), "/a/b");
  EXPECT_EQ(fs->strip_protocol("a/b"), "/a/b");
  EXPECT_EQ(fs->strip_protocol("/a/b/"), "/a/b");
  EXPECT_EQ(fs->strip_protocol("memory:///a//b///"), "/a/b");
  EXPECT_EQ(fs->strip_protocol("memory://"), "/");
  EXPECT_EQ(fs->strip_protocol("/"), "/");
  EXPECT_EQ(fs->root_marker(), "/");
  EXPECT_EQ(fs->unstrip_protocol("/a"), "memory:///a");
  EXPECT_THROW(fs->strip_protocol(""), InvalidArgument);
  EXPECT_THROW(fs->strip_protocol("http://a/b"), InvalidArgument);
  EXPECT_THROW(fs->strip_protocol("/bad\xff"), InvalidArgument);
  EXPECT_THROW(fs->strip_protocol(std::string("/nul\0x", 6)), InvalidArgument);
}

TEST(MemoryFs, CatFileUsesPythonSliceSemantics) {
  auto fs = fresh();
  fs->pipe_file("/f", "0123456789");
  EXPECT_EQ(fs->cat_file("/f"), "0123456789");
  EXPECT_EQ(fs->cat_file("/f", 2, 5), "234");
  EXPECT_EQ(fs->cat_file("/f", -3), "789");
  EXPECT_EQ(fs->cat_file("/f", {}, -7), "012");
  EXPECT_EQ(fs->cat_file("/f", -100, 2), "01");
  EXPECT_EQ(fs->cat_file("/f", 5, 100), "56789");
  EXPECT_EQ(fs->cat_file("/f", 20), "");
  EXPECT_EQ(fs->cat_file("/f", 6, 3), "");
  EXPECT_THROW(fs->cat_file("/missing"), NotFound);
  fs->mkdir("/d");
  EXPECT_THROW(fs->cat_file("/d"), IsADirectory);
}

TEST(MemoryFs, WritesCreateParentsAndKeepThem) {
  auto fs = fresh();
  fs->pipe_file("memory://x/y/z.txt", "data");
  EXPECT_TRUE(fs->info("/x").is_dir());
  EXPECT_TRUE(fs->info("/x/y").is_dir());
  fs->rm_file("/x/y/z.txt");
  // Directories are real: removing the last file keeps them (like a disk).
  EXPECT_TRUE(fs->isdir("/x/y"));
  EXPECT_TRUE(fs->ls("/x/y").empty());
}

TEST(MemoryFs, WriteErrors) {
  auto fs = fresh();
  fs->pipe_file("/f", "1");
  EXPECT_THROW(fs->pipe_file("/f", "2", WriteMode::kCreate), AlreadyExists);
  EXPECT_EQ(fs->cat_file("/f"), "1");
  EXPECT_THROW(fs->pipe_file("/f/below", "x"), NotADirectory);
  fs->mkdir("/d");
  EXPECT_THROW(fs->pipe_file("/d", "x"), IsADirectory);
  EXPECT_THROW(fs->pipe_file("/d", "x", WriteMode::kCreate), AlreadyExists);
  EXPECT_THROW(fs->pipe_file("/", "x"), IsADirectory);
  EXPECT_THROW(fs->rm_file("/d"), IsADirectory);
  EXPECT_THROW(fs->rm_file("/nope"), NotFound);
  // A failed write below a file creates no parent directories on the way.
  EXPECT_THROW(fs->pipe_file("/f/a/b", "x"), NotADirectory);
  EXPECT_FALSE(fs->exists("/f/a"));
}

TEST(MemoryFs, MkdirAndRmdirErrors) {
  auto fs = fresh();
  fs->mkdir("/a/b/c");  // create_parents defaults to true
  EXPECT_THROW(fs->mkdir("/a/b/c"), AlreadyExists);
  EXPECT_THROW(fs->mkdir("/"), AlreadyExists);
  EXPECT_THROW(fs->mkdir("/p/q", /*create_parents=*/false), NotFound);
  fs->pipe_file("/file", "x");
  EXPECT_THROW(fs->mkdir("/file/sub"), NotADirectory);
  EXPECT_THROW(fs->mkdir("/file"), AlreadyExists);
  EXPECT_THROW(fs->makedirs("/file", /*exist_ok=*/true), AlreadyExists);
  fs->makedirs("/a/b", /*exist_ok=*/true);
  EXPECT_THROW(fs->makedirs("/a/b", /*exist_ok=*/false), AlreadyExists);

  try {
    fs->rmdir("/a/b");
    ADD_FAILURE() << "rmdir of a non-empty directory succeeded";
  } catch (const Error& e) {
    // Same kind as the local backend's ENOTEMPTY.
    EXPECT_EQ(e.kind(), ErrorKind::kDirectoryNotEmpty) << e.what();
    EXPECT_NE(std::string(e.what()).find("/a/b"), std::string::npos) << e.what();
  }
  EXPECT_THROW(fs->rmdir("/file"), NotADirectory);
  EXPECT_THROW(fs->rmdir("/nope"), NotFound);
  EXPECT_THROW(fs->rmdir("/"), InvalidArgument);
  fs->rmdir("/a/b/c");
  EXPECT_FALSE(fs->exists("/a/b/c"));
}

TEST(MemoryFs, LsListsDirectChildrenOnlyWithPrefixSiblings) {
  auto fs = fresh();
  // "-" sorts before "/": the subtree of /a/b is not contiguous with its siblings' names.
  fs->pipe_file("/a/b/deep/x", "1");
  fs->pipe_file("/a/b-c", "22");
  fs->pipe_file("/a/b.d/y", "333");
  fs->pipe_file("/a/c", "4444");
  fs->pipe_file("/ab", "5");
  EXPECT_EQ(names(fs->ls("/a")), (std::vector<std::string>{"/a/b", "/a/b-c", "/a/b.d", "/a/c"}));
  EXPECT_EQ(names(fs->ls("/")), (std::vector<std::string>{"/a", "/ab"}));
  auto one = fs->ls("/a/c");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].name, "/a/c");
  EXPECT_EQ(one[0].size, 4u);
  EXPECT_TRUE(one[0].mtime.has_value());
  EXPECT_THROW(fs->ls("/zzz"), NotFound);
  const auto root = fs->info("memory://");
  EXPECT_EQ(root.name, "/");
  EXPECT_TRUE(root.is_dir());
}

TEST(MemoryFs, CopiesShareDataButNotIdentity) {
  auto fs = fresh();
  fs->pipe_file("/src", "original");
  fs->cp_file("/src", "/copy/dst");
  fs->pipe_file("/src", "changed");
  EXPECT_EQ(fs->cat_file("/copy/dst"), "original");
  fs->mkdir("/dir");
  EXPECT_THROW(fs->cp_file("/src", "/dir"), IsADirectory);
  fs->cp_file("/dir", "/dir2");  // a directory source makes the directory
  EXPECT_TRUE(fs->isdir("/dir2"));
  EXPECT_THROW(fs->cp_file("/none", "/x"), NotFound);
}

TEST(MemoryFs, MvFileRenamesWholeSubtrees) {
  auto fs = fresh();
  fs->pipe_file("/d/a", "A");
  fs->pipe_file("/d/sub/b", "B");
  fs->pipe_file("/d-sibling", "S");
  const double mtime = fs->modified("/d/sub/b");
  fs->run_sync(fs->_mv_file("/d", "/e/f"));
  EXPECT_FALSE(fs->exists("/d"));
  EXPECT_EQ(fs->cat_file("/e/f/a"), "A");
  EXPECT_EQ(fs->cat_file("/e/f/sub/b"), "B");
  EXPECT_EQ(fs->modified("/e/f/sub/b"), mtime);  // a rename keeps the mtime
  EXPECT_EQ(fs->cat_file("/d-sibling"), "S");

  EXPECT_THROW(fs->run_sync(fs->_mv_file("/e", "/e/f/inside")), InvalidArgument);
  fs->pipe_file("/full/x", "x");
  EXPECT_THROW(fs->run_sync(fs->_mv_file("/e/f", "/full")), Error);
  EXPECT_THROW(fs->run_sync(fs->_mv_file("/d-sibling", "/full")), IsADirectory);
  EXPECT_THROW(fs->run_sync(fs->_mv_file("/e/f", "/d-sibling")), NotADirectory);
  fs->mkdir("/empty");
  fs->run_sync(fs->_mv_file("/e/f", "/empty"));  // onto an empty directory: replaces it
  EXPECT_EQ(fs->cat_file("/empty/sub/b"), "B");
  fs->run_sync(fs->_mv_file("/d-sibling", "/full/x"));  // file onto file: replaces it
  EXPECT_EQ(fs->cat_file("/full/x"), "S");
  EXPECT_THROW(fs->run_sync(fs->_mv_file("/gone", "/x")), NotFound);
}

TEST(MemoryFs, ModifiedAndInfo) {
  auto fs = fresh();
  fs->pipe_file("/f", "abc");
  const auto info = fs->info("/f");
  EXPECT_EQ(info.size, 3u);
  EXPECT_EQ(info.type, FileType::kFile);
  ASSERT_TRUE(info.mtime.has_value());
  EXPECT_EQ(fs->modified("/f"), *info.mtime);
  EXPECT_GT(*info.mtime, 1.6e9);
  EXPECT_THROW(fs->modified("/nope"), NotFound);
  EXPECT_TRUE(fs->capabilities().modified_time);
  EXPECT_TRUE(fs->capabilities().real_directories);
}

TEST(MemoryFs, RegistryInstancesShareTheProcessWideStore) {
  auto a = memory::make_filesystem(memory::MemoryOptions::from({}, nullptr));
  auto other_io = std::make_shared<IoThread>("unit-mem-io");
  auto b = memory::make_filesystem(memory::MemoryOptions::from({}, other_io));
  a->pipe_file("/unit-shared/k", "v");
  EXPECT_EQ(b->cat_file("/unit-shared/k"), "v");
  auto via_registry = filesystem("memory", {{"skip_instance_cache", "true"}});
  EXPECT_EQ(via_registry->cat_file("/unit-shared/k"), "v");
  // A directly made instance without shared_store is private.
  EXPECT_FALSE(fresh()->exists("/unit-shared/k"));
  a->rm("/unit-shared", {.recursive = true});
  EXPECT_FALSE(b->exists("/unit-shared"));
  b.reset();
  other_io->shutdown();
}

TEST(MemoryFs, ClearSharedStore) {
  auto a = memory::make_filesystem(memory::MemoryOptions::from({}, nullptr));
  a->pipe_file("/unit-clear/x", "1");
  memory::clear_shared_store();
  EXPECT_FALSE(a->exists("/unit-clear/x"));
}

TEST(MemoryFs, OptionsAreValidated) {
  EXPECT_THROW(memory::MemoryOptions::from({{"block_size", "1"}}, nullptr), InvalidArgument);
  auto opts = memory::MemoryOptions::from({{"batch_size", "3"}}, nullptr);
  EXPECT_EQ(opts.base.batch_size, 3);
  EXPECT_TRUE(opts.shared_store);
}

TEST(MemoryFs, SixteenThreadsWriteConcurrently) {
  auto fs = fresh();
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const std::string dir = "/c/t" + std::to_string(t);
        const std::string data(static_cast<std::size_t>(i), static_cast<char>('a' + t));
        fs->pipe_file(dir + "/f" + std::to_string(i), data);
        // Everyone also rewrites one shared file: last writer wins, never a torn value.
        fs->pipe_file("/c/shared", data);
        const auto got = fs->cat_file("/c/shared");
        if (!got.empty() && got != std::string(got.size(), got[0])) bad.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(fs->ls("/c").size(), 17u);
  for (int t = 0; t < 16; ++t) {
    EXPECT_EQ(fs->ls("/c/t" + std::to_string(t)).size(), 100u);
  }
}

TEST(MemoryFs, SharedStoreAcrossFourIoThreadsFromSixteenThreads) {
  std::vector<std::shared_ptr<IoThread>> ios;
  std::vector<std::shared_ptr<AsyncFileSystem>> fss;
  for (int i = 0; i < 4; ++i) {
    ios.push_back(std::make_shared<IoThread>("unit-mem-" + std::to_string(i)));
    memory::MemoryOptions opts;
    opts.base.io = ios.back();
    opts.shared_store = true;
    fss.push_back(memory::make_filesystem(std::move(opts)));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      auto& fs = *fss[static_cast<std::size_t>(t % 4)];
      for (int i = 0; i < 50; ++i) {
        fs.pipe_file("/unit-multi/t" + std::to_string(t) + "/f" + std::to_string(i), "x");
        fs.ls("/unit-multi");
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(fss[0]->find("/unit-multi").size(), 16u * 50u);
  fss[1]->rm("/unit-multi", {.recursive = true});
  fss.clear();
  for (auto& io : ios) io->shutdown();
}

TEST(MemoryFs, GetAndPutGoThroughLocalDisk) {
  testing::TempDir tmp("unit-mem");
  auto fs = fresh();
  fs->pipe_file("/data/blob", std::string(100000, 'z'));
  fs->get_file("/data/blob", tmp / "blob");
  EXPECT_EQ(testing::read_local_file(tmp / "blob"), std::string(100000, 'z'));
  testing::write_local_file(tmp / "up", "uploaded");
  fs->put_file(tmp / "up", "/data/up");
  EXPECT_EQ(fs->cat_file("/data/up"), "uploaded");
  EXPECT_THROW(fs->get_file("/data/none", tmp / "none"), NotFound);
  EXPECT_FALSE(testing::local_exists(tmp / "none"));
}

TEST(MemoryFs, OpenReadAndWrite) {
  auto fs = fresh();
  {
    File f = fs->open("/o/file", "wb");
    f.write("hello ");
    f.write("world");
    f.close();
  }
  EXPECT_EQ(fs->cat_file("/o/file"), "hello world");
  File r = fs->open("/o/file", "rb");
  r.seek(6);
  EXPECT_EQ(r.read(), "world");
  r.close();
}

TEST(MemoryFs, OwnerOfItsIoThreadCanBeDroppedRightAfterABlockingCall) {
  // The filesystem is the IoThread's last owner. Its final reference must never drop on the
  // loop thread (an IoThread cannot join itself: that was std::terminate), whichever thread
  // finishes the call last.
  for (int i = 0; i < 200; ++i) {
    auto io = std::make_shared<IoThread>("unit-mem-own");
    auto fs = memory::make_filesystem(memory::MemoryOptions::from({}, std::move(io)));
    fs->pipe_file("/unit-own/k", "v");
    EXPECT_EQ(fs->cat_file("/unit-own/k"), "v");
    fs.reset();
  }
  // A temporary owner, dropped at the end of the full expression.
  EXPECT_FALSE(memory::make_filesystem(
                   memory::MemoryOptions::from({}, std::make_shared<IoThread>("unit-mem-temp")))
                   ->exists("/unit-own/none"));
}

}  // namespace
}  // namespace asyncfs
