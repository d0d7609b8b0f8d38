// The CLI's log switches: -v/-vv/-vvv and ASYNCFS_LOG (docs/logging.md).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "run_cli.hpp"
#include "support/fault_server.hpp"

namespace asyncfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

TEST(CliLogging, VerbosityShowsRetriesThenRequestsThenHeadersWithoutSecrets) {
  auto& f = FaultServer::shared();
  const std::string url = "http://me:pw-secret-3@127.0.0.1:" + std::to_string(f.port()) +
                          "/file/cli-log?size=10&token=tk-secret-4";
  const auto quiet = run_cli({"cat", url});
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_THAT(quiet.err, IsEmpty());

  const auto v = run_cli({"-v", "cat", f.url("flaky/503?fail=1&key=cli-log-v")});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_THAT(v.err, HasSubstr("[asyncfs http] info: retry 1 of GET"));
  EXPECT_THAT(v.err, Not(HasSubstr("debug:")));

  const auto vv = run_cli({"-vv", "cat", url});
  EXPECT_EQ(vv.exit_code, 0) << vv.err;
  EXPECT_THAT(vv.err, HasSubstr("debug: GET http://127.0.0.1:"));
  EXPECT_THAT(vv.err, HasSubstr(": 200 10 B in"));
  EXPECT_THAT(vv.err, Not(HasSubstr("trace:")));

  const auto vvv = run_cli({"-vvv", "cat", url});
  EXPECT_EQ(vvv.exit_code, 0) << vvv.err;
  EXPECT_THAT(vvv.err, HasSubstr("Authorization: Basic <redacted>"));
  for (const auto* r : {&v, &vv, &vvv}) {
    EXPECT_THAT(r->err, Not(HasSubstr("pw-secret-3")));
    EXPECT_THAT(r->err, Not(HasSubstr("tk-secret-4")));
  }

  CliRun env_run;
  env_run.args = {"cat", url};
  env_run.env = {{"ASYNCFS_LOG", "DEBUG"}};
  const auto env = run_cli(env_run);
  EXPECT_EQ(env.exit_code, 0) << env.err;
  EXPECT_THAT(env.err, HasSubstr("debug: GET"));
}

TEST(CliLogging, AnUnknownLevelIsOneUsageLineNamingTheVariable) {
  auto& f = FaultServer::shared();
  CliRun run;
  run.args = {"cat", f.url("file/cli-log-bad?size=10")};
  run.env = {{"ASYNCFS_LOG", "loud"}};
  const auto r = run_cli(run);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, IsEmpty()) << "the command ran";
  ASSERT_THAT(lines_of(r.err), SizeIs(1)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("ASYNCFS_LOG"));
  EXPECT_THAT(r.err, HasSubstr("'loud'"));
  EXPECT_THAT(r.err, HasSubstr("debug"));
}

}  // namespace
}  // namespace asyncfs::testing
