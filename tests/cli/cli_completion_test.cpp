// `asyncfs completion bash|zsh|fish`: the bash script parses and completes for real.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "run_cli.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::testing {
namespace {

using ::testing::HasSubstr;

std::string bash_script(TempDir& dir) {
  const auto r = run_cli({"completion", "bash"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  write_local_file(dir / "asyncfs.bash", r.out);
  return dir / "asyncfs.bash";
}

// Sources the script in a fresh bash, sets COMP_WORDS as readline would for `line` (words
// split on spaces, the cursor on the last word) and prints COMPREPLY one per line.
std::string complete(const std::string& script, const std::vector<std::string>& words) {
  std::string assign = "COMP_WORDS=(";
  for (const auto& w : words) assign += "'" + w + "' ";
  assign += "); COMP_CWORD=" + std::to_string(words.size() - 1) + "; ";
  const std::string cmd =
      "source '" + script + "' && " + assign + "_asyncfs && printf '%s\\n' \"${COMPREPLY[@]}\"";
  const auto r = run_process({"/bin/bash", "--norc", "-c", cmd}, std::chrono::seconds(10));
  EXPECT_EQ(r.exit_code, 0);
  return r.out;
}

TEST(CliCompletion, BashScriptParses) {
  TempDir dir;
  const std::string script = bash_script(dir);
  EXPECT_EQ(run_process({"/bin/bash", "-n", script}, std::chrono::seconds(10)).exit_code, 0);
}

TEST(CliCompletion, BashCompletesCommandsOptionsAndUrls) {
  TempDir dir;
  const std::string script = bash_script(dir);
  EXPECT_EQ(complete(script, {"asyncfs", "l"}), "ls\n");
  EXPECT_EQ(complete(script, {"asyncfs", "--no-progress", "mk"}), "mkdir\n");
  EXPECT_THAT(complete(script, {"asyncfs", "ls", "--"}), HasSubstr("--human-readable\n"));
  EXPECT_THAT(complete(script, {"asyncfs", "du", "-"}), HasSubstr("-h\n"));
  EXPECT_EQ(complete(script, {"asyncfs", "firecrest", "sub"}), "submit\n");
  EXPECT_THAT(complete(script, {"asyncfs", "firecrest", "submit", "--"}), HasSubstr("--workdir"));
  EXPECT_EQ(complete(script, {"asyncfs", "cat", "mem"}), "memory://\n");
  EXPECT_EQ(complete(script, {"asyncfs", "completion", "z"}), "zsh\n");
}

TEST(CliCompletion, ZshAndFishScriptsNameTheCommands) {
  const auto zsh = run_cli({"completion", "zsh"});
  EXPECT_EQ(zsh.exit_code, 0);
  EXPECT_THAT(zsh.out, HasSubstr("#compdef asyncfs"));
  EXPECT_THAT(zsh.out, HasSubstr("\"ls\") opts=("));
  const auto fish = run_cli({"completion", "fish"});
  EXPECT_EQ(fish.exit_code, 0);
  EXPECT_THAT(fish.out, HasSubstr("complete -c asyncfs -n __fish_use_subcommand -a ls"));
  EXPECT_THAT(fish.out, HasSubstr("-l human-readable"));
  EXPECT_EQ(run_cli({"completion", "tcsh"}).exit_code, 2);
}

TEST(CliCompletion, WorksWithABrokenConfig) {
  CliRun run;
  run.args = {"completion", "bash"};
  run.env["ASYNCFS_HTTP"] = "{not json";
  EXPECT_EQ(run_cli(run).exit_code, 0);
}

}  // namespace
}  // namespace asyncfs::testing
