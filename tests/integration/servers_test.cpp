// Smoke tests of the test servers themselves (nginx and fault_server.py), driven by
// /usr/bin/curl so that they do not depend on the HTTP backend under development.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/fault_server.hpp"
#include "support/nginx_server.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::size_t kDataSize = 14999;  // fault_server.py DATA

struct Response {
  int curl_exit = -1;
  int status = 0;
  std::string headers;  // raw header block(s), lower-cased names kept as sent
  std::string body;
  std::string write_out;  // whatever followed the status in -w

  // Last occurrence wins (after redirects, the final response's header).
  std::string header(const std::string& name) const {
    std::string found;
    std::istringstream in(headers);
    std::string line;
    while (std::getline(in, line)) {
      if (line.size() > name.size() && line[name.size()] == ':' &&
          strncasecmp(line.c_str(), name.c_str(), name.size()) == 0) {
        found = line.substr(name.size() + 1);
        while (!found.empty() && (found.front() == ' ')) found.erase(0, 1);
        while (!found.empty() && (found.back() == '\r' || found.back() == ' ')) found.pop_back();
      }
    }
    return found;
  }
  bool has_header(const std::string& name) const {
    return headers.find("\n" + name + ":") != std::string::npos ||
           headers.find("\n" + name + ": ") != std::string::npos;
  }
};

// Runs curl with a hard time bound; the extra `-w` tail lets tests read more transfer data.
Response curl(const std::vector<std::string>& args, const std::string& extra_write_out = "") {
  TempDir dir("asyncfs-curl");
  std::vector<std::string> argv = {
      "/usr/bin/curl", "-sS", "--max-time", "10", "-D",
      dir / "headers", "-o",  dir / "body", "-w", "%{http_code}" + extra_write_out};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult run = run_process(argv, std::chrono::seconds(15));
  Response r;
  r.curl_exit = run.exit_code;
  r.status = std::atoi(run.out.substr(0, 3).c_str());
  r.write_out = run.out.size() > 3 ? run.out.substr(3) : "";
  if (local_exists(dir / "headers")) r.headers = read_local_file(dir / "headers");
  if (local_exists(dir / "body")) r.body = read_local_file(dir / "body");
  return r;
}

std::string data_prefix(std::size_t n) {
  std::string all;
  while (all.size() < kDataSize) all += "some test data\n";
  all.resize(kDataSize);
  return all.substr(0, n);
}

// ------------------------------------------------------------------------------ nginx

TEST(NginxServerTest, ServesFileWithLengthAndRanges) {
  NginxServer& nginx = NginxServer::shared();
  nginx.write("serve/a.txt", "hello, nginx");
  auto r = curl({nginx.url("serve/a.txt")});
  ASSERT_EQ(r.curl_exit, 0) << nginx.error_log();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello, nginx");
  EXPECT_EQ(r.header("Content-Length"), "12");
  EXPECT_EQ(r.header("Accept-Ranges"), "bytes");
  EXPECT_THAT(r.headers, HasSubstr("HTTP/1.1 200"));

  auto ranged = curl({"-r", "7-11", nginx.url("/serve/a.txt")});
  EXPECT_EQ(ranged.status, 206);
  EXPECT_EQ(ranged.body, "nginx");
  EXPECT_EQ(ranged.header("Content-Range"), "bytes 7-11/12");

  EXPECT_EQ(curl({"-r", "100-200", nginx.url("serve/a.txt")}).status, 416);
  EXPECT_EQ(curl({nginx.url("serve/missing.txt")}).status, 404);
}

TEST(NginxServerTest, ListsDirectoriesAsHtml) {
  NginxServer& nginx = NginxServer::shared();
  nginx.write("list/x.txt", "x");
  nginx.write("list/sub/y.txt", "y");
  auto r = curl({nginx.url("list/")});
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.header("Content-Type"), HasSubstr("text/html"));
  EXPECT_THAT(r.body, HasSubstr("href=\"x.txt\""));
  EXPECT_THAT(r.body, HasSubstr("href=\"sub/\""));
  EXPECT_THAT(r.body, HasSubstr("href=\"../\""));
  // Without the trailing slash nginx redirects to it.
  auto bare = curl({nginx.url("list")});
  EXPECT_EQ(bare.status, 301);
  EXPECT_THAT(bare.header("Location"), HasSubstr("/list/"));
}

