// The http(s) filesystem against a real nginx (autoindex + WebDAV) and the fault server.
//
// Counterparts of fsspec's test_http.py (reference/fsspec.md §5.1), in our own words:
//   test_list, test_glob_return_subfolders, test_ls        -> Listing.*, Glob.*
//   test_list_invalid_args                                  -> Options.UnknownKeyRejected (at
//                                                              construction, not request time)
//   test_list_cache*, test_list_cache_reuse, max_paths      -> not applicable: no listings
//                                                              cache yet (use_listings_cache)
//   test_ls_raises_filenotfound, test_exists, test_exists_strict -> Errors.*, Exists.*
//   test_isdir                                              -> Isdir.*
//   test_policy_arg, test_encoded, test_docstring           -> not applicable (no size_policy,
//                                                              URLs are sent as given, C++)
//   test_read, test_random_access, test_no_range_support, test_stream_seek,
//   test_content_length_zero, test_content_encoding_gzip    -> Open.*, Read.*
//   test_file_pickle, test_processes                        -> not applicable (no pickling;
//                                                              fork safety is a runtime test)
//   test_methods, test_mcat, test_mcat_expand, test_cat_file_range(_numpy) -> Read.*
//   test_mcat_cache, test_with_cache                        -> not yet: caches come later
//   test_info                                               -> Info.*
//   test_download, test_multi_download                      -> Transfer.Get*
//   test_put_file, test_pipe_file                           -> Transfer.Put*, Write.*
//   test_async_other_thread, test_async_this_thread, test_async_file -> Async.*
//   test_close                                              -> not applicable (engine owned by
//                                                              the IoThread)
//   test_async_expand_path, test_async_walk                 -> Walk.*
//   test_protocol_independent_of_first_used_protocol        -> Registry.*

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "asyncfs/asyncfs.hpp"
#include "asyncfs/backends/http.hpp"
#include "support/co_test.hpp"
#include "support/expect_kind.hpp"
#include "support/fault_server.hpp"
#include "support/http_transport.hpp"
#include "support/nginx_server.hpp"
#include "support/patterns.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs {
namespace {

using testing::FaultServer;
using testing::NginxServer;
namespace stdfs = std::filesystem;
using namespace std::chrono_literals;

std::string data_14999() {
  std::string out;
  for (int i = 0; i < 1000; ++i) {
    if (i) out += '\n';
    out += "some test data";
  }
  return out;
}

using asyncfs::testing::pattern;

std::shared_ptr<AsyncFileSystem> make_fs(Options extra = {}) {
  Options opts{{"retry_backoff", "0.01"},
               {"retry_max_wait", "2"},
               {"transport", asyncfs::testing::test_http_transport()}};
  opts = extra.merged_over(opts);
  return http::make_filesystem(http::HttpOptions::from(std::move(opts), nullptr));
}

template <class V>
std::vector<std::string> keys_of(const std::map<std::string, V>& m) {
  std::vector<std::string> out;
  for (const auto& kv : m) out.push_back(kv.first);
  return out;
}

std::string read_local(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---------------------------------------------------------------------------------------------

TEST(HttpPaths, StripProtocolValidates) {
  auto fs = make_fs();
  EXPECT_EQ(fs->strip_protocol("http://h/a/b/"), "http://h/a/b/");
  EXPECT_EQ(fs->unstrip_protocol("https://h/x?y=1"), "https://h/x?y=1");
  EXPECT_EQ(fs->protocol(), "http");
  EXPECT_KIND(kInvalidArgument, fs->strip_protocol("ftp://h/x"));
  EXPECT_KIND(kInvalidArgument, fs->strip_protocol("http:///nohost"));
  EXPECT_KIND(kInvalidArgument, fs->strip_protocol("/local/path"));
  EXPECT_KIND(kInvalidArgument, fs->strip_protocol("http://h/a b"));
  EXPECT_KIND(kInvalidArgument, fs->strip_protocol(std::string("http://h/\xff")));
}

TEST(Options, UnknownKeyRejectedAndValuesParsed) {
  Options bad{{"no_such_option", "1"}};
  EXPECT_KIND(kInvalidArgument, http::HttpOptions::from(bad, nullptr));
  Options hdr{{"headers", "{\"X-A\": \"1\"}"}, {"method", "post"}, {"retries", "0"}};
  auto o = http::HttpOptions::from(hdr, nullptr);
  EXPECT_EQ(o.headers.at("X-A"), "1");
  EXPECT_EQ(o.method, "POST");
  EXPECT_EQ(o.retries, 0);
  Options badjson{{"headers", "[1]"}};
  EXPECT_KIND(kInvalidArgument, http::HttpOptions::from(badjson, nullptr));
  Options badmethod{{"method", "patch"}};
  EXPECT_KIND(kInvalidArgument, http::HttpOptions::from(badmethod, nullptr));
}

TEST(Registry, HttpAndHttpsAreOneImplementation) {
  Options o{{"skip_instance_cache", "true"}};
  auto a = filesystem("https", o);
  auto b = filesystem("http", o);
  EXPECT_EQ(a->protocol(), "http");
  EXPECT_EQ(b->protocol(), "http");
  auto [fs, path] = url_to_fs("http://127.0.0.1:1/x/y");
  EXPECT_EQ(path, "http://127.0.0.1:1/x/y");
}

// --- info ------------------------------------------------------------------------------------

TEST(Info, NginxFile) {
  auto& nginx = NginxServer::shared();
  nginx.write("info/a.txt", "hello world");
  auto fs = make_fs();
  FileInfo info = fs->info(nginx.url("info/a.txt"));
  EXPECT_EQ(info.name, nginx.url("info/a.txt"));
  EXPECT_EQ(info.size, 11u);
  EXPECT_TRUE(info.is_file());
  EXPECT_TRUE(info.etag.has_value());
  EXPECT_EQ(info.extra.at("mimetype"), "text/plain");
  EXPECT_KIND(kNotFound, fs->info(nginx.url("info/missing.txt")));
  // A directory URL (nginx redirects "info" to "info/").
  EXPECT_TRUE(fs->info(nginx.url("info/")).is_dir());
  EXPECT_TRUE(fs->info(nginx.url("info")).is_dir());
}

TEST(Info, FaultServerCases) {
  auto& f = FaultServer::shared();
  auto fs = make_fs();
  // ETag, mimetype, final URL after a redirect.
  FileInfo e = fs->info(f.url("file/x?size=100&etag=abc&content_type=text/csv"));
  EXPECT_EQ(e.size, 100u);
  EXPECT_TRUE(e.etag && e.etag->find("abc") != std::string::npos);
  EXPECT_EQ(e.extra.at("mimetype"), "text/csv");
  FileInfo r = fs->info(f.url("redirect/302/file/target?size=7"));
  EXPECT_EQ(r.size, 7u);
  EXPECT_NE(r.extra.at("url").find("/file/target"), std::string::npos);
  // HEAD refused: ranged GET fallback gives the size.
  EXPECT_EQ(fs->info(f.url("nohead/x?size=1234")).size, 1234u);
  EXPECT_EQ(fs->info(f.url("nohead/x?size=1234&code=403")).size, 1234u);
  EXPECT_EQ(fs->info(f.url("nohead/x?size=1234&code=501")).size, 1234u);
  // HEAD refused and Range ignored: the probe's full body gives it.
  EXPECT_EQ(fs->info(f.url("nohead/x?size=500&ranges=0")).size, 500u);
  // gzip: Content-Length is the compressed size, so the size stays unknown.
  EXPECT_FALSE(fs->info(f.url("gzip?size=1000")).size.has_value());
  // A huge Content-Length is reported as such (never read).
  EXPECT_EQ(fs->info(f.url("huge-length")).size, 1'000'000'000'000'000ull);
  // Errors are typed: 404 is NotFound, 5xx never is.
  Options no_retry{{"retries", "0"}};
  auto fs0 = make_fs(no_retry);
  EXPECT_KIND(kNotFound, fs0->info(f.url("status/404")));
  EXPECT_KIND(kNotFound, fs0->info(f.url("status/410")));
  EXPECT_KIND(kPermissionDenied, fs0->info(f.url("status/401")));
  EXPECT_KIND(kNetwork, fs0->info(f.url("status/503")));
  EXPECT_KIND(kProtocol, fs0->info(f.url("status/500")));
  EXPECT_KIND(kRateLimited, fs0->info(f.url("status/429")));
  try {
    fs0->info(f.url("status/503"));
  } catch (const Error& err) {
    EXPECT_EQ(err.http_status(), 503);
    EXPECT_NE(std::string(err.what()).find("status/503"), std::string::npos);
  }
}

// --- exists / isdir --------------------------------------------------------------------------

TEST(Exists, OnlyNotFoundIsFalse) {
  auto& f = FaultServer::shared();
  Options no_retry{{"retries", "0"}};
  auto fs = make_fs(no_retry);
  EXPECT_TRUE(fs->exists(f.url("index/realfile")));  // HEAD refused there: GET fallback
  EXPECT_TRUE(fs->exists(f.url("file/a?size=3")));
  EXPECT_FALSE(fs->exists(f.url("status/404")));
  EXPECT_KIND(kPermissionDenied, fs->exists(f.url("unauthorized")));
  EXPECT_KIND(kNetwork, fs->exists(f.url("status/503")));
  EXPECT_KIND(kNotFound, fs->cat_file(f.url("status/404")));
}

TEST(HttpErrors, TheBodyIsKeptOutOfTheMessage) {
  // An error page made every log line carry ~250 characters of escaped HTML.
  auto& f = FaultServer::shared();
  auto fs = make_fs(Options{{"retries", "0"}});
  for (const char* route : {"status/404", "status/403"}) {
    try {
      fs->cat_file(f.url(route));
      ADD_FAILURE() << "no error for " << route;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find("status 4"), std::string::npos) << e.what();
      EXPECT_NE(e.body().find("status 4"), std::string::npos) << e.body();
      EXPECT_EQ(http_reason(e.http_status()), e.http_status() == 404 ? "Not Found" : "Forbidden");
    }
  }
  testing::TempDir dir;
  try {
    fs->get_file(f.url("status/404"), dir / "x");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("status 404"), std::string::npos) << e.what();
    EXPECT_NE(e.body().find("status 404"), std::string::npos) << e.body();
  }
}

TEST(Isdir, ListingsAreDirsFilesAreNot) {
  auto& f = FaultServer::shared();
  auto fs = make_fs();
  EXPECT_TRUE(fs->isdir(f.url("simple/")));
  EXPECT_TRUE(fs->isdir(f.url("nginx/")));
  EXPECT_FALSE(fs->isdir(f.url("simple/file")));
  EXPECT_FALSE(fs->isdir(f.url("html/page.html")));
  EXPECT_FALSE(fs->isdir(f.url("status/404")));
  // fsspec's "/index" (no slash, text/html only with give_mimetype) lists realfile.
  Options with_mime{{"headers", "{\"give_mimetype\": \"1\"}"}};
  EXPECT_TRUE(make_fs(with_mime)->isdir(f.url("index")));
  EXPECT_TRUE(fs->isdir(f.url("index")));
  // A malformed URL is an argument error, not "false" (fsspec returns False).
  EXPECT_KIND(kInvalidArgument, fs->isdir("http://"));
}

// --- listings --------------------------------------------------------------------------------

std::vector<std::string> names(const std::vector<FileInfo>& v) {
  std::vector<std::string> out;
  for (const auto& i : v) out.push_back(i.name);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Listing, NginxAutoindex) {
  auto& nginx = NginxServer::shared();
  nginx.write("ls/a.txt", "a");
  nginx.write("ls/b c.txt", "bc");
  nginx.write("ls/sub/x.txt", "x");
  auto fs = make_fs();
  const auto base = nginx.url("ls/");
  auto entries = fs->ls(base);
  EXPECT_EQ(names(entries),
            (std::vector<std::string>{base + "a.txt", base + "b%20c.txt", base + "sub/"}));
  for (const auto& e : entries) {
    EXPECT_FALSE(e.size.has_value());
    EXPECT_EQ(e.is_dir(), e.name.ends_with('/'));
  }
  // Without the trailing slash nginx redirects: same children.
  EXPECT_EQ(names(fs->ls(nginx.url("ls"))), names(entries));
  EXPECT_KIND(kNotFound, fs->ls(nginx.url("ls/nope/")));
  // A file lists itself.
  auto self = fs->ls(base + "a.txt");
  ASSERT_EQ(self.size(), 1u);
  EXPECT_EQ(self[0].name, base + "a.txt");
  EXPECT_TRUE(self[0].is_file());
}

TEST(Listing, FaultServerIndexes) {
  auto& f = FaultServer::shared();
  auto fs = make_fs();
  const std::string t = f.url("tricky/");
  std::vector<std::string> want;
  for (const char* c :
       {"abs.txt", "dir1/", "dir2/", "full.txt", "quoted.txt", "upper.txt", "with%20space.txt"}) {
    want.push_back(t + c);
  }
  EXPECT_EQ(names(fs->ls(t)), want);
  // Without a Content-Type the page is still parsed (plain indexes often omit it).
  std::vector<std::string> untyped;
  for (auto& e : fs->ls(f.url("tricky/?no_type=1"))) untyped.push_back(e.name);
  std::sort(untyped.begin(), untyped.end());
  EXPECT_EQ(untyped, want);
  const std::string a = f.url("apache/");
  EXPECT_EQ(names(fs->ls(a)),
            (std::vector<std::string>{a + "file1.txt", a + "file2.bin", a + "subdir/"}));
  const std::string n = f.url("nginx/");
  EXPECT_EQ(names(fs->ls(n)),
            (std::vector<std::string>{n + "a%20b.txt", n + "file1.txt", n + "subdir/"}));
  // fsspec's IIS listing: 11 files, absolute hrefs, URL without a trailing slash.
  auto iis = fs->ls(f.url("data/20020401"));
  EXPECT_EQ(iis.size(), 11u);
  for (const auto& e : iis) EXPECT_TRUE(e.is_file()) << e.name;
  // An article page is not an index: no trailing slash, no child links -> lists itself.
  auto page = fs->ls(f.url("html/page.html"));
  for (const auto& e : page) EXPECT_FALSE(e.is_dir());
}

TEST(Glob, QuestionMarkIsLiteralAndDirsKeepSlash) {
  auto& f = FaultServer::shared();
  auto fs = make_fs();
  auto sub = fs->glob(f.url("simple/*"));
  EXPECT_EQ(keys_of(sub), (std::vector<std::string>{f.url("simple/dir/"), f.url("simple/file")}));
  auto nc = fs->glob(f.url("data/20020401/*.nc4"));
  EXPECT_EQ(nc.size(), 1u);
  // "?" starts a query: no wildcard, one literal lookup.
  auto q = fs->glob(f.url("file/q?size=5"));
  EXPECT_EQ(q.size(), 1u);
  auto idx = fs->glob(f.url("index/*"));
  EXPECT_EQ(keys_of(idx), (std::vector<std::string>{f.url("index/realfile")}));
}

// --- reads -----------------------------------------------------------------------------------

TEST(Read, CatFileRangesArePythonSlices) {
  auto& f = FaultServer::shared();
  auto fs = make_fs();
  const std::string data = data_14999();
  const std::string url = f.url("file/d?size=14999");
  const std::string pat = pattern(14999);
  EXPECT_EQ(fs->cat_file(url), pat);
  struct Case {
    std::optional<std::int64_t> s, e;
  };
  for (const Case& c : std::vector<Case>{{1, 10},
                                         {1, std::nullopt},
                                         {std::nullopt, 10},
                                         {-10, std::nullopt},
                                         {-10, -2},
                                         {std::nullopt, -10},
                                         {-20000, 5},
                                         {10, 5},
                                         {14990, 20000},
                                         {20000, std::nullopt},
                                         {20000, 30000}}) {
    const auto n = static_cast<std::int64_t>(pat.size());
    auto norm = [n](std::int64_t v) { return std::clamp<std::int64_t>(v < 0 ? v + n : v, 0, n); };
    const std::int64_t s = c.s ? norm(*c.s) : 0;
    const std::int64_t e = c.e ? norm(*c.e) : n;
    const std::string want = e > s ? pat.substr(s, e - s) : "";
    EXPECT_EQ(fs->cat_file(url, c.s, c.e), want)
        << (c.s ? *c.s : 999999) << ":" << (c.e ? *c.e : 999999);
  }
  // Many at once through the base window.
  auto many =
      fs->cat(Paths(std::vector<std::string>{f.url("index/realfile"), f.url("index/otherfile")}));
  EXPECT_EQ(many.items.size(), 2u);
  EXPECT_EQ(many.items.at(f.url("index/realfile")).value(), data);
}

TEST(Read, RangeIgnoredNeverGivesWrongBytes) {
  auto& f = FaultServer::shared();
  const std::string pat = pattern(5000);
  auto fs = make_fs();
  EXPECT_EQ(fs->cat_file(f.url("norange?size=5000"), 5, 10), pat.substr(5, 5));
  EXPECT_EQ(fs->cat_file(f.url("norange?size=5000"), -10), pat.substr(4990));
  Options small{{"max_ignored_range_body", "1000"}};
  EXPECT_KIND(kTooLarge, make_fs(small)->cat_file(f.url("norange?size=5000"), 5, 10));
  // fsspec's ignore_range header switch on its data route.
  Options ign{{"headers", "{\"ignore_range\": \"1\", \"head_ok\": \"1\"}"}};
  EXPECT_EQ(make_fs(ign)->cat_file(f.url("index/realfile"), 5, 10), data_14999().substr(5, 5));
}

TEST(Read, GzipAndChunkedAndStatuses) {
  auto& f = FaultServer::shared();
  auto fs = make_fs();
  EXPECT_EQ(fs->cat_file(f.url("gzip?size=3000")), pattern(3000));
  EXPECT_EQ(fs->cat_file(f.url("gzip?size=3000"), 10, 20), pattern(3000).substr(10, 10));
  EXPECT_EQ(fs->cat_file(f.url("chunked?size=3000")), pattern(3000));
  EXPECT_EQ(fs->cat_file(f.url("chunked?size=3000"), 100, 200), pattern(3000).substr(100, 100));
  // 416 from the server is an empty slice.
  EXPECT_EQ(fs->cat_file(f.url("file/e?size=10"), 20, 30), "");
  Options no_retry{{"retries", "0"}};
  EXPECT_KIND(kNetwork, make_fs(no_retry)->cat_file(f.url("truncated?size=1000")));
  EXPECT_KIND(kNetwork, make_fs(no_retry)->cat_file(f.url("reset?size=100000")));
}

TEST(Read, RetriesHonourRetryAfter) {
  auto& f = FaultServer::shared();
  auto fs = make_fs();
  EXPECT_EQ(fs->cat_file(f.url("flaky/503?fail=2&key=r503&size=100")), pattern(100));
  EXPECT_EQ(fs->cat_file(f.url("flaky/429?fail=1&key=r429&retry_after=1&size=10")), pattern(10));
  const auto t0 = std::chrono::steady_clock::now();
  // An HTTP-date has whole seconds: "now + 2 s" is at least one second away.
  EXPECT_EQ(fs->cat_file(f.url("flaky/429?fail=1&key=rdate&retry_after=date&ra_seconds=2&size=10")),
            pattern(10));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(200));
  EXPECT_EQ(fs->cat_file(f.url("flaky/truncate?fail=1&key=rtr&size=1000")), pattern(1000));
  EXPECT_EQ(fs->cat_file(f.url("flaky/reset?fail=1&key=rrs&size=100000")), pattern(100000));
  Options two{{"retries", "1"}};
  EXPECT_KIND(kRateLimited, make_fs(two)->cat_file(f.url("flaky/429?fail=5&key=rexh")));
}

