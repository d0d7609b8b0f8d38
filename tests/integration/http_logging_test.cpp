// The debug log of HTTP requests on both transports: each request, its retry, connection
// reuse, and headers at trace level, with no secret in any record.

#include <gtest/gtest.h>

#include <string>

#include "asyncfs/asyncfs.hpp"
#include "asyncfs/backends/http.hpp"
#include "support/capture_log.hpp"
#include "support/fault_server.hpp"

namespace asyncfs {
namespace {

using testing::CaptureLog;
using testing::FaultServer;

class HttpLogging : public ::testing::TestWithParam<std::string> {};

std::shared_ptr<AsyncFileSystem> make_fs(const std::string& transport) {
  Options opts{{"retry_backoff", "0.01"},
               {"retry_max_wait", "1"},
               {"transport", transport},
               {"headers", R"({"X-Api-Key": "k123secret"})"}};
  return http::make_filesystem(http::HttpOptions::from(std::move(opts), nullptr));
}

TEST_P(HttpLogging, RequestsRetriesAndHeadersAreLoggedWithoutSecrets) {
  auto& faults = FaultServer::shared();
  const std::string transport = GetParam() == "native" ? "auto" : "curl";
  const std::string via = "via " + GetParam();
  auto fs = make_fs(transport);
  const std::string port = std::to_string(faults.port());
  const std::string url =
      "http://alice:pw-secret-9@127.0.0.1:" + port + "/file?size=100&token=qs-secret-1";
  const std::string flaky = faults.url("flaky/503?fail=1&key=logging-" + GetParam());
  {
    CaptureLog capture(LogLevel::kTrace);
    EXPECT_EQ(fs->cat_file(url).size(), 100u);
    EXPECT_EQ(fs->cat_file(url).size(), 100u);
    EXPECT_FALSE(fs->cat_file(flaky).empty());
    const std::string all = capture.dump();

    const std::string shown = "GET http://127.0.0.1:" + port + "/file?size=100&token=<redacted>";
    EXPECT_EQ(capture.matching({"debug http", shown, via, ": 200 100 B in"}).size(), 2u) << all;
    // The first request may find a connection earlier tests left in the pool; the second
    // always reuses the first one's.
    EXPECT_EQ(capture.matching({shown, " connection"}).size(), 2u) << all;
    EXPECT_GE(capture.matching({shown, "reused connection"}).size(), 1u) << all;
    EXPECT_EQ(capture.matching({"info http retry 1 of GET", "/flaky/503", "HTTP 503"}).size(), 1u)
        << all;
    EXPECT_EQ(capture.matching({"/flaky/503", via, ": 503 "}).size(), 1u) << all;
    EXPECT_GE(capture.matching({"trace http", "X-Api-Key: <redacted>"}).size(), 3u) << all;
    EXPECT_GE(capture.matching({"trace http", "Authorization: Basic <redacted>"}).size(), 2u)
        << all;
    EXPECT_GE(capture.matching({"trace http", "<   content-length: 100"}).size(), 2u) << all;
    for (const char* secret : {"pw-secret-9", "qs-secret-1", "k123secret",
                               "YWxpY2U6cHctc2VjcmV0LTk" /* base64 of alice:pw-secret-9 */}) {
      EXPECT_EQ(all.find(secret), std::string::npos) << secret << " in\n" << all;
    }
  }
  // Back at the default level: nothing is formatted or delivered.
  CaptureLog quiet(LogLevel::kWarn);
  EXPECT_EQ(fs->cat_file(url).size(), 100u);
  EXPECT_TRUE(quiet.lines().empty()) << quiet.dump();
}

TEST_P(HttpLogging, AFailedRequestSaysWhyWithoutItsUrlSecrets) {
  auto fs = make_fs(GetParam() == "native" ? "auto" : "curl");
  CaptureLog capture(LogLevel::kDebug);
  // Port 1 on loopback refuses: a connection failure, retried, then reported.
  EXPECT_THROW(fs->cat_file("http://bob:pw-secret-7@127.0.0.1:1/x?sig=s3cr3t"), Error);
  const std::string all = capture.dump();
  EXPECT_GE(
      capture
          .matching({"GET http://127.0.0.1:1/x?sig=<redacted>", "failed after", "cannot connect"})
          .size(),
      1u)
      << all;
  EXPECT_EQ(all.find("pw-secret-7"), std::string::npos) << all;
  EXPECT_EQ(all.find("s3cr3t"), std::string::npos) << all;
}

INSTANTIATE_TEST_SUITE_P(Transports, HttpLogging, ::testing::Values("native", "curl"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace asyncfs