TEST(NginxServerTest, AcceptsPutMkcolDelete) {
  NginxServer& nginx = NginxServer::shared();
  auto put = curl({"-X", "PUT", "--data-binary", "payload", nginx.url("dav/deep/er/p.bin")});
  EXPECT_EQ(put.status, 201) << nginx.error_log();
  EXPECT_EQ(read_local_file(nginx.path("dav/deep/er/p.bin")), "payload");
  EXPECT_EQ(curl({nginx.url("dav/deep/er/p.bin")}).body, "payload");
  // Overwrite answers 204.
  EXPECT_EQ(curl({"-X", "PUT", "--data-binary", "v2", nginx.url("dav/deep/er/p.bin")}).status, 204);
  // Chunked upload (no Content-Length), as a streaming PUT would send it.
  auto chunked = curl({"-X", "PUT", "-H", "Transfer-Encoding: chunked", "--data-binary", "streamed",
                       nginx.url("dav/chunked.bin")});
  EXPECT_EQ(chunked.status, 201);
  EXPECT_EQ(read_local_file(nginx.path("dav/chunked.bin")), "streamed");

  EXPECT_EQ(curl({"-X", "MKCOL", nginx.url("dav/newdir/")}).status, 201);
  EXPECT_TRUE(local_exists(nginx.path("dav/newdir")));
  EXPECT_EQ(curl({"-X", "DELETE", nginx.url("dav/deep/er/p.bin")}).status, 204);
  EXPECT_FALSE(local_exists(nginx.path("dav/deep/er/p.bin")));
  EXPECT_EQ(curl({"-X", "DELETE", nginx.url("dav/deep/er/p.bin")}).status, 404);
}

TEST(NginxServerTest, KeepsConnectionsAliveAndDoesNotCompress) {
  NginxServer& nginx = NginxServer::shared();
  nginx.write("ka/one.txt", std::string(4096, 'a'));
  // Two transfers in one curl run: the second reuses the connection (0 new connects).
  TempDir dir("asyncfs-ka");
  RunResult run = run_process(
      {"/usr/bin/curl", "-sS", "--max-time", "10", "--compressed", "-o", dir / "1", "-o", dir / "2",
       "-w", "%{num_connects}|%{header_json}\n", nginx.url("ka/one.txt"), nginx.url("ka/one.txt")},
      std::chrono::seconds(15));
  ASSERT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("1|"));
  EXPECT_THAT(run.out, HasSubstr("\n0|"));
  EXPECT_THAT(run.out, Not(HasSubstr("content-encoding")));
}

TEST(NginxServerTest, OptionsEnableGzipAndExtraConfig) {
  NginxServer::Options options;
  options.gzip = true;
  options.extra_server_config = "location /forbidden/ { return 403; }";
  NginxServer nginx(options);
  nginx.write("z.txt", std::string(10000, 'z'));
  auto r = curl({"--compressed", nginx.url("z.txt")});
  EXPECT_EQ(r.header("Content-Encoding"), "gzip");
  EXPECT_EQ(r.body, std::string(10000, 'z'));  // curl decoded it
  EXPECT_EQ(curl({nginx.url("forbidden/x")}).status, 403);
  EXPECT_NE(nginx.port(), NginxServer::shared().port());
}

TEST(NginxServerTest, DestructorStopsAndReaps) {
  pid_t pid;
  std::string url;
  {
    NginxServer nginx;
    pid = nginx.pid();
    url = nginx.url();
    EXPECT_EQ(kill(pid, 0), 0);
  }
  EXPECT_EQ(kill(pid, 0), -1);  // reaped: the pid no longer exists
  EXPECT_EQ(errno, ESRCH);
  EXPECT_NE(curl({"--connect-timeout", "2", url}).curl_exit, 0);
}

TEST(NginxServerTest, SharedIsOneServer) {
  EXPECT_EQ(&NginxServer::shared(), &NginxServer::shared());
  EXPECT_GT(NginxServer::shared().port(), 0);
}

// ------------------------------------------------------------------------------ faults

class FaultServerTest : public ::testing::Test {
 protected:
  FaultServer& faults = FaultServer::shared();
};