TEST(Read, SlowDripTimesOutWithoutTotalTimeout) {
  auto& f = FaultServer::shared();
  Options slow{{"retries", "0"}, {"low_speed_limit", "1000"}, {"low_speed_time", "1"}};
  EXPECT_KIND(kTimeout, make_fs(slow)->cat_file(f.url("slow?size=100&interval_ms=200")));
}

TEST(Read, RedirectToOtherHostDropsAuthorization) {
  auto& f = FaultServer::shared();
  Options tok{{"token", "secret"}};
  auto fs = make_fs(tok);
  std::string body = fs->cat_file(f.url("redirect-host/302/echo"));
  EXPECT_EQ(body.find("secret"), std::string::npos) << body;
  std::string same = fs->cat_file(f.url("redirect/302/echo"));
  EXPECT_NE(same.find("Bearer secret"), std::string::npos) << same;
}

TEST(Read, CustomHeadersStayWithTheirHostUnlessMarkedSafe) {
  // An API key in `headers` went to whatever host a redirect named.
  auto& f = FaultServer::shared();
  auto fs = make_fs(Options{{"headers", R"({"X-Api-Key": "k123", "X-Trace": "t77"})"},
                            {"redirect_safe_headers", "User-Agent, x-trace"}});
  const std::string other = fs->cat_file(f.url("redirect-host/302/echo"));
  EXPECT_EQ(other.find("k123"), std::string::npos) << other;
  EXPECT_NE(other.find("t77"), std::string::npos) << other;
  const std::string same = fs->cat_file(f.url("redirect/302/echo"));
  EXPECT_NE(same.find("k123"), std::string::npos) << same;
  // Followed hop by hop now: the redirect's own body must not become the file's.
  testing::TempDir tmp("http-redirect");
  fs->get_file(f.url("redirect-host/302/file/r?size=70000"), tmp / "r");
  EXPECT_TRUE(read_local(tmp / "r") == pattern(70000));
  std::string streamed;
  fs->stream_file(f.url("redirect-host/307/file/r?size=70000"),
                  [&streamed](std::string_view d) { streamed += d; });
  EXPECT_TRUE(streamed == pattern(70000));
}

