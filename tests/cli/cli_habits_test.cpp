// The CLI behaves like the tools its users know: -h for human sizes, "did you mean", one-line
// unknown options, config errors that name their source, HTTP errors without the error page,
// exit codes by kind of failure, --version with the libraries.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <string>

#include "run_cli.hpp"
#include "support/fault_server.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

void write_sized(const std::string& path, std::size_t n) {
  write_local_file(path, std::string(n, 'x'));
}

TEST(CliHabits, LsLhPrintsHumanSizesNotHelp) {
  TempDir dir;
  write_sized(dir / "small", 1536);
  write_sized(dir / "big", 23u << 20);
  write_sized(dir / "tiny", 7);
  const auto r = run_cli({"ls", "-lh", dir.path()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("Usage")));
  const auto lines = lines_of(r.out);
  ASSERT_THAT(lines, SizeIs(3)) << r.out;
  EXPECT_THAT(lines[0], HasSubstr(" 23M "));
  EXPECT_THAT(lines[1], HasSubstr(" 1.5K "));
  EXPECT_THAT(lines[2], HasSubstr(" 7 "));
  // Without -h the sizes stay in bytes.
  EXPECT_THAT(run_cli({"ls", "-l", dir.path()}).out, HasSubstr(" 24117248 "));
}

