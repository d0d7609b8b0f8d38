// asyncfs firecrest ...: the CLI against the FirecREST emulator, configured only through the
// variables FirecREST tools read.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "run_cli.hpp"
#include "support/firecrest_emulator.hpp"
#include "support/nginx_server.hpp"
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
  EXPECT_EQ(fc(emu, {"cancel", "daint", "987654"}).exit_code, 3);
  auto timed = fc(emu, {"wait", "daint", "--timeout", "0.5",
                        lines_of(fc(emu, {"submit", "daint", dir / "ok.sh"}).out)[0]});
  EXPECT_EQ(timed.exit_code, 5);
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
  EXPECT_EQ(w.exit_code, 4);
  EXPECT_THAT(lines_of(w.err), SizeIs(1));
  EXPECT_THAT(w.err, Not(HasSubstr("wrong-secret-5d2c")));
  EXPECT_THAT(w.out, Not(HasSubstr("wrong-secret-5d2c")));

  auto unknown = fc(emu, {"jobs", "nosuch"});
  EXPECT_EQ(unknown.exit_code, 3);
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

CliResult cli(const FirecrestEmulator& emu, std::vector<std::string> args) {
  CliRun run;
  run.args = std::move(args);
  run.env = env_of(emu);
  return run_cli(run);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(CliFirecrest, EveryFileCommandWorksOnFirecrestUrls) {
  FirecrestEmulator emu({"--job-delay", "0.1", "--max-ops-file-size", "1048576"});
  TempDir dir;
  const std::string base = "firecrest://daint/home/fireuser";
  std::string big(3 << 20, 'b');
  for (std::size_t i = 0; i < big.size(); i += 4099) big[i] = static_cast<char>('a' + i % 26);
  write_local_file(dir / "big.bin", big);
  write_local_file(dir / "tree/a.txt", "A");
  write_local_file(dir / "tree/sub/b.txt", "B");

  auto put = cli(emu, {"put", "-r", dir / "tree", base + "/tree"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  auto ls = cli(emu, {"ls", base + "/tree"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_THAT(ls.out, HasSubstr(base + "/tree/a.txt"));
  auto cat = cli(emu, {"cat", base + "/tree/sub/b.txt"});
  EXPECT_EQ(cat.out, "B");
  auto find = cli(emu, {"find", base + "/tree"});
  EXPECT_THAT(lines_of(find.out), SizeIs(2));
  // cp between firecrest:// and file:// streams through get/put (staged: 3 MiB > the limit).
  auto up = cli(emu, {"cp", dir / "big.bin", base + "/big.bin"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  auto down = cli(emu, {"cp", base + "/big.bin", dir / "back.bin"});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_TRUE(read_file(dir / "back.bin") == big);
  // http:// to firecrest://: neither side local.
  NginxServer& nginx = NginxServer::shared();
  nginx.write("cli-fc/h.txt", "from http");
  auto across = cli(emu, {"cp", nginx.url("cli-fc/h.txt"), base + "/h.txt"});
  ASSERT_EQ(across.exit_code, 0) << across.err;
  EXPECT_EQ(cli(emu, {"cat", base + "/h.txt"}).out, "from http");
  auto mv = cli(emu, {"mv", base + "/h.txt", base + "/h2.txt"});
  EXPECT_EQ(mv.exit_code, 0) << mv.err;
  auto rm = cli(emu, {"rm", "-r", base + "/tree"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_NE(cli(emu, {"info", base + "/tree"}).exit_code, 0);
  // Bad input: one line naming the URL, no secret.
  auto bad = cli(emu, {"cat", "firecrest:///home/fireuser/x"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(lines_of(bad.err), SizeIs(1));
  EXPECT_THAT(bad.err, HasSubstr("firecrest:///home/fireuser/x"));
  EXPECT_THAT(bad.err + ls.err + put.err, Not(HasSubstr(FirecrestEmulator::kClientSecret)));
}

}  // namespace
}  // namespace asyncfs::testing