TEST(Read, CompressionBombsAreRefused) {
  // 1 MB on the wire, 1 GiB decoded: cat grew to 2.1 GB and get wrote 1 GiB to disk.
  auto& f = FaultServer::shared();
  auto fs = make_fs();
  const std::string bomb = f.url("bomb");
  EXPECT_KIND(kTooLarge, fs->cat_file(bomb));
  EXPECT_KIND(kTooLarge, fs->stream_file(bomb, [](std::string_view) {}));
  testing::TempDir tmp("http-bomb");
  EXPECT_KIND(kTooLarge, fs->get_file(bomb, tmp / "bomb"));
  EXPECT_TRUE(stdfs::is_empty(tmp.path()));
  try {
    fs->cat_file(bomb);
  } catch (const TooLarge& e) {
    EXPECT_NE(std::string(e.what()).find("max_decoded_ratio"), std::string::npos) << e.what();
  }
  // The caps are the user's: no ratio cap takes 16 MiB of zeros, a size cap refuses them.
  auto lenient = make_fs(Options{{"max_decoded_ratio", "0"}});
  EXPECT_EQ(lenient->cat_file(f.url("bomb?mib=16")), std::string(16 << 20, '\0'));
  auto strict = make_fs(Options{{"max_decoded_bytes", "1048576"}});
  EXPECT_KIND(kTooLarge, strict->cat_file(f.url("gzip?size=2000000")));
  EXPECT_EQ(strict->cat_file(f.url("gzip?size=1000000")), pattern(1000000));
}

