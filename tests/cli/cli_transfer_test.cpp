// get, put, cp, mv, rm, mkdir on real local files, and on memory:// within one invocation.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "run_cli.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class CliTransfer : public ::testing::Test {
 protected:
  void SetUp() override {
    write_local_file(dir_ / "src/a.txt", "alpha");
    write_local_file(dir_ / "src/sub/b.txt", "beta");
  }
  std::string p(const std::string& rel) const { return dir_ / rel; }
  TempDir dir_;
};

TEST_F(CliTransfer, GetOneFile) {
  const auto r = run_cli({"get", "file://" + p("src/a.txt"), p("copy.txt")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_EQ(read_local_file(p("copy.txt")), "alpha");
}

TEST_F(CliTransfer, GetRecursive) {
  const auto r = run_cli({"get", "-r", p("src"), p("dl")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_local_file(p("dl/a.txt")), "alpha");
  EXPECT_EQ(read_local_file(p("dl/sub/b.txt")), "beta");
}

TEST_F(CliTransfer, GetMissingFailsNamingTheUrl) {
  const auto r = run_cli({"get", p("src/none.txt"), p("x.txt")});
  EXPECT_EQ(r.exit_code, 3);
  ASSERT_THAT(lines_of(r.err), SizeIs(1));
  EXPECT_THAT(r.err, HasSubstr(p("src/none.txt")));
}

TEST_F(CliTransfer, PutToLocalAndToMemory) {
  auto r = run_cli({"put", p("src/a.txt"), "file://" + p("up.txt")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_local_file(p("up.txt")), "alpha");
  r = run_cli({"put", "-r", p("src"), "memory://upload/dir"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
}

TEST_F(CliTransfer, PutMissingLocalFileFails) {
  const auto r = run_cli({"put", p("src/none.txt"), "memory://x/none.txt"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("none.txt"));
}

TEST_F(CliTransfer, CpFileAndDirectory) {
  auto r = run_cli({"cp", p("src/a.txt"), p("a2.txt")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_local_file(p("a2.txt")), "alpha");
  r = run_cli({"cp", "-r", p("src"), p("dup")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_local_file(p("dup/sub/b.txt")), "beta");
  EXPECT_EQ(read_local_file(p("src/a.txt")), "alpha");
}

TEST_F(CliTransfer, CpSeveralSourcesIntoADirectory) {
  write_local_file(p("into/.keep"), "");
  const auto r = run_cli({"cp", p("src/a.txt"), p("src/sub/b.txt"), p("into/")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_local_file(p("into/a.txt")), "alpha");
  EXPECT_EQ(read_local_file(p("into/b.txt")), "beta");
}

TEST_F(CliTransfer, MvRenames) {
  const auto r = run_cli({"mv", p("src/a.txt"), p("moved.txt")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_local_file(p("moved.txt")), "alpha");
  EXPECT_FALSE(local_exists(p("src/a.txt")));
}

TEST_F(CliTransfer, MvMissingFails) {
  const auto r = run_cli({"mv", p("src/zzz"), p("moved.txt")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr(p("src/zzz")));
}

TEST_F(CliTransfer, RmFileAndTree) {
  auto r = run_cli({"rm", p("src/a.txt")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(local_exists(p("src/a.txt")));
  r = run_cli({"rm", "-r", p("src")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(local_exists(p("src")));
}

TEST_F(CliTransfer, RmMissingFailsButRemovesTheRest) {
  const auto r = run_cli({"rm", p("src/none"), p("src/a.txt")});
  EXPECT_EQ(r.exit_code, 3);
  ASSERT_THAT(lines_of(r.err), SizeIs(1));
  EXPECT_THAT(r.err, HasSubstr(p("src/none")));
  EXPECT_FALSE(local_exists(p("src/a.txt")));
}

TEST_F(CliTransfer, MkdirWithAndWithoutParents) {
  auto r = run_cli({"mkdir", p("new")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(local_exists(p("new")));
  r = run_cli({"mkdir", p("deep/er/est")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr(p("deep/er/est")));
  r = run_cli({"mkdir", "-p", p("deep/er/est")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(local_exists(p("deep/er/est")));
  r = run_cli({"mkdir", "-p", p("deep/er/est")});  // existing is fine with -p
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_cli({"mkdir", "-p", "memory://made/in/memory"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CliTransfer, ForcedProgressOnTransfers) {
  auto r = run_cli({"--progress", "get", "-r", p("src"), p("dl")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_THAT(r.err, HasSubstr("get ["));
  r = run_cli({"cp", "--progress", "-r", p("src"), p("dup")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("cp ["));
  r = run_cli({"rm", "-r", "--progress", p("dup")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_THAT(r.err, HasSubstr("rm ["));
}

}  // namespace
}  // namespace asyncfs::testing