TEST_F(FaultServerTest, EchoReportsRequest) {
  auto r = curl({"-H", "X-Probe: 42", faults.url("echo/some/where?x=1")});
  ASSERT_EQ(r.status, 200) << faults.log();
  EXPECT_THAT(r.body, HasSubstr("\"method\": \"GET\""));
  EXPECT_THAT(r.body, HasSubstr("\"path\": \"/echo/some/where\""));
  EXPECT_THAT(r.body, HasSubstr("\"x-probe\": \"42\""));
  auto post = curl({"--data-binary", "abc", faults.url("echo")});
  EXPECT_THAT(post.body, HasSubstr("\"method\": \"POST\""));
  EXPECT_THAT(post.body, HasSubstr("\"body_length\": 3"));
}

TEST_F(FaultServerTest, FileHonoursRangesAndReportsUnsatisfiable) {
  auto r = curl({faults.url("file/a")});
  EXPECT_EQ(r.body, data_prefix(kDataSize));
  auto ranged = curl({"-r", "5-8", faults.url("file/a")});
  EXPECT_EQ(ranged.status, 206);
  EXPECT_EQ(ranged.body, "test");
  EXPECT_EQ(ranged.header("Content-Range"), "bytes 5-8/14999");
  auto sized = curl({faults.url("file/b?size=40&etag=%22e1%22")});
  EXPECT_EQ(sized.body, "abcdefghijklmnopqrstuvwxyz0123456789abcd");
  EXPECT_EQ(sized.header("ETag"), "\"e1\"");
  auto bad = curl({"-r", "20000-", faults.url("file/a")});
  EXPECT_EQ(bad.status, 416);
  EXPECT_EQ(bad.header("Content-Range"), "bytes */14999");
}

TEST_F(FaultServerTest, ChunkedHasNoContentLength) {
  auto r = curl({faults.url("chunked?size=100&chunk=7")});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Transfer-Encoding"), "chunked");
  EXPECT_FALSE(r.has_header("Content-Length"));
  EXPECT_EQ(r.body.size(), 100u);
}

TEST_F(FaultServerTest, NorangeIgnoresRange) {
  auto r = curl({"-r", "0-4", faults.url("norange")});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), kDataSize);
  EXPECT_FALSE(r.has_header("Accept-Ranges"));
  auto none = curl({"-I", faults.url("norange?accept_ranges=none")});
  EXPECT_EQ(none.header("Accept-Ranges"), "none");
}

TEST_F(FaultServerTest, GzipEncodedBody) {
  auto head = curl({"-I", faults.url("gzip")});
  EXPECT_EQ(head.header("Content-Encoding"), "gzip");
  auto raw = curl({faults.url("gzip")});  // curl does not decode without --compressed
  EXPECT_EQ(head.header("Content-Length"), std::to_string(raw.body.size()));
  EXPECT_LT(raw.body.size(), kDataSize);
  auto decoded = curl({"--compressed", faults.url("gzip")});
  EXPECT_EQ(decoded.body, data_prefix(kDataSize));
}

TEST_F(FaultServerTest, RedirectsSameHostAndOtherHost) {
  for (const char* code : {"301", "302", "307", "308"}) {
    auto r = curl({faults.url(std::string("redirect/") + code + "/file/x?size=3")});
    EXPECT_EQ(r.status, std::atoi(code));
    EXPECT_EQ(r.header("Location"), "/file/x?size=3");
    auto followed = curl({"-L", faults.url(std::string("redirect/") + code + "/file/x?size=3")});
    EXPECT_EQ(followed.status, 200);
    EXPECT_EQ(followed.body, "abc");
  }
  auto other = curl({faults.url("redirect-host/302/echo/t")});
  EXPECT_EQ(other.header("Location"), faults.other_host_url("echo/t"));
  auto back = curl({faults.other_host_url("redirect-host/302/echo/t")});
  EXPECT_EQ(back.header("Location"), faults.url("echo/t"));

  // The target echoes Authorization back: curl itself drops it across hosts unless trusted.
  auto dropped =
      curl({"-L", "-H", "Authorization: Bearer s3cret", faults.url("redirect-host/302/echo/t")});
  EXPECT_EQ(dropped.status, 200);
  EXPECT_THAT(dropped.body, Not(HasSubstr("s3cret")));
  auto leaked =
      curl({"-L", "--location-trusted", "-u", "user:pw", faults.url("redirect-host/302/echo/t")});
  EXPECT_THAT(leaked.body, HasSubstr("\"authorization\": \"Basic"));
  EXPECT_THAT(leaked.header("X-Received-Authorization"), HasSubstr("Basic"));

  auto chain = curl({"-L", faults.url("redirect-chain/3/file/c?size=2")}, "|%{num_redirects}");
  EXPECT_EQ(chain.body, "ab");
  EXPECT_EQ(chain.write_out, "|3");
}