TEST(Read, StreamFileDeliversEveryByteOnceAcrossRetries) {
  auto& f = FaultServer::shared();
  auto fs = make_fs();
  for (const char* mode : {"reset", "truncate", "503"}) {
    std::string got;
    std::size_t calls = 0;
    const std::string key = std::string("stream-") + mode;
    const std::uint64_t n =
        fs->stream_file(f.url("flaky/" + std::string(mode) + "?fail=1&size=300000&key=" + key),
                        [&](std::string_view d) {
                          got += d;
                          ++calls;
                        });
    EXPECT_EQ(n, 300000u) << mode;
    EXPECT_TRUE(got == pattern(300000)) << mode << ": " << got.size() << " bytes";
    EXPECT_GE(calls, 1u);
  }
  EXPECT_KIND(kNotFound, fs->stream_file(f.url("status/404"), [](std::string_view) {}));
  // What the sink throws ends the read and is what the caller gets.
  EXPECT_THROW(fs->stream_file(f.url("file/s?size=300000"),
                               [](std::string_view) { throw std::runtime_error("full"); }),
               std::runtime_error);
}

TEST(Read, ADeadHostFailsTheRestAtOnce) {
  // A server that is gone: every file used to pay its connect and its retries.
  const int port = testing::pick_free_port();
  auto fs = make_fs(Options{{"retry_backoff", "0.2"}, {"circuit_cooldown", "30"}});
  std::vector<std::string> urls;
  for (int i = 0; i < 300; ++i) {
    urls.push_back("http://127.0.0.1:" + std::to_string(port) + "/f" + std::to_string(i));
  }
  const auto t0 = std::chrono::steady_clock::now();
  CatOptions opts;
  opts.on_error = OnError::kReturn;
  opts.batch_size = 16;
  CatResult r = fs->cat(urls, opts);
  const auto took = std::chrono::steady_clock::now() - t0;
  std::size_t refused = 0;
  for (const auto& [url, o] : r.items) {
    ASSERT_TRUE(o.has_error()) << url;
    try {
      std::rethrow_exception(o.error());
    } catch (const NetworkError& e) {
      if (e.message().starts_with(kCircuitOpenMessage)) ++refused;
    }
  }
  EXPECT_GE(refused, 250u);
  // Without the breaker: 300 files x 3 retries x 0.2..0.8 s in windows of 16 is > 20 s.
  EXPECT_LT(took, 8s);
  // Another host is not affected, and the circuit closes when the host answers again.
  auto& f = FaultServer::shared();
  EXPECT_EQ(fs->cat_file(f.url("file/ok?size=10")), pattern(10));
  auto quick = make_fs(Options{{"circuit_cooldown", "0.05"}, {"circuit_failures", "2"}});
  const std::string dead = "http://127.0.0.1:" + std::to_string(testing::pick_free_port());
  for (int i = 0; i < 3; ++i) EXPECT_KIND(kNetwork, quick->cat_file(dead + "/x"));
}

