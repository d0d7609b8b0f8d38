// The http(s) filesystem over TLS and HTTP/2 against a real nginx (NginxServer in TLS mode:
// `listen ssl http2`, a throwaway CA and server certificate made with the openssl CLI).
//
//   NginxTlsServer.*  the fixture itself, checked with /usr/bin/curl (independent of the backend)
//   HttpTls.*         the backend: reads, listings, downloads and writes with `ca_path`;
//                     verification failures (no CA, another CA, a missing CA file) as typed
//                     NetworkErrors naming the URL; `insecure`; HTTP/2 multiplexing (connection
//                     count, with an HTTP/1.1 control through the engine); ranges; redirects.
//
// Every blocking call has a bound (kBound); coroutine bodies run through testing::run (60 s).

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "asyncfs/asyncfs.hpp"
#include "asyncfs/backends/http.hpp"
#include "asyncfs/gather.hpp"
#include "core/http/engine.hpp"
#include "support/co_test.hpp"
#include "support/nginx_server.hpp"
#include "support/patterns.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs {
namespace {

using testing::NginxServer;

/// Bound of every blocking call: a TLS or HTTP/2 bug fails the test instead of hanging it.
constexpr auto kBound = std::chrono::seconds(30);

using asyncfs::testing::pattern;

/// Every byte value, several times: TLS and HTTP/2 framing must pass binary data untouched.
std::string binary(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 7 + i / 256) & 0xff);
  return out;
}

std::shared_ptr<AsyncFileSystem> make_fs(Options extra = {},
                                         std::shared_ptr<IoThread> io = nullptr) {
  Options opts{{"retry_backoff", "0.01"}, {"retry_max_wait", "1"}, {"connect_timeout", "10"}};
  opts = extra.merged_over(opts);
  return http::make_filesystem(http::HttpOptions::from(std::move(opts), std::move(io)));
}

/// A private IoThread for one test: its engine's counters and curl handle pool are the test's
/// own. It is shut down from the test thread at scope end (declare it before the filesystems):
/// sync() may drop a filesystem's last reference on the loop thread after the caller has
/// returned, and an IoThread whose last owner is that filesystem would then be destroyed on
/// its own thread (shutdown() throws there: std::terminate).
struct OwnIo {
  std::shared_ptr<IoThread> io;
  explicit OwnIo(std::string name) : io(std::make_shared<IoThread>(std::move(name))) {}
  ~OwnIo() { io->shutdown(); }
  OwnIo(const OwnIo&) = delete;
  OwnIo& operator=(const OwnIo&) = delete;
};

/// A filesystem that trusts the server's throwaway CA.
std::shared_ptr<AsyncFileSystem> trusting_fs(const NginxServer& server, Options extra = {},
                                             std::shared_ptr<IoThread> io = nullptr) {
  Options ca{{"ca_path", server.ca_path()}};
  return make_fs(extra.merged_over(ca), std::move(io));
}

std::vector<std::string> names(const std::vector<FileInfo>& v) {
  std::vector<std::string> out;
  for (const auto& i : v) out.push_back(i.name);
  std::sort(out.begin(), out.end());
  return out;
}

/// Lines of an access log containing every one of `parts`.
std::size_t log_lines(const std::string& log, const std::vector<std::string>& parts) {
  std::size_t n = 0;
  std::size_t begin = 0;
  while (begin < log.size()) {
    std::size_t end = log.find('\n', begin);
    if (end == std::string::npos) end = log.size();
    const std::string_view line(log.data() + begin, end - begin);
    if (std::all_of(parts.begin(), parts.end(),
                    [&](const std::string& p) { return line.find(p) != line.npos; })) {
      ++n;
    }
    begin = end + 1;
  }
  return n;
}

/// Runs `fn`, expects a NetworkError naming `url` (path() and what()), within `bound`.
template <class F>
void expect_network_error(const std::string& url, F&& fn,
                          std::chrono::seconds bound = std::chrono::seconds(15)) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    fn();
    ADD_FAILURE() << "no exception for " << url;
  } catch (const NetworkError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNetwork);
    EXPECT_EQ(e.path(), url) << e.what();
    EXPECT_NE(std::string(e.what()).find(url), std::string::npos) << e.what();
    EXPECT_FALSE(e.cause().empty()) << e.what();  // curl's reason, for the log
  } catch (const Error& e) {
    ADD_FAILURE() << "expected NetworkError, got kind " << static_cast<int>(e.kind()) << ": "
                  << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, bound);
}

