// Registry: protocols, clobber rules, the instance cache, URL splitting.

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "asyncfs/asyncfs.hpp"

namespace asyncfs {
namespace {

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Registry, BuiltinsAreRegistered) {
  auto protos = available_protocols();
  std::set<std::string> set(protos.begin(), protos.end());
  EXPECT_TRUE(set.count("memory"));
  EXPECT_TRUE(set.count("file"));
  EXPECT_TRUE(set.count("local"));
  EXPECT_EQ(filesystem("memory")->protocol(), "memory");
  EXPECT_EQ(filesystem("FILE")->protocol(), "file");
}

TEST(Registry, UnknownProtocolListsTheKnownOnes) {
  auto msg = message_of([] { filesystem("nosuchproto"); });
  EXPECT_NE(msg.find("nosuchproto"), std::string::npos) << msg;
  EXPECT_NE(msg.find("memory"), std::string::npos) << msg;
  EXPECT_NE(msg.find("file"), std::string::npos) << msg;
  EXPECT_THROW(filesystem("nosuchproto"), InvalidArgument);
}

TEST(Registry, InstancesAreCachedPerOptions) {
  auto a = filesystem("memory");
  auto b = filesystem("memory");
  EXPECT_EQ(a.get(), b.get());
  auto c = filesystem("memory", {{"batch_size", "5"}});
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(c.get(), filesystem("memory", {{"batch_size", "5"}}).get());
  auto d = filesystem("memory", {{"skip_instance_cache", "true"}});
  EXPECT_NE(a.get(), d.get());
  EXPECT_NE(d.get(), filesystem("memory", {{"skip_instance_cache", "true"}}).get());
  clear_instance_cache();
  EXPECT_NE(a.get(), filesystem("memory").get());
}

TEST(Registry, ConcurrentLookupsShareOneInstance) {
  clear_instance_cache();
  std::vector<std::thread> threads;
  std::vector<AsyncFileSystem*> seen(50);
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] { seen[i] = filesystem("memory", {{"batch_size", "77"}}).get(); });
  }
  for (auto& t : threads) t.join();
  for (auto* p : seen) EXPECT_EQ(p, seen[0]);
}

TEST(Registry, BadBaseOptionsAreErrors) {
  EXPECT_THROW(filesystem("memory", {{"batch_size", "zero"}}), InvalidArgument);
  EXPECT_THROW(filesystem("memory", {{"batch_size", "0"}}), InvalidArgument);
  EXPECT_THROW(filesystem("memory", {{"batch_size", "-2"}}), InvalidArgument);
  EXPECT_THROW(filesystem("memory", {{"no_such_option", "1"}}), InvalidArgument);
  EXPECT_THROW(filesystem("memory", {{"asynchronous", "maybe"}}), InvalidArgument);
}

TEST(Registry, ClobberRules) {
  int built = 0;
  Implementation impl{{"testproto-a", "testproto-b"},
                      [&built](const std::string&, Options opts, std::shared_ptr<IoThread> io) {
                        ++built;
                        return memory::make_filesystem(memory::MemoryOptions::from(opts, io));
                      },
                      "test.one"};
  register_implementation(impl);
  register_implementation(impl);  // the same implementation again: no-op
  Implementation other = impl;
  other.name = "test.two";
  other.protocols = {"testproto-b"};
  EXPECT_THROW(register_implementation(other), AlreadyExists);
  EXPECT_NO_THROW(register_implementation(other, /*clobber=*/true));
  (void)filesystem("testproto-a", {{"skip_instance_cache", "true"}});
  EXPECT_EQ(built, 1);
  Implementation empty{{}, nullptr, "test.empty"};
  EXPECT_THROW(register_implementation(empty), InvalidArgument);
}

TEST(Registry, SplitProtocol) {
  EXPECT_EQ(split_protocol("memory://a/b"),
            std::make_pair(std::string("memory"), std::string("memory://a/b")));
  EXPECT_EQ(split_protocol("HTTP://h/x").first, "http");
  EXPECT_EQ(split_protocol("/tmp/x").first, "");
  EXPECT_EQ(split_protocol("relative/x").first, "");
  for (const char* bad : {"://nohost", "1abc://x", "a b://x", "c://x", "x::memory://y"}) {
    EXPECT_THROW(split_protocol(bad), InvalidArgument) << bad;
  }
}

