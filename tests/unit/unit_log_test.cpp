// The log's level handling, sink routing and redaction (core/log, core/http/redact).

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "asyncfs/errors.hpp"
#include "asyncfs/log.hpp"
#include "core/http/redact.hpp"
#include "core/log.hpp"
#include "support/capture_log.hpp"
#include "support/expect_kind.hpp"

namespace asyncfs {
namespace {

using testing::CaptureLog;

TEST(Log, LevelNamesParseBothWays) {
  for (LogLevel l : {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn,
                     LogLevel::kError, LogLevel::kOff}) {
    EXPECT_EQ(parse_log_level(log_level_name(l)), l);
  }
  EXPECT_EQ(parse_log_level("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(parse_log_level("Warning"), LogLevel::kWarn);
}

TEST(Log, AnUnknownLevelNamesItsSourceAndTheChoices) {
  try {
    parse_log_level("verbose", "ASYNCFS_LOG");
    FAIL() << "accepted";
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("ASYNCFS_LOG"), std::string::npos) << what;
    EXPECT_NE(what.find("verbose"), std::string::npos) << what;
    EXPECT_NE(what.find("debug"), std::string::npos) << what;
  }
}

TEST(Log, TheEnvironmentSetsTheLevel) {
  ::setenv("ASYNCFS_LOG", "trace", 1);
  EXPECT_EQ(log_level_from_env(), LogLevel::kTrace);
  ::setenv("ASYNCFS_LOG", "loud", 1);
  EXPECT_KIND(kInvalidArgument, log_level_from_env());
  ::unsetenv("ASYNCFS_LOG");
  EXPECT_EQ(log_level_from_env(), LogLevel::kWarn);
}

TEST(Log, RecordsBelowTheLevelAreNotFormattedOrDelivered) {
  CaptureLog capture(LogLevel::kInfo);
  log::debug("test", "hidden {}", 1);
  log::info("test", "shown {}", 42);
  log::warn("test", "warned");
  const auto lines = capture.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "info test shown 42");
  EXPECT_EQ(lines[1], "warn test warned");
  EXPECT_FALSE(log::enabled(LogLevel::kDebug));
  EXPECT_TRUE(log::enabled(LogLevel::kError));
}

TEST(Log, AThrowingSinkLosesItsRecordOnly) {
  set_log_level(LogLevel::kInfo);
  set_log_sink([](LogLevel, std::string_view, std::string_view) { throw std::runtime_error("x"); });
  EXPECT_NO_THROW(log::info("test", "lost"));
  set_log_sink({});
  set_log_level(LogLevel::kWarn);
}

TEST(Redact, UrlsLoseCredentialsAndSecretQueryValues) {
  using http::redact_url;
  EXPECT_EQ(redact_url("http://user:pw@h:8/a/b?x=1"), "http://h:8/a/b?x=1");
  EXPECT_EQ(redact_url("https://s3.example/b/k?X-Amz-Algorithm=A&X-Amz-Credential=AKIA%2F1"
                       "&X-Amz-Signature=abcdef&partNumber=3#frag"),
            "https://s3.example/b/k?X-Amz-Algorithm=A&X-Amz-Credential=<redacted>"
            "&X-Amz-Signature=<redacted>&partNumber=3");
  EXPECT_EQ(redact_url("http://h/p?access_token=t0k&api_key=k&page=2&flag"),
            "http://h/p?access_token=<redacted>&api_key=<redacted>&page=2&flag");
  // An '@' in the path or query is not userinfo.
  EXPECT_EQ(redact_url("http://h/a@b?q=c@d"), "http://h/a@b?q=c@d");
  EXPECT_EQ(redact_url("/relative?password=x"), "/relative?password=<redacted>");
  EXPECT_EQ(redact_url(""), "");
}

TEST(Redact, SecretHeadersKeepTheirNameAndScheme) {
  using http::loggable_header;
  EXPECT_EQ(loggable_header("Authorization", "Bearer eyJhbGciOi"),
            "Authorization: Bearer <redacted>");
  EXPECT_EQ(loggable_header("authorization", "Basic dXNlcjpwdw=="),
            "authorization: Basic <redacted>");
  EXPECT_EQ(loggable_header("Cookie", "sid=1"), "Cookie: <redacted>");
  EXPECT_EQ(loggable_header("set-cookie", "sid=1; Path=/"), "set-cookie: <redacted>");
  EXPECT_EQ(loggable_header("X-Api-Key", "k123"), "X-Api-Key: <redacted>");
  EXPECT_EQ(loggable_header("X-Amz-Security-Token", "t"), "X-Amz-Security-Token: <redacted>");
  const std::vector<std::string> priv{"x-trace"};
  EXPECT_EQ(loggable_header("X-Trace", "t77", priv), "X-Trace: <redacted>");
  EXPECT_EQ(loggable_header("Content-Type", "text/plain"), "Content-Type: text/plain");
  EXPECT_EQ(loggable_header("Content-Length", "5"), "Content-Length: 5");
}

}  // namespace
}  // namespace asyncfs