TEST(Read, AnAllocationFailureIsATypedErrorNotAnAbort) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "an address-space limit cannot be combined with a sanitizer's shadow memory";
#else
  // bad_alloc thrown while a body grew inside a libuv or libcurl callback was std::terminate
  // (exit 134). In a child process with little address space left, a 256 MiB body must fail
  // as OutOfMemory, the process going on.
  auto& f = FaultServer::shared();
  const std::string url = f.url("file/oom?size=268435456");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int rc = 1;  // 1: the body fit after all (no verdict), 2: another error, 0: OutOfMemory
    try {
      auto fs = make_fs();
      fs->cat_file(f.url("file/warm?size=10"));  // threads and their arenas exist before
      std::uint64_t vm_kib = 0;
      std::ifstream status("/proc/self/status");
      for (std::string line; std::getline(status, line);) {
        if (line.starts_with("VmSize:")) vm_kib = std::stoull(line.substr(7));
      }
      const rlim_t limit = (vm_kib << 10) + (96ull << 20);
      struct rlimit lim {
        limit, limit
      };
      ::setrlimit(RLIMIT_AS, &lim);
      try {
        fs->cat_file(url);
      } catch (const OutOfMemory&) {
        rc = 0;
      } catch (const Error&) {
        rc = 2;
      }
    } catch (...) {
      rc = 3;
    }
    ::_exit(rc);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the body fit, 2: another error, 3: setup failed";
#endif
}