// --- the fixture -------------------------------------------------------------------------------

struct CurlRun {
  int exit_code = -1;
  std::string out;
};

CurlRun curl(std::vector<std::string> args) {
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "--max-time", "10"};
  argv.insert(argv.end(), args.begin(), args.end());
  testing::RunResult r = testing::run_process(argv, std::chrono::seconds(15));
  return {r.exit_code, r.out};
}

TEST(NginxTlsServer, ServesHttp2WithAThrowawayCa) {
  NginxServer& tls = NginxServer::shared_tls();
  tls.write("fixture/a.txt", "over tls");
  const std::string port = std::to_string(tls.port());
  EXPECT_TRUE(tls.tls());
  EXPECT_EQ(tls.base_url(), "https://127.0.0.1:" + port);
  EXPECT_EQ(tls.url("fixture/a.txt"), "https://127.0.0.1:" + port + "/fixture/a.txt");
  ASSERT_TRUE(testing::local_exists(tls.ca_path()));
  // Plain mode is unchanged.
  EXPECT_FALSE(NginxServer::shared().tls());
  EXPECT_TRUE(NginxServer::shared().ca_path().empty());
  EXPECT_TRUE(NginxServer::shared().url("x").starts_with("http://127.0.0.1:"));

  // h2 by ALPN, certificate valid for IP 127.0.0.1 ...
  CurlRun r = curl(
      {"--cacert", tls.ca_path(), "--http2", "-w", "|%{http_version}", tls.url("fixture/a.txt")});
  EXPECT_EQ(r.exit_code, 0) << tls.error_log();
  EXPECT_EQ(r.out, "over tls|2");
  // ... and for DNS localhost; a client without h2 gets HTTP/1.1 on the same port.
  r = curl({"--cacert", tls.ca_path(), "--http1.1", "--resolve", "localhost:" + port + ":127.0.0.1",
            "-w", "|%{http_version}", "https://localhost:" + port + "/fixture/a.txt"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "over tls|1.1");
  // Any other name fails verification (curl: 60), as does the system CA bundle.
  r = curl({"--cacert", tls.ca_path(), "--resolve", "other.test:" + port + ":127.0.0.1",
            "https://other.test:" + port + "/fixture/a.txt"});
  EXPECT_EQ(r.exit_code, 60);
  EXPECT_NE(curl({tls.url("fixture/a.txt")}).exit_code, 0);
}

TEST(NginxTlsServer, EachServerHasItsOwnCa) {
  NginxServer::Options o;
  o.tls = true;
  NginxServer other(o);
  NginxServer& shared = NginxServer::shared_tls();
  EXPECT_NE(other.port(), shared.port());
  EXPECT_NE(testing::read_local_file(other.ca_path()), testing::read_local_file(shared.ca_path()));
  other.write("b.txt", "b");
  EXPECT_EQ(curl({"--cacert", other.ca_path(), other.url("b.txt")}).out, "b");
  EXPECT_EQ(curl({"--cacert", shared.ca_path(), other.url("b.txt")}).exit_code, 60);
}

// --- the backend over TLS ------------------------------------------------------------------------

TEST(HttpTls, CatInfoLsGetWithCaPath) {
  NginxServer& tls = NginxServer::shared_tls();
  const std::string bin = binary(100'000);
  const std::string big = pattern((3 << 20) + 5);  // many DATA frames, past the h2 windows
  tls.write("read/a.txt", "hello tls");
  tls.write("read/b.bin", bin);
  tls.write("read/sub/c.txt", "c");
  tls.write("read/big.bin", big);
  auto fs = trusting_fs(tls);

  EXPECT_EQ(fs->cat_file(tls.url("read/a.txt"), {}, {}, kBound), "hello tls");
  EXPECT_EQ(fs->cat_file(tls.url("read/b.bin"), {}, {}, kBound), bin);

  FileInfo info = fs->info(tls.url("read/b.bin"), kBound);
  EXPECT_EQ(info.name, tls.url("read/b.bin"));
  EXPECT_EQ(info.size, bin.size());
  EXPECT_TRUE(info.is_file());
  EXPECT_TRUE(info.etag.has_value());
  EXPECT_EQ(info.extra.at("mimetype"), "application/octet-stream");
  EXPECT_TRUE(fs->info(tls.url("read/"), kBound).is_dir());

  const std::string base = tls.url("read/");
  EXPECT_EQ(
      names(fs->ls(base, kBound)),
      (std::vector<std::string>{base + "a.txt", base + "b.bin", base + "big.bin", base + "sub/"}));
  auto found = fs->find(base, {}, kBound);
  EXPECT_EQ(found.size(), 4u);
  EXPECT_TRUE(found.contains(base + "sub/c.txt"));

  testing::TempDir tmp("asyncfs-tls-get");
  fs->get_file(tls.url("read/big.bin"), tmp / "big.bin", nullptr, kBound);
  EXPECT_EQ(testing::read_local_file(tmp / "big.bin"), big);
  fs->get(Paths(std::vector<std::string>{tls.url("read/a.txt"), tls.url("read/b.bin")}),
          Paths(std::vector<std::string>{tmp / "a.txt", tmp / "b.bin"}), {}, kBound);
  EXPECT_EQ(testing::read_local_file(tmp / "a.txt"), "hello tls");
  EXPECT_EQ(testing::read_local_file(tmp / "b.bin"), bin);

  auto many = fs->cat(Paths(std::vector<std::string>{tls.url("read/a.txt"), tls.url("read/b.bin"),
                                                     tls.url("read/sub/c.txt")}),
                      {}, kBound);
  ASSERT_EQ(many.items.size(), 3u);
  EXPECT_EQ(many.items.at(tls.url("read/sub/c.txt")).value(), "c");
  EXPECT_EQ(many.items.at(tls.url("read/b.bin")).value(), bin);

  // All of it went over HTTP/2 (nginx logs the request line's protocol).
  const std::string log = tls.access_log();
  EXPECT_EQ(log_lines(log, {"HEAD /read/b.bin HTTP/2.0\" 200 "}), 1u) << log;
  EXPECT_GE(log_lines(log, {"GET /read/b.bin HTTP/2.0\" 200 "}), 3u) << log;
  EXPECT_GE(log_lines(log, {" /read/", " HTTP/2.0\" "}), 10u) << log;
  EXPECT_EQ(log_lines(log, {" /read/", " HTTP/1."}), 0u) << log;
}

TEST(HttpTls, VerificationFailsWithoutTheCa) {
  NginxServer& tls = NginxServer::shared_tls();
  tls.write("verify/a.txt", "secret bytes");
  const std::string url = tls.url("verify/a.txt");
  const std::string dir = tls.url("verify/");

  // The system CA bundle does not know the throwaway CA. No retries first, then the default
  // retries (they treat the failure as a network error and retry it, still bounded).
  Options no_retry{{"retries", "0"}};
  auto fs0 = make_fs(no_retry);
  expect_network_error(url, [&] { fs0->cat_file(url, {}, {}, kBound); });
  expect_network_error(url, [&] { fs0->info(url, kBound); });
  expect_network_error(dir, [&] { fs0->ls(dir, kBound); });
  testing::TempDir tmp("asyncfs-tls-noca");
  expect_network_error(url, [&] { fs0->get_file(url, tmp / "a.txt", nullptr, kBound); });
  EXPECT_FALSE(std::filesystem::exists(tmp / "a.txt"));
  auto fs = make_fs();
  expect_network_error(url, [&] { fs->cat_file(url, {}, {}, kBound); });
  // exists() raises rather than answering false: a TLS failure is not "not found".
  expect_network_error(url, [&] { fs->exists(url, kBound); });

  // A CA that did not sign this server's certificate (another server's throwaway CA).
  NginxServer::Options o;
  o.tls = true;
  NginxServer other(o);
  Options wrong_ca{{"ca_path", other.ca_path()}, {"retries", "0"}};
  auto wrong = make_fs(wrong_ca);
  expect_network_error(url, [&] { wrong->cat_file(url, {}, {}, kBound); });
  // ... while it is the right one for its own server.
  other.write("o.txt", "other");
  EXPECT_EQ(wrong->cat_file(other.url("o.txt"), {}, {}, kBound), "other");

  // A CA file that does not exist: the option is wrong, not the network; the error names the
  // URL, and it is not retried (with the default retries it fails at once).
  Options missing{{"ca_path", tmp / "no-such-ca.pem"}};
  const auto before_missing = std::chrono::steady_clock::now();
  try {
    make_fs(missing)->cat_file(url, {}, {}, kBound);
    ADD_FAILURE() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.path(), url);
    EXPECT_NE(std::string(e.what()).find("ca_path"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - before_missing, std::chrono::milliseconds(400));

  // Verification failures are permanent: not retried even with the default retries.
  const auto before_untrusted = std::chrono::steady_clock::now();
  expect_network_error(url, [&] { make_fs({})->cat_file(url, {}, {}, kBound); });
  EXPECT_LT(std::chrono::steady_clock::now() - before_untrusted, std::chrono::milliseconds(400));

  // The failures left the server and the engine usable.
  EXPECT_EQ(trusting_fs(tls)->cat_file(url, {}, {}, kBound), "secret bytes");
}

TEST(HttpTls, InsecureSkipsVerification) {
  NginxServer& tls = NginxServer::shared_tls();
  tls.write("insecure/a.txt", "unverified");
  tls.write("insecure/d/b.txt", "b");
  Options insecure{{"insecure", "true"}, {"retries", "0"}};
  auto fs = make_fs(insecure);
  EXPECT_EQ(fs->cat_file(tls.url("insecure/a.txt"), {}, {}, kBound), "unverified");
  EXPECT_EQ(fs->info(tls.url("insecure/a.txt"), kBound).size, 10u);
  EXPECT_EQ(names(fs->ls(tls.url("insecure/"), kBound)),
            (std::vector<std::string>{tls.url("insecure/a.txt"), tls.url("insecure/d/")}));
  // A wrong CA does not matter either when verification is off.
  NginxServer::Options o;
  o.tls = true;
  NginxServer other(o);
  Options insecure_wrong_ca{{"insecure", "true"}, {"ca_path", other.ca_path()}};
  EXPECT_EQ(make_fs(insecure_wrong_ca)->cat_file(tls.url("insecure/d/b.txt"), {}, {}, kBound), "b");
}

// --- HTTP/2 ------------------------------------------------------------------------------------

Task<http::Engine*> engine_of(IoThread* io) { co_return &http::Engine::of(*io); }

Task<http::Response> do_fetch(IoThread* io, http::Request rq, http::TransportOptions op) {
  http::Engine& engine = http::Engine::of(*io);
  auto task = engine.fetch(std::move(rq), std::move(op));
  http::Response r = co_await std::move(task);
  co_return r;
}

TEST(HttpTls, Http2MultiplexesHundredConcurrentCats) {
  NginxServer& tls = NginxServer::shared_tls();
  constexpr std::size_t kN = 100;  // below nginx's 128 concurrent streams per connection
  std::vector<std::string> urls;
  for (std::size_t i = 0; i < kN; ++i) {
    const std::string rel = "h2/f" + std::to_string(i) + ".txt";
    tls.write(rel, "file " + std::to_string(i));
    urls.push_back(tls.url(rel));
  }

  // One filesystem on its own IoThread: the engine's counters are this test's alone.
  OwnIo own("tls-h2");
  auto fs = trusting_fs(tls, {}, own.io);
  http::Engine* engine = testing::run(*own.io, engine_of(own.io.get()));
  const std::uint64_t before = engine->connections_opened();
  CatOptions all_at_once;
  all_at_once.batch_size = static_cast<int>(kN);
  CatResult got = fs->cat(Paths(urls), all_at_once, kBound);
  const std::uint64_t opened = engine->connections_opened() - before;
  ASSERT_EQ(got.items.size(), kN);
  for (std::size_t i = 0; i < kN; ++i) {
    EXPECT_EQ(got.items.at(urls[i]).value(), "file " + std::to_string(i));
  }
  RecordProperty("connections_http2", std::to_string(opened));
  EXPECT_GE(opened, 1u);
  EXPECT_LE(opened, 2u) << "100 concurrent requests over HTTP/2 should share one connection";
  // One GET each (no retries, no duplicates), all HTTP/2.
  EXPECT_EQ(log_lines(tls.access_log(), {"GET /h2/f"}), kN) << tls.access_log();
  EXPECT_EQ(log_lines(tls.access_log(), {"GET /h2/f", " HTTP/2.0\" 200 "}), kN);

  // Control: the same 100 requests at once through an engine told not to use HTTP/2 open
  // (nearly) a connection each, so the bound above would catch a lost multiplexing.
  OwnIo own11("tls-h1");
  http::Engine* engine11 = testing::run(*own11.io, engine_of(own11.io.get()));
  const std::uint64_t before11 = engine11->connections_opened();
  IoThread* iop = own11.io.get();
  http::TransportOptions h1;
  h1.http2 = false;
  h1.ca_path = tls.ca_path();
  auto make = [iop, &urls, &h1](std::size_t i) {
    http::Request rq;
    rq.url = urls[i];
    return do_fetch(iop, std::move(rq), h1);
  };
  GatherOptions window;
  window.batch_size = static_cast<int>(kN);
  auto results = testing::run(*own11.io, gather<http::Response>(kN, make, window));
  ASSERT_EQ(results.size(), kN);
  for (std::size_t i = 0; i < kN; ++i) {
    ASSERT_TRUE(results[i].has_value()) << i;
    EXPECT_EQ(results[i].value().body, "file " + std::to_string(i));
  }
  const std::uint64_t opened11 = engine11->connections_opened() - before11;
  RecordProperty("connections_http1", std::to_string(opened11));
  EXPECT_GE(opened11, 20u) << "HTTP/1.1 control: concurrent requests should need many "
                              "connections, or the HTTP/2 bound proves nothing";
  EXPECT_EQ(log_lines(tls.access_log(), {"GET /h2/f", " HTTP/1.1\" 200 "}), kN);
}

TEST(HttpTls, Http2ConcurrentRoundsReuseTheEngine) {
  // Rounds of concurrent cats through one filesystem: each round after the first reuses the
  // engine's pooled curl handles, whose transfers ended while their HTTP/2 connection still
  // carried other streams. Every file of every round must come back.
  NginxServer& tls = NginxServer::shared_tls();
  constexpr std::size_t kN = 50;
  std::vector<std::string> urls;
  for (std::size_t i = 0; i < kN; ++i) {
    const std::string rel = "rounds/f" + std::to_string(i) + ".txt";
    tls.write(rel, pattern(100 + i * 100));
    urls.push_back(tls.url(rel));
  }
  OwnIo own("tls-rounds");
  auto fs = trusting_fs(tls, {}, own.io);
  for (int round = 0; round < 3; ++round) {
    CatOptions opts;
    opts.batch_size = static_cast<int>(kN);
    opts.on_error = OnError::kReturn;
    CatResult got = fs->cat(Paths(urls), opts, kBound);
    ASSERT_EQ(got.items.size(), kN);
    std::size_t failed = 0;
    std::string first_error;
    for (std::size_t i = 0; i < kN; ++i) {
      try {
        EXPECT_EQ(got.items.at(urls[i]).value(), pattern(100 + i * 100));
      } catch (const std::exception& e) {
        if (failed++ == 0) first_error = e.what();
      }
    }
    EXPECT_EQ(failed, 0u) << "round " << round << ", first failure: " << first_error;
  }
}

TEST(HttpTls, RangedReadsOverHttp2) {
  NginxServer& tls = NginxServer::shared_tls();
  const std::string data = binary(50'000);
  tls.write("range/r.bin", data);
  const std::string url = tls.url("range/r.bin");
  auto fs = trusting_fs(tls);
  EXPECT_EQ(fs->cat_file(url, 100, 200, kBound), data.substr(100, 100));
  EXPECT_EQ(fs->cat_file(url, -10, {}, kBound), data.substr(data.size() - 10));
  EXPECT_EQ(fs->cat_file(url, 49'990, 60'000, kBound), data.substr(49'990));
  EXPECT_EQ(fs->cat_file(url, 60'000, {}, kBound), "");
  auto ranges = fs->cat_ranges({url, url, url}, {0, 1000, 40'000}, {10, 1010, 50'000}, kBound);
  ASSERT_EQ(ranges.size(), 3u);
  EXPECT_EQ(ranges[0].value(), data.substr(0, 10));
  EXPECT_EQ(ranges[1].value(), data.substr(1000, 10));
  EXPECT_EQ(ranges[2].value(), data.substr(40'000));
  // nginx answered them as ranges (206), over HTTP/2.
  EXPECT_GE(log_lines(tls.access_log(), {"GET /range/r.bin HTTP/2.0\" 206 "}), 5u)
      << tls.access_log();

  // A seekable file reads through ranges too.
  OpenOptions blocks;
  blocks.cache_type = "blockcache";
  blocks.block_size = 4096;
  File file = fs->open(url, "rb", blocks, kBound);
  EXPECT_EQ(file.size(), data.size());
  file.seek(30'000);
  EXPECT_EQ(file.read(100, kBound), data.substr(30'000, 100));
  file.seek(5);
  EXPECT_EQ(file.read(10, kBound), data.substr(5, 10));
}

TEST(HttpTls, RedirectsFromHttpsToHttps) {
  NginxServer::Options o;
  o.tls = true;
  o.extra_server_config =
      "location /old/ { rewrite ^/old/(.*)$ /new/$1 permanent; }\n"
      "location = /hop1 { return 302 /hop2; }\n"
      "location = /hop2 { return 307 /new/target.txt; }\n";
  NginxServer tls(o);
  const std::string data = pattern(20'000);
  tls.write("new/target.txt", data);
  tls.write("new/dir/x.txt", "x");
  auto fs = trusting_fs(tls);

  // Location is https://127.0.0.1:<port>/new/... (nginx makes it absolute, same scheme).
  EXPECT_EQ(fs->cat_file(tls.url("old/target.txt"), {}, {}, kBound), data);
  EXPECT_EQ(fs->cat_file(tls.url("old/target.txt"), 10, 20, kBound), data.substr(10, 10));
  EXPECT_EQ(fs->cat_file(tls.url("hop1"), {}, {}, kBound), data);
  FileInfo info = fs->info(tls.url("hop1"), kBound);
  EXPECT_EQ(info.size, data.size());
  EXPECT_EQ(info.extra.at("url"), tls.url("new/target.txt"));
  // A directory without its slash: nginx's own 301 to "dir/" over https.
  EXPECT_EQ(names(fs->ls(tls.url("new/dir"), kBound)),
            (std::vector<std::string>{tls.url("new/dir/x.txt")}));
  testing::TempDir tmp("asyncfs-tls-redirect");
  fs->get_file(tls.url("old/target.txt"), tmp / "t.txt", nullptr, kBound);
  EXPECT_EQ(testing::read_local_file(tmp / "t.txt"), data);
  const std::string log = tls.access_log();
  EXPECT_NE(log.find("/old/target.txt HTTP/2.0\" 301"), std::string::npos) << log;
  EXPECT_NE(log.find("/hop2 HTTP/2.0\" 307"), std::string::npos) << log;
}

TEST(HttpTls, WritesOverHttp2) {
  NginxServer& tls = NginxServer::shared_tls();
  auto fs = trusting_fs(tls);
  const std::string u = tls.url("write/one.bin");
  const std::string body = binary(200'000);
  fs->pipe_file(u, body, WriteMode::kOverwrite, kBound);
  EXPECT_EQ(testing::read_local_file(tls.path("write/one.bin")), body);
  EXPECT_EQ(fs->cat_file(u, {}, {}, kBound), body);
  testing::TempDir tmp("asyncfs-tls-put");
  const std::string up = pattern((1 << 20) + 3);
  testing::write_local_file(tmp / "up.bin", up);
  fs->put_file(tmp / "up.bin", tls.url("write/up.bin"), nullptr, kBound);
  EXPECT_EQ(testing::read_local_file(tls.path("write/up.bin")), up);
  fs->rm_file(u, kBound);
  EXPECT_FALSE(fs->exists(u, kBound));
  EXPECT_NE(tls.access_log().find("PUT /write/up.bin HTTP/2.0\" 201"), std::string::npos)
      << tls.access_log();
}

}  // namespace
}  // namespace asyncfs
