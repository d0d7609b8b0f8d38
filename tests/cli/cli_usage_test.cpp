// Exit codes and error lines: 0 ok, 1 an operation failed, 2 usage error, 3 not found (the
// other codes: cli_habits_test.cpp).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "run_cli.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

TEST(CliUsage, NoCommandIsUsageError) {
  const auto r = run_cli(std::vector<std::string>{});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(lines_of(r.err), SizeIs(1));
  EXPECT_THAT(r.out, IsEmpty());
}

TEST(CliUsage, UnknownCommandIsUsageError) {
  const auto r = run_cli({"frobnicate", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("asyncfs: "));
  EXPECT_THAT(lines_of(r.err), SizeIs(1));
}

TEST(CliUsage, MissingArgumentIsUsageError) {
  EXPECT_EQ(run_cli({"ls"}).exit_code, 2);
  EXPECT_EQ(run_cli({"cat"}).exit_code, 2);
  EXPECT_EQ(run_cli({"cp", "/tmp"}).exit_code, 2);
}

TEST(CliUsage, BadOptionValuesAreUsageErrors) {
  TempDir dir;
  write_local_file(dir / "a", "A");
  EXPECT_EQ(run_cli({"cat", "--batch-size", "0", dir / "a"}).exit_code, 2);
  EXPECT_EQ(run_cli({"cat", "--batch-size", "-7", dir / "a"}).exit_code, 2);
  EXPECT_EQ(run_cli({"cat", "--start", "abc", dir / "a"}).exit_code, 2);
  EXPECT_EQ(run_cli({"find", "--maxdepth", "0", dir.path()}).exit_code, 2);
  EXPECT_EQ(run_cli({"ls", "--no-such-flag", dir.path()}).exit_code, 2);
  EXPECT_EQ(run_cli({"--progress", "--no-progress", "ls", dir.path()}).exit_code, 2);
  const auto r = run_cli({"cat", "--discard", "-o", dir / "out", dir / "a"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, IsEmpty());
}

TEST(CliUsage, UnknownProtocolIsUsageErrorNamingTheUrl) {
  const auto r = run_cli({"cat", "nosuchproto://bucket/key"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("nosuchproto://bucket/key"));
  // The registry's message lists the known protocols.
  EXPECT_THAT(r.err, HasSubstr("memory"));
  EXPECT_THAT(lines_of(r.err), SizeIs(1));
}

TEST(CliUsage, UnknownProtocolStopsBeforeAnyWork) {
  TempDir dir;
  write_local_file(dir / "a", "A");
  const auto r = run_cli({"cat", dir / "a", "nosuchproto://x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, IsEmpty());
}

TEST(CliUsage, HelpAndVersionExitZero) {
  const auto help = run_cli({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* cmd :
       {"ls", "cat", "info", "get", "put", "cp", "mv", "rm", "mkdir", "find", "du", "glob"}) {
    EXPECT_THAT(help.out, HasSubstr(cmd));
  }
  const auto cat_help = run_cli({"cat", "--help"});
  EXPECT_EQ(cat_help.exit_code, 0);
  EXPECT_THAT(cat_help.out, HasSubstr("--discard"));
  EXPECT_THAT(cat_help.out, HasSubstr("--from-list"));
  const auto version = run_cli({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.out, HasSubstr("asyncfs"));
}

TEST(CliUsage, MissingFileExitsThreeAndNamesTheUrl) {
  TempDir dir;
  const std::string missing = dir / "missing.txt";
  const auto r = run_cli({"cat", missing});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.out, IsEmpty());
  ASSERT_THAT(lines_of(r.err), SizeIs(1));
  EXPECT_THAT(r.err, HasSubstr(missing));
  EXPECT_THAT(r.err, HasSubstr("asyncfs: "));
}

TEST(CliUsage, MemoryErrorLineNamesTheFullUrl) {
  const auto r = run_cli({"cat", "memory://nowhere/x.bin"});
  EXPECT_EQ(r.exit_code, 3);
  ASSERT_THAT(lines_of(r.err), SizeIs(1));
  EXPECT_THAT(r.err, HasSubstr("memory://nowhere/x.bin"));
}

TEST(CliUsage, SourcesOnDifferentFilesystemsAreAUsageError) {
  TempDir dir;
  write_local_file(dir / "a", "A");
  // One destination may be elsewhere (cp across filesystems); the sources must agree.
  const auto r = run_cli({"cp", dir / "a", "memory://a", dir / "c"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("different filesystems"));
  EXPECT_THAT(lines_of(r.err), SizeIs(1));
  EXPECT_EQ(run_cli({"mv", "memory://a", dir / "a", dir / "b"}).exit_code, 2);
  EXPECT_EQ(run_cli({"cp", dir / "a", "memory://a"}).exit_code, 0);
}

TEST(CliUsage, GetNeedsLocalDestinationAndPutLocalSources) {
  EXPECT_EQ(run_cli({"get", "memory://a", "memory://b"}).exit_code, 2);
  EXPECT_EQ(run_cli({"put", "memory://a", "memory://b"}).exit_code, 2);
}

TEST(CliUsage, NoProgressOutputByDefaultOnAPipe) {
  TempDir dir;
  write_local_file(dir / "a", "A");
  const auto r = run_cli({"cat", dir / "a"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "A");
  EXPECT_THAT(r.err, IsEmpty());
}

}  // namespace
}  // namespace asyncfs::testing