TEST(Read, PasswordsInUrlsAuthenticateButAreNeverShown) {
  auto& f = FaultServer::shared();
  auto fs = make_fs();
  auto with_creds = [&f](const std::string& route) {
    std::string u = f.url(route);
    return u.insert(std::string("http://").size(), "alice:s3cr%40t@");
  };
  // Sent as Basic authorization (base64 of "alice:s3cr@t"), the URL's escape decoded.
  const std::string echo = fs->cat_file(with_creds("echo/a"));
  EXPECT_NE(echo.find("Basic YWxpY2U6czNjckB0"), std::string::npos) << echo;
  // Remembered for the origin: a later URL without them still authenticates.
  EXPECT_NE(fs->cat_file(f.url("echo/b")).find("Basic YWxpY2U6czNjckB0"), std::string::npos);
  // Never in a name, an error or on another host.
  const FileInfo info = fs->info(with_creds("file/x?size=10"));
  EXPECT_EQ(info.name.find("s3cr"), std::string::npos) << info.name;
  EXPECT_EQ(info.name.find("alice"), std::string::npos) << info.name;
  try {
    fs->cat_file(with_creds("status/404"));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cr"), std::string::npos) << e.what();
    EXPECT_EQ(e.path().find("alice"), std::string::npos) << e.path();
  }
  const std::string other = fs->cat_file(with_creds("redirect-host/302/echo"));
  EXPECT_EQ(other.find("Basic"), std::string::npos) << other;
}

TEST(Read, AListingThatLinksEverDeeperStopsWithAnError) {
  // Every d/ links a deeper d/: find ran forever (2.5 GB after 60 s).
  auto& f = FaultServer::shared();
  auto fs = make_fs();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_KIND(kTooLarge, fs->find(f.url("deep/")));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60));
  // A depth the caller asks for is honoured.
  auto some = fs->find(f.url("deep/"), FindOptions{.maxdepth = 3});
  EXPECT_EQ(some.size(), 3u);
  EXPECT_TRUE(some.count(f.url("deep/d/d/f")));
}

// --- open ------------------------------------------------------------------------------------

TEST(Read, UrlsWithQueryStringsAreLiteralNames) {
  // In an HTTP URL "?" starts the query: it is no glob character, so cat of such URLs must
  // not expand them first (that cost one sequential HEAD per URL before the GETs).
  auto& nginx = NginxServer::shared();
  nginx.write("query/a.bin", pattern(1000));
  auto fs = make_fs();
  std::vector<std::string> urls;
  for (int i = 0; i < 20; ++i) urls.push_back(nginx.url("query/a.bin?v=" + std::to_string(i)));
  CatResult many = fs->cat(urls);
  ASSERT_EQ(many.items.size(), urls.size());
  for (const auto& u : urls) EXPECT_EQ(many.items.at(u).value(), pattern(1000)) << u;
  CatResult one = fs->cat(nginx.url("query/a.bin?v=single"));
  EXPECT_TRUE(one.single);
  EXPECT_EQ(one.value(), pattern(1000));
  const std::string log = nginx.access_log();
  EXPECT_EQ(log.find("HEAD /query/a.bin"), std::string::npos) << log.substr(0, 2000);
}

TEST(Open, BufferedWithRangesAndStreamWithout) {
  auto& f = FaultServer::shared();
  auto fs = make_fs();
  const std::string pat = pattern(10000);
  {
    File file = fs->open(f.url("file/o?size=10000"));
    EXPECT_EQ(file.size(), 10000u);
    file.seek(5000);
    EXPECT_EQ(file.read(10), pat.substr(5000, 10));
    file.seek(10);
    EXPECT_EQ(file.read(10), pat.substr(10, 10));
    EXPECT_EQ(file.read(), pat.substr(20));
  }
  {
    File file = fs->open(f.url("norange?size=10000&accept_ranges=none"));
    EXPECT_EQ(file.read(100), pat.substr(0, 100));
    EXPECT_EQ(file.seek(100), 100u);  // no-op seek
    file.seek(200);                   // forward
    EXPECT_EQ(file.read(10), pat.substr(200, 10));
    EXPECT_KIND(kInvalidArgument, file.seek(5));
  }
  {
    File file = fs->open(f.url("gzip?size=3000"));
    EXPECT_EQ(file.read(), pattern(3000));
  }
  {
    // A stream much larger than its read-ahead, read in pieces with a forward seek between.
    const std::string big = pattern(6 << 20);
    File file = fs->open(f.url("norange?size=6291456&accept_ranges=none"));
    std::string got;
    while (got.size() < (3u << 20)) got += file.read(64 << 10);
    file.seek(4 << 20);
    std::string rest = file.read();
    EXPECT_TRUE(got == big.substr(0, got.size()));
    EXPECT_TRUE(rest == big.substr(4 << 20)) << rest.size();
    EXPECT_EQ(file.read(10), "");
  }
  {
    // fsspec test_content_length_zero: the signalled 0 is not trusted for reading.
    Options zero{{"headers", "{\"zero_length\": \"1\", \"head_ok\": \"1\"}"}};
    auto zfs = make_fs(zero);
    File file = zfs->open(f.url("index/realfile"));
    (void)file.read();
  }
}

// --- transfers and writes (nginx WebDAV) -------------------------------------------------------