TEST(CliHabits, DuHPrintsHumanSizes) {
  TempDir dir;
  write_sized(dir / "d/a", 4u << 20);
  const auto r = run_cli({"du", "-h", dir / "d"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "4.0M\t" + (dir / "d") + "\n");
  EXPECT_EQ(run_cli({"du", "--human", dir / "d"}).out, r.out);
}

TEST(CliHabits, HelpIsLongOptionOnly) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--help"},
                                               {"ls", "--help"},
                                               {"du", "--help"},
                                               {"firecrest", "submit", "--help"}}) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << args.back();
    EXPECT_THAT(r.out, HasSubstr("--help"));
  }
  EXPECT_THAT(run_cli({"ls", "--help"}).out, HasSubstr("-h,--human-readable"));
  // -h is no help flag where it means nothing: an unknown option, exit 2.
  const auto r = run_cli({"cat", "-h", "/x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, IsEmpty());
}

TEST(CliHabits, MistypedCommandSuggestsTheNearest) {
  auto r = run_cli({"lss", "/tmp"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "asyncfs: 'lss' is not a command; did you mean 'ls'?\n");
  r = run_cli({"--no-progress", "gett", "/a", "/b"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("did you mean 'get'?"));
  r = run_cli({"firecrest", "sumbit", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "asyncfs: 'sumbit' is not a firecrest command; did you mean 'submit'?\n");
  r = run_cli({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "asyncfs: 'frobnicate' is not a command (see asyncfs --help)\n");
}

TEST(CliHabits, UnknownOptionIsOneLineNamingIt) {
  auto r = run_cli({"ls", "--bogus", "/tmp"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "asyncfs: ls: unknown option '--bogus' (see asyncfs ls --help)\n");
  r = run_cli({"--frob", "ls", "/tmp"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown option '--frob'"));
  EXPECT_THAT(lines_of(r.err), SizeIs(1));
}

class CliConfig : public ::testing::Test {
 protected:
  CliResult run_with_config(const std::string& json, std::vector<std::string> args) {
    write_local_file(dir_ / "conf/a.json", json);
    write_local_file(dir_ / "data/f", "F");
    CliRun run;
    run.args = std::move(args);
    run.env["ASYNCFS_CONFIG_DIR"] = dir_ / "conf";
    return run_cli(run);
  }
  TempDir dir_;
};

TEST_F(CliConfig, NotJsonNamesTheFileAndTheParserCause) {
  const auto r = run_with_config("{\"memory\": ", {"ls", dir_ / "data"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, IsEmpty());
  ASSERT_THAT(lines_of(r.err), SizeIs(1)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("config file " + (dir_ / "conf/a.json")));
  EXPECT_THAT(r.err, HasSubstr("malformed config file: "));  // followed by simdjson's message
  EXPECT_THAT(r.err, HasSubstr("fix the file or remove it"));
  EXPECT_THAT(r.err, Not(HasSubstr(dir_ / "data")));
}

TEST_F(CliConfig, UnknownOptionNamesTheFileAndTheKey) {
  const auto r = run_with_config("{\"memory\": {\"blok_size\": 5}}", {"cat", "memory://x/y"});
  EXPECT_EQ(r.exit_code, 2);
  ASSERT_THAT(lines_of(r.err), SizeIs(1)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("config file " + (dir_ / "conf/a.json")));
  EXPECT_THAT(r.err, HasSubstr("'blok_size'"));
  EXPECT_THAT(r.err, HasSubstr("unknown option"));
}

TEST_F(CliConfig, VariablesAreNamedToo) {
  CliRun run;
  run.args = {"ls", "/"};
  run.env["ASYNCFS_HTTP"] = "{not json";
  auto r = run_cli(run);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("environment variable ASYNCFS_HTTP: must hold a JSON object"));
  EXPECT_THAT(r.err, HasSubstr("fix or unset the variable"));
  EXPECT_THAT(r.out, IsEmpty());
  run.env.clear();
  run.args = {"ls", "memory://"};
  run.env["ASYNCFS_MEMORY_BOGUS"] = "1";
  r = run_cli(run);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("ASYNCFS_MEMORY_BOGUS"));
  EXPECT_THAT(r.err, HasSubstr("'bogus'"));
}

TEST(CliHabits, HttpErrorIsStatusAndReasonWithoutTheBody) {
  auto& f = FaultServer::shared();
  const std::string url = f.url("status/404");
  const auto r = run_cli({"cat", url});
  EXPECT_EQ(r.err, "asyncfs: " + url + ": 404 Not Found\n");
  EXPECT_THAT(r.err, Not(HasSubstr("status 404")));  // the server's body
}

TEST(CliHabits, ExitCodesTellTheKindOfFailure) {
  auto& f = FaultServer::shared();
  TempDir dir;
  write_local_file(dir / "a", "A");
  EXPECT_EQ(run_cli({"cat", dir / "missing"}).exit_code, 3);
  EXPECT_EQ(run_cli({"cat", f.url("status/404")}).exit_code, 3);
  EXPECT_EQ(run_cli({"cat", f.url("status/403")}).exit_code, 4);
  EXPECT_EQ(run_cli({"info", f.url("status/401")}).exit_code, 4);
  EXPECT_EQ(run_cli({"cat", f.url("status/503?key=exit5")}).exit_code, 5);
  EXPECT_EQ(run_cli({"cat", f.url("status/500")}).exit_code, 5);
  EXPECT_EQ(run_cli({"cat", "http://127.0.0.1:1/x"}).exit_code, 5);  // connection refused
  EXPECT_EQ(run_cli({"cat", f.url("status/418")}).exit_code, 1);
  EXPECT_EQ(run_cli({"bogus"}).exit_code, 2);
  if (::geteuid() != 0) {
    write_local_file(dir / "locked", "x");
    std::filesystem::permissions(dir / "locked", std::filesystem::perms::none);
    EXPECT_EQ(run_cli({"cat", dir / "locked"}).exit_code, 4);
  }
}

TEST(CliHabits, MixedFailuresReportTheLeastRetryable) {
  auto& f = FaultServer::shared();
  TempDir dir;
  // Retryable + not found -> 3; + permission denied -> 4; + any other failure -> 1.
  EXPECT_EQ(run_cli({"cat", f.url("status/503?key=m1"), dir / "missing"}).exit_code, 3);
  EXPECT_EQ(
      run_cli({"cat", dir / "missing", f.url("status/403"), f.url("status/503?key=m2")}).exit_code,
      4);
  EXPECT_EQ(run_cli({"cat", f.url("status/418"), f.url("status/403"), dir / "missing"}).exit_code,
            1);
  // Only transient failures: running again may help.
  EXPECT_EQ(run_cli({"cat", f.url("status/503?key=m3"), "http://127.0.0.1:1/x"}).exit_code, 5);
}

TEST(CliHabits, VersionNamesTheLibraries) {
  const auto r = run_cli({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(std::regex_search(r.out, std::regex("^asyncfs [0-9]+\\.[0-9]+\\.[0-9]+\n"))) << r.out;
  for (const char* lib : {"libcurl ", "libuv ", "simdjson ", "zlib ", "fmt "}) {
    EXPECT_TRUE(std::regex_search(r.out, std::regex(std::string("\n") + lib + "[0-9]+\\.[0-9]+")))
        << lib << " in " << r.out;
  }
}

}  // namespace
}  // namespace asyncfs::testing
