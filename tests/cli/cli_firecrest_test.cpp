// asyncfs firecrest ...: the CLI against the FirecREST emulator, configured only through the
// variables FirecREST tools read.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "run_cli.hpp"
#include "support/firecrest_emulator.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

std::map<std::string, std::string> env_of(const FirecrestEmulator& emu) {
  return {{"FIRECREST_URL", emu.url()},
          {"FIRECREST_CLIENT_ID", FirecrestEmulator::kClientId},
          {"FIRECREST_CLIENT_SECRET", FirecrestEmulator::kClientSecret},
          {"AUTH_TOKEN_URL", emu.token_url()}};
}

CliResult fc(const FirecrestEmulator& emu, std::vector<std::string> args) {
  CliRun run;
  run.args = {"firecrest"};
  run.args.insert(run.args.end(), args.begin(), args.end());
  run.env = env_of(emu);
  return run_cli(run);
}

TEST(CliFirecrest, SystemsSubmitWaitViewCancel) {
  FirecrestEmulator emu({"--job-delay", "0.3"});
  auto sys = fc(emu, {"systems"});
  EXPECT_EQ(sys.exit_code, 0) << sys.err;
  EXPECT_THAT(sys.out, HasSubstr("daint"));
  auto sys_json = fc(emu, {"systems", "--json"});
  EXPECT_THAT(sys_json.out, StartsWith("[{"));

  TempDir dir;
  write_local_file(dir / "ok.sh", "#!/bin/bash\necho cli job output\n");
  write_local_file(dir / "bad.sh", "#!/bin/bash\nexit 4\n");
  auto ok = fc(emu, {"submit", "daint", dir / "ok.sh", "--env", "A=1", "--env", "B=two"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  ASSERT_THAT(lines_of(ok.out), SizeIs(1));
  const std::string ok_id = lines_of(ok.out)[0];
  auto bad = fc(emu, {"submit", "daint", dir / "bad.sh", "--workdir", "/home/fireuser"});
  ASSERT_EQ(bad.exit_code, 0) << bad.err;
  const std::string bad_id = lines_of(bad.out)[0];

  auto jobs = fc(emu, {"jobs", "daint"});
  EXPECT_THAT(jobs.out, HasSubstr(ok_id));
  EXPECT_THAT(fc(emu, {"jobs", "daint", "--json"}).out, StartsWith("["));

  auto wait_ok = fc(emu, {"wait", "daint", ok_id});
  EXPECT_EQ(wait_ok.exit_code, 0) << wait_ok.err;
  EXPECT_THAT(wait_ok.out, HasSubstr("COMPLETED"));
  // One failed job among several: exit 1, every job's line still printed.
  auto wait_both = fc(emu, {"--progress", "wait", "daint", ok_id, bad_id});
  EXPECT_EQ(wait_both.exit_code, 1);
  EXPECT_THAT(lines_of(wait_both.out), SizeIs(2));
  EXPECT_THAT(wait_both.out, HasSubstr("FAILED"));
  EXPECT_THAT(wait_both.err, HasSubstr("jobs"));  // the progress bar

  auto view = fc(emu, {"view", "daint", "/home/fireuser/slurm-" + ok_id + ".out"});
  EXPECT_EQ(view.exit_code, 0) << view.err;
  EXPECT_THAT(view.out, HasSubstr("cli job output"));

  emu.request("POST", "/_emulator/config", R"({"job_delay": 60})");
  auto slow = fc(emu, {"submit", "daint", dir / "ok.sh"});
  const std::string slow_id = lines_of(slow.out)[0];
  EXPECT_EQ(fc(emu, {"cancel", "daint", slow_id}).exit_code, 0);
  EXPECT_EQ(fc(emu, {"cancel", "daint", "987654"}).exit_code, 1);
  auto timed = fc(emu, {"wait", "daint", "--timeout", "0.5",
                        lines_of(fc(emu, {"submit", "daint", dir / "ok.sh"}).out)[0]});
  EXPECT_EQ(timed.exit_code, 1);
}

TEST(CliFirecrest, ConfigurationErrorsNameTheVariableAndHideSecrets) {
  CliRun none;
  none.args = {"firecrest", "systems"};
  none.env = {{"FIRECREST_URL", ""}};
  auto r = run_cli(none);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("FIRECREST_URL"));

  FirecrestEmulator emu;
  CliRun wrong;
  wrong.args = {"firecrest", "systems"};
  wrong.env = env_of(emu);
  wrong.env["FIRECREST_CLIENT_SECRET"] = "wrong-secret-5d2c";
  auto w = run_cli(wrong);
  EXPECT_EQ(w.exit_code, 1);
  EXPECT_THAT(lines_of(w.err), SizeIs(1));
  EXPECT_THAT(w.err, Not(HasSubstr("wrong-secret-5d2c")));
  EXPECT_THAT(w.out, Not(HasSubstr("wrong-secret-5d2c")));

  auto unknown = fc(emu, {"jobs", "nosuch"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("daint"));  // the known systems are listed
  EXPECT_EQ(fc(emu, {"view", "daint", "relative"}).exit_code, 2);

  // The project's configuration applies too (ASYNCFS_FIRECREST_<KEY>); a bad key is a usage
  // error naming it.
  CliRun bogus;
  bogus.args = {"firecrest", "systems"};
  bogus.env = env_of(emu);
  bogus.env["ASYNCFS_FIRECREST_BOGUS"] = "1";
  auto b = run_cli(bogus);
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_THAT(b.err, HasSubstr("bogus"));
  CliRun paced;
  paced.args = {"firecrest", "systems"};
  paced.env = env_of(emu);
  paced.env["ASYNCFS_FIRECREST_TIME_BETWEEN_CALLS"] = R"({"status": 0.05})";
  EXPECT_EQ(run_cli(paced).exit_code, 0);
}

}  // namespace
}  // namespace asyncfs::testing