TEST(Transfer, GetFileStreamsAndRenames) {
  auto& nginx = NginxServer::shared();
  std::string big = pattern(3 << 20);
  nginx.write("get/big.bin", big);
  testing::TempDir tmp("asyncfs-http-get");
  Options small{{"block_size", "65536"}};
  auto fs = make_fs(small);
  const std::string local = tmp.path() + "/out/big.bin";
  struct Counter : Callback {
  } cb;
  fs->get_file(nginx.url("get/big.bin"), local, &cb);
  EXPECT_EQ(read_local(local), big);
  EXPECT_EQ(cb.size(), big.size());
  // Failure: nothing under the name, no temp left.
  EXPECT_KIND(kNotFound, fs->get_file(nginx.url("get/missing.bin"), tmp.path() + "/out/m.bin"));
  EXPECT_FALSE(stdfs::exists(tmp.path() + "/out/m.bin"));
  int files = 0;
  for (auto& e : stdfs::directory_iterator(tmp.path() + "/out")) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
  // List to list.
  nginx.write("get/a", "A");
  nginx.write("get/b", "B");
  fs->get(Paths(std::vector<std::string>{nginx.url("get/a"), nginx.url("get/b")}),
          Paths(std::vector<std::string>{tmp.path() + "/a", tmp.path() + "/b"}));
  EXPECT_EQ(read_local(tmp.path() + "/a"), "A");
  EXPECT_EQ(read_local(tmp.path() + "/b"), "B");
}

TEST(Transfer, GetFileRetriesTruncation) {
  auto& f = FaultServer::shared();
  testing::TempDir tmp("asyncfs-http-get2");
  auto fs = make_fs();
  fs->get_file(f.url("flaky/truncate?fail=1&key=gtr&size=200000"), tmp.path() + "/x");
  EXPECT_EQ(read_local(tmp.path() + "/x"), pattern(200000));
}

TEST(Write, PipePutRemoveMkdirOnNginx) {
  auto& nginx = NginxServer::shared();
  auto fs = make_fs();
  const std::string u = nginx.url("w/one.txt");
  EXPECT_FALSE(fs->exists(u));
  fs->pipe_file(u, "first");
  EXPECT_EQ(fs->cat_file(u), "first");
  fs->pipe_file(u, "second");  // overwrite
  EXPECT_EQ(fs->cat_file(u), "second");
  EXPECT_KIND(kAlreadyExists, fs->pipe_file(u, "x", WriteMode::kCreate));
  testing::TempDir tmp("asyncfs-http-put");
  std::ofstream(tmp.path() + "/up.bin", std::ios::binary) << pattern(100000);
  fs->put_file(tmp.path() + "/up.bin", nginx.url("w/up.bin"));
  EXPECT_EQ(fs->size(nginx.url("w/up.bin")), 100000u);
  EXPECT_EQ(fs->cat_file(nginx.url("w/up.bin")), pattern(100000));
  fs->rm_file(u);
  EXPECT_FALSE(fs->exists(u));
  EXPECT_KIND(kNotFound, fs->rm_file(u));
  fs->makedirs(nginx.url("w/d1/d2"), true);
  EXPECT_TRUE(fs->isdir(nginx.url("w/d1/d2/")));
  fs->makedirs(nginx.url("w/d1/d2"), true);
  EXPECT_KIND(kAlreadyExists, fs->makedirs(nginx.url("w/d1/d2"), false));
  // rmdir refuses a collection with something in it (DELETE would remove it all).
  EXPECT_KIND(kDirectoryNotEmpty, fs->rmdir(nginx.url("w/d1")));
  EXPECT_TRUE(fs->isdir(nginx.url("w/d1/d2/")));
  fs->rmdir(nginx.url("w/d1/d2"));
  fs->rmdir(nginx.url("w/d1"));
  EXPECT_FALSE(fs->exists(nginx.url("w/d1/")));
}

// --- cp_file: GET into a temporary file, PUT from it ------------------------------------------

/// Sets an environment variable for the scope of a test (the IO thread is idle meanwhile).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

/// Names in `dir` (copy's temporaries go to $TMPDIR, which these tests point at `dir`).
std::vector<std::string> entries_of(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : stdfs::directory_iterator(dir)) out.push_back(e.path().filename());
  return out;
}