TEST(Registry, UrlToFs) {
  auto [fs, path] = url_to_fs("memory://dir/file.txt");
  EXPECT_EQ(fs->protocol(), "memory");
  EXPECT_EQ(path, "/dir/file.txt");
  auto [lfs, lpath] = url_to_fs("/tmp/some/where/");
  EXPECT_EQ(lfs->protocol(), "file");
  EXPECT_EQ(lpath, "/tmp/some/where");
  EXPECT_THROW(url_to_fs(""), InvalidArgument);
  EXPECT_THROW(url_to_fs("nosuch://x"), InvalidArgument);
  auto msg = message_of([] { url_to_fs(std::string("memory://bad\xff\xfename")); });
  EXPECT_NE(msg.find("\\xff"), std::string::npos) << msg;
}

TEST(Registry, OpenByUrl) {
  filesystem("memory")->pipe_file("/open-by-url.txt", "contents");
  File f = open("memory://open-by-url.txt");
  EXPECT_EQ(f.read(), "contents");
}

TEST(Registry, ConfigDefaultsApplyAndExplicitOptionsWin) {
  Config cfg;
  cfg.protocols["memory"].set("batch_size", "11");
  set_config(cfg);
  clear_instance_cache();
  EXPECT_EQ(filesystem("memory")->batch_size(), 11);
  EXPECT_EQ(filesystem("memory", {{"batch_size", "12"}})->batch_size(), 12);
  reload_config();
  clear_instance_cache();
}

TEST(Registry, AnOptionFromTheConfigIsReportedAgainstItsSource) {
  // The backend names only the key; a CLI user must learn which file or variable to fix.
  Config cfg;
  cfg.protocols["memory"].set("blok_size", "5");
  cfg.origins["memory"]["blok_size"] = "/etc/asyncfs/memory.json";
  set_config(cfg);
  clear_instance_cache();
  try {
    filesystem("memory");
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.path(), "/etc/asyncfs/memory.json");
    EXPECT_NE(e.message().find("'blok_size'"), std::string::npos) << e.message();
  }
  // The caller's own options are the caller's to fix: named by key as before.
  reload_config();
  clear_instance_cache();
  try {
    filesystem("memory", {{"blok_size", "5"}});
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.path(), "blok_size");
  }
  clear_instance_cache();
}

TEST(Registry, LoadConfigRecordsWhereEachOptionCameFrom) {
  const Config cfg = load_config("", {{"ASYNCFS_HTTP_BLOCK_SIZE", "7"}});
  EXPECT_EQ(cfg.origins.at("http").at("block_size"), "ASYNCFS_HTTP_BLOCK_SIZE");
}

TEST(Errors, TheHttpBodyStaysOutOfWhat) {
  ErrorDetails d;
  d.http_status = 404;
  d.body = "<html>gone</html>";
  NotFound e("http://h/x", "GET failed: not found", d);
  EXPECT_STREQ(e.what(), "http://h/x: GET failed: not found (HTTP 404)");
  EXPECT_EQ(e.body(), "<html>gone</html>");
  EXPECT_EQ(http_reason(404), "Not Found");
  EXPECT_EQ(http_reason(503), "Service Unavailable");
  EXPECT_EQ(http_reason(299), "");
}

TEST(Errors, KindsPathsAndMessages) {
  NotFound nf("memory://x", "no such file");
  EXPECT_EQ(nf.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(nf.path(), "memory://x");
  EXPECT_STREQ(nf.what(), "memory://x: no such file");
  Error with_status(ErrorKind::kProtocol, "http://h/x", "bad reply", {502, "upstream"});
  EXPECT_STREQ(with_status.what(), "http://h/x: bad reply (HTTP 502): upstream");
  EXPECT_EQ(with_status.http_status(), 502);
  try {
    throw_error(ErrorKind::kTimeout, "p", "slow");
  } catch (const Timeout& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kTimeout);
  }
  try {
    throw_uv_error(-2 /* UV_ENOENT */, "/nope", "open");
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("/nope: open failed"), std::string::npos) << e.what();
  }
  EXPECT_EQ(kind_name(ErrorKind::kRateLimited), "rate limited");
}

}  // namespace
}  // namespace asyncfs