TEST_F(FaultServerTest, RedirectLoopIsDetectedByClient) {
  auto r = curl({"-L", "--max-redirs", "5", faults.url("loop/a")});
  EXPECT_EQ(r.curl_exit, 47);  // CURLE_TOO_MANY_REDIRECTS
  EXPECT_EQ(curl({faults.url("loop/self")}).header("Location"), "/loop/self");
}

TEST_F(FaultServerTest, StatusCodes) {
  for (int code : {401, 403, 404, 416, 500}) {
    EXPECT_EQ(curl({faults.url("status/" + std::to_string(code))}).status, code);
  }
  EXPECT_THAT(curl({faults.url("status/401")}).header("WWW-Authenticate"), HasSubstr("Basic"));
  EXPECT_EQ(curl({faults.url("status/416")}).header("Content-Range"), "bytes */14999");
}

TEST_F(FaultServerTest, FlakySucceedsAfterNFailuresWithRetryAfter) {
  const std::string path = "flaky/503?fail=2&key=servers-test-503";
  auto first = curl({faults.url(path)});
  EXPECT_EQ(first.status, 503);
  EXPECT_EQ(first.header("Retry-After"), "0");
  EXPECT_EQ(first.header("X-Attempt"), "1");
  EXPECT_EQ(curl({faults.url(path)}).status, 503);
  auto ok = curl({"-r", "0-3", faults.url(path)});
  EXPECT_EQ(ok.status, 206);
  EXPECT_EQ(ok.body, "some");
  EXPECT_EQ(curl({faults.url("count/" + path)}).body, "3\n");

  auto date = curl({faults.url("flaky/429?fail=1&key=servers-test-429&retry_after=date")});
  EXPECT_EQ(date.status, 429);
  EXPECT_THAT(date.header("Retry-After"), HasSubstr(" GMT"));
  auto secs = curl({faults.url("flaky/429?fail=1&key=servers-test-429s&retry_after=2")});
  EXPECT_EQ(secs.header("Retry-After"), "2");

  // Each distinct key counts separately.
  EXPECT_EQ(curl({faults.url("flaky/503?fail=1&key=servers-test-other")}).status, 503);

  auto reset = curl({faults.url("flaky/reset?fail=1&key=servers-test-reset")});
  EXPECT_NE(reset.curl_exit, 0);
  EXPECT_EQ(curl({faults.url("flaky/reset?fail=1&key=servers-test-reset")}).body.size(), kDataSize);
}

TEST_F(FaultServerTest, BrokenBodies) {
  auto reset = curl({faults.url("reset")});
  EXPECT_EQ(reset.curl_exit, 56);  // CURLE_RECV_ERROR: connection reset
  auto truncated = curl({faults.url("truncated?size=1000&send=10")});
  EXPECT_EQ(truncated.curl_exit, 18);  // CURLE_PARTIAL_FILE
  EXPECT_EQ(truncated.body.size(), 10u);
  auto huge = curl({faults.url("huge-length")});
  EXPECT_EQ(huge.curl_exit, 18);
  EXPECT_EQ(curl({"-I", faults.url("huge-length")}).header("Content-Length"), "1000000000000000");
}

TEST_F(FaultServerTest, SlowDripTripsLowSpeedLimit) {
  const auto start = std::chrono::steady_clock::now();
  auto r = curl(
      {"--speed-limit", "100", "--speed-time", "1", faults.url("slow?size=100&interval_ms=100")});
  EXPECT_EQ(r.curl_exit, 28);  // CURLE_OPERATION_TIMEDOUT
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  auto complete = curl({faults.url("slow?size=3&interval_ms=10")});
  EXPECT_EQ(complete.body, "abc");
}

TEST_F(FaultServerTest, HeadRefusedGetWorks) {
  EXPECT_EQ(curl({"-I", faults.url("nohead/f")}).status, 405);
  EXPECT_EQ(curl({"-I", faults.url("nohead/f?code=403")}).status, 403);
  EXPECT_EQ(curl({"-r", "0-3", faults.url("nohead/f")}).status, 206);
  auto no_ranges = curl({"-r", "0-3", faults.url("nohead/f?ranges=0")});
  EXPECT_EQ(no_ranges.status, 200);
  EXPECT_EQ(no_ranges.body.size(), kDataSize);
}