/// Bytes that repeat nowhere: a misplaced chunk cannot go unnoticed.
std::string random_bytes(std::size_t n) {
  std::mt19937_64 rng(n);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

TEST(Transfer, CpFileStreamsThroughATemporaryFile) {
  auto& nginx = NginxServer::shared();
  testing::TempDir tmp("asyncfs-http-cp");
  ScopedEnv tmpdir("TMPDIR", tmp.path());
  const std::string big = random_bytes((5 << 20) + 12345);
  nginx.write("cp/src.bin", big);
  nginx.write("cp/empty", "");
  Options small{{"block_size", "65536"}};
  auto fs = make_fs(small);

  fs->cp_file(nginx.url("cp/src.bin"), nginx.url("cp/out/dst.bin"));
  EXPECT_EQ(read_local(nginx.path("cp/out/dst.bin")), big);
  EXPECT_EQ(entries_of(tmp.path()), std::vector<std::string>{}) << "temporary left behind";
  // Overwrites, and copies an empty file as an empty file.
  fs->cp_file(nginx.url("cp/empty"), nginx.url("cp/out/dst.bin"));
  EXPECT_EQ(fs->size(nginx.url("cp/out/dst.bin")), 0u);
  // The bulk API goes through the same hook.
  fs->copy(nginx.url("cp/src.bin"), nginx.url("cp/out/again.bin"));
  EXPECT_EQ(read_local(nginx.path("cp/out/again.bin")), big);
  EXPECT_EQ(entries_of(tmp.path()), std::vector<std::string>{});
  // A directory URL is refused before anything is downloaded.
  EXPECT_KIND(kIsADirectory, fs->cp_file(nginx.url("cp/src.bin"), nginx.url("cp/out/")));
  EXPECT_EQ(entries_of(tmp.path()), std::vector<std::string>{});
}

TEST(Transfer, CpFileFailuresLeaveNoTemporary) {
  auto& nginx = NginxServer::shared();
  auto& f = FaultServer::shared();
  testing::TempDir tmp("asyncfs-http-cp-fail");
  ScopedEnv tmpdir("TMPDIR", tmp.path());
  auto fs = make_fs();
  // A missing source: NotFound naming it, no destination, no temporary.
  try {
    fs->cp_file(nginx.url("cp/missing.bin"), nginx.url("cp/never.bin"));
    ADD_FAILURE() << "no exception";
  } catch (const NotFound& e) {
    EXPECT_EQ(e.path(), nginx.url("cp/missing.bin"));
    EXPECT_EQ(e.http_status(), 404);
  }
  EXPECT_FALSE(stdfs::exists(nginx.path("cp/never.bin")));
  EXPECT_EQ(entries_of(tmp.path()), std::vector<std::string>{});
  // A server error on the source, after its retries.
  Options one{{"retries", "1"}};
  EXPECT_KIND(kProtocol, make_fs(one)->cp_file(f.url("status/500"), nginx.url("cp/never.bin")));
  EXPECT_EQ(entries_of(tmp.path()), std::vector<std::string>{});
  // The upload fails (a file where the destination's parent should be).
  nginx.write("cp/plain", "x");
  nginx.write("cp/src.txt", "data");
  EXPECT_KIND(kNotADirectory, fs->cp_file(nginx.url("cp/src.txt"), nginx.url("cp/plain/sub")));
  EXPECT_EQ(entries_of(tmp.path()), std::vector<std::string>{});
}

TEST(Transfer, CpFileNeedsItsTemporaryDirectory) {
  // Proves the temporary goes to $TMPDIR (so the checks above look in the right place), and
  // that a missing one is an I/O error about the copy, not a NotFound that copy(on_error=
  // ignore) would take for a vanished source.
  auto& nginx = NginxServer::shared();
  testing::TempDir tmp("asyncfs-http-cp-none");
  ScopedEnv tmpdir("TMPDIR", tmp / "does-not-exist");
  nginx.write("cp/src.txt", "data");
  auto fs = make_fs();
  try {
    fs->cp_file(nginx.url("cp/src.txt"), nginx.url("cp/never2.txt"));
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo) << e.what();
    EXPECT_EQ(e.path(), nginx.url("cp/src.txt"));
    EXPECT_NE(e.message().find(tmp / "does-not-exist"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(stdfs::exists(nginx.path("cp/never2.txt")));
}

TEST(Transfer, CpFileCancelledRemovesItsTemporary) {
  auto& nginx = NginxServer::shared();
  auto& f = FaultServer::shared();
  testing::TempDir tmp("asyncfs-http-cp-cancel");
  ScopedEnv tmpdir("TMPDIR", tmp.path());
  auto fs = make_fs();
  // A source that drips for 20 s; the call gives up after 1 s.
  auto copying = std::async(std::launch::async, [&] {
    fs->cp_file(f.url("slow?size=1000&interval_ms=20"), nginx.url("cp/slow.bin"), 1s);
  });
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    seen = !entries_of(tmp.path()).empty();
    if (!seen) std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(seen) << "no temporary file while copying";
  EXPECT_THROW(copying.get(), Timeout);
  // The cancelled copy winds down on the IO thread: its temporaries go.
  for (int i = 0; i < 500 && !entries_of(tmp.path()).empty(); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(entries_of(tmp.path()), std::vector<std::string>{});
  EXPECT_FALSE(stdfs::exists(nginx.path("cp/slow.bin")));
}

TEST(Write, PostToFaultSink) {
  auto& f = FaultServer::shared();
  Options post{{"method", "post"}};
  auto fs = make_fs(post);
  fs->pipe_file(f.url("sink/post-one"), "posted");
  EXPECT_EQ(fs->cat_file(f.url("sink/post-one")), "posted");
  const std::string meta = fs->cat_file(f.url("sink-meta/post-one"));
  EXPECT_NE(meta.find("POST"), std::string::npos) << meta;
}

// --- walk / find -------------------------------------------------------------------------------

TEST(Walk, FindKeepsDirectorySlashes) {
  auto& nginx = NginxServer::shared();
  nginx.write("tree/a.txt", "a");
  nginx.write("tree/d/b.txt", "b");
  nginx.write("tree/d/e/c.txt", "c");
  auto fs = make_fs();
  auto found = fs->find(nginx.url("tree/"));
  EXPECT_EQ(keys_of(found),
            (std::vector<std::string>{nginx.url("tree/a.txt"), nginx.url("tree/d/b.txt"),
                                      nginx.url("tree/d/e/c.txt")}));
  auto shallow = fs->expand_path(nginx.url("tree/"), true, 1);
  EXPECT_EQ(shallow.size(), 3u);  // the root, a.txt, d/
  EXPECT_KIND(kInvalidArgument, fs->expand_path(nginx.url("tree/"), true, 0));
  auto du = fs->du_total(nginx.url("tree/"));
  EXPECT_EQ(du, 3u);
}

// --- asynchronous mode -------------------------------------------------------------------------

Task<Bytes> cat_twice(std::shared_ptr<AsyncFileSystem> fs, std::string url) {
  Bytes a = co_await fs->_cat_file(url, std::nullopt, std::nullopt);
  Bytes b = co_await fs->_cat_file(url, 0, 4);
  co_return a + "|" + b;
}

TEST(Async, CoroutinesWorkBlockingRefuses) {
  auto& f = FaultServer::shared();
  Options as{{"asynchronous", "true"}};
  auto fs = make_fs(as);
  EXPECT_KIND(kInvalidArgument, fs->cat_file(f.url("file/z?size=8")));
  auto io = default_io_thread();
  EXPECT_EQ(testing::run(*io, cat_twice(fs, f.url("file/z?size=8"))),
            pattern(8) + "|" + pattern(4));
}

}  // namespace
}  // namespace asyncfs