TEST_F(FaultServerTest, HtmlPagesAndIndexes) {
  auto page = curl({faults.url("html/page.html")});
  EXPECT_THAT(page.header("Content-Type"), HasSubstr("text/html"));
  EXPECT_THAT(page.body, HasSubstr("Not a directory listing"));

  auto apache = curl({faults.url("apache/")});
  EXPECT_THAT(apache.body, HasSubstr("href=\"?C=N;O=D\""));
  EXPECT_THAT(apache.body, HasSubstr("href=\"subdir/\""));
  EXPECT_THAT(apache.body, HasSubstr("Parent Directory"));

  auto nginx_style = curl({faults.url("nginx/")});
  EXPECT_THAT(nginx_style.body, HasSubstr("<a href=\"../\">../</a>"));
  EXPECT_THAT(nginx_style.body, HasSubstr("href=\"a%20b.txt\""));

  auto tricky = curl({faults.url("tricky/")});
  for (const std::string link :
       {"#top", "mailto:", "?C=N;O=D", "../", "/tricky/abs.txt", "dir1/deeper/file.txt",
        "http://localhost:", "HREF=\"upper.txt\"", "href='quoted.txt'"}) {
    EXPECT_THAT(tricky.body, HasSubstr(link));
  }
  EXPECT_THAT(tricky.body, HasSubstr(faults.url("tricky/full.txt")));
  EXPECT_FALSE(curl({faults.url("tricky/?no_type=1")}).has_header("Content-Type"));
  EXPECT_EQ(curl({faults.url("tricky/abs.txt")}).body.size(), kDataSize);
  EXPECT_THAT(curl({faults.url("tricky/dir1/")}).body, HasSubstr("inner.txt"));
}

TEST_F(FaultServerTest, SinkStoresUploads) {
  auto put = curl({"-X", "PUT", "--data-binary", "stored!", faults.url("sink/servers-a")});
  EXPECT_EQ(put.status, 201);
  EXPECT_EQ(curl({faults.url("sink/servers-a")}).body, "stored!");
  EXPECT_EQ(curl({"-r", "1-3", faults.url("sink/servers-a")}).body, "tor");
  auto post = curl(
      {"-H", "Transfer-Encoding: chunked", "--data-binary", "xyz", faults.url("sink/servers-a")});
  EXPECT_EQ(post.status, 204);
  auto meta = curl({faults.url("sink-meta/servers-a")});
  EXPECT_THAT(meta.body, HasSubstr("\"method\": \"POST\""));
  EXPECT_THAT(meta.body, HasSubstr("\"chunked\": true"));
  EXPECT_EQ(curl({faults.url("sink/servers-a")}).body, "xyz");
  EXPECT_EQ(curl({"-X", "DELETE", faults.url("sink/servers-a")}).status, 204);
  EXPECT_EQ(curl({faults.url("sink/servers-a")}).status, 404);
}

TEST_F(FaultServerTest, FsspecStyleHeaderSwitches) {
  EXPECT_EQ(curl({"-I", faults.url("index/realfile")}).status, 405);
  auto head =
      curl({"-I", "-H", "head_ok: 1", "-H", "give_length: 1", faults.url("index/realfile")});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), std::to_string(kDataSize));
  auto get = curl({faults.url("index/realfile")});
  EXPECT_FALSE(get.has_header("Content-Length"));
  EXPECT_EQ(get.body.size(), kDataSize);
  auto ranged = curl({"-r", "0-3", "-H", "give_range: 1", faults.url("index/realfile")});
  EXPECT_EQ(ranged.status, 206);
  EXPECT_EQ(ranged.header("Content-Range"), "bytes 0-3/14999");
  EXPECT_THAT(curl({faults.url("index")}).body, HasSubstr("href=\"realfile\""));
  EXPECT_EQ(curl({faults.url("unauthorized")}).status, 401);
  EXPECT_EQ(curl({"-H", "redirect: 1", faults.url("index/otherfile")}).status, 301);
}

TEST(FaultServerLifecycleTest, DestructorStopsAndReaps) {
  pid_t pid;
  {
    FaultServer faults;
    pid = faults.pid();
    EXPECT_EQ(curl({faults.url("echo")}).status, 200);
  }
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

}  // namespace
}  // namespace asyncfs::testing
