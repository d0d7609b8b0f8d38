// ls, info, find, du, glob, including the --json shapes.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "mini_json.hpp"
#include "run_cli.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class CliList : public ::testing::Test {
 protected:
  void SetUp() override {
    write_local_file(dir_ / "tree/a.txt", "hello");
    write_local_file(dir_ / "tree/b.dat", "1234567");
    write_local_file(dir_ / "tree/sub/c.txt", "xyz");
  }
  std::string p(const std::string& rel) const { return dir_ / rel; }
  TempDir dir_;
};

TEST_F(CliList, LsPrintsSortedNames) {
  const auto r = run_cli({"ls", p("tree")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(lines_of(r.out), ElementsAre(p("tree/a.txt"), p("tree/b.dat"), p("tree/sub")));
  EXPECT_THAT(r.err, IsEmpty());
}

TEST_F(CliList, LsLongIsATable) {
  const auto r = run_cli({"ls", "-l", p("tree")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_THAT(lines[0], HasSubstr(" 5 "));
  EXPECT_THAT(lines[0], HasSubstr(p("tree/a.txt")));
  EXPECT_THAT(lines[1], HasSubstr(" 7 "));
  EXPECT_EQ(lines[2][0], 'd');
  EXPECT_EQ(lines[0][0], '-');
  // Columns line up: every name starts at the same offset.
  const auto col = lines[0].find(p("tree/a.txt"));
  EXPECT_EQ(lines[1].find(p("tree/b.dat")), col);
  EXPECT_EQ(lines[2].find(p("tree/sub")), col);
}

TEST_F(CliList, LsJsonIsAnArrayOfInfoObjects) {
  const auto r = run_cli({"ls", "--json", p("tree")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto doc = parse_json(r.out);
  ASSERT_TRUE(doc) << r.out;
  ASSERT_TRUE(doc->is_array());
  ASSERT_THAT(doc->array(), SizeIs(3));
  const Json& a = doc->array()[0];
  ASSERT_TRUE(a.is_object());
  EXPECT_EQ(a["name"].str(), p("tree/a.txt"));
  ASSERT_TRUE(a["size"].is_number());
  EXPECT_EQ(a["size"].number(), 5);
  EXPECT_EQ(a["type"].str(), "file");
  const Json& sub = doc->array()[2];
  EXPECT_EQ(sub["type"].str(), "directory");
  EXPECT_TRUE(sub["size"].is_number() || sub["size"].is_null());
  // Local files report a modification time and mode.
  EXPECT_TRUE(a.has("mtime") && a["mtime"].is_number());
}

TEST_F(CliList, LsJsonOfSeveralUrlsIsOneArray) {
  const auto r = run_cli({"ls", "--json", p("tree"), p("tree/sub")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto doc = parse_json(r.out);
  ASSERT_TRUE(doc && doc->is_array()) << r.out;
  EXPECT_THAT(doc->array(), SizeIs(4));
}

TEST_F(CliList, JsonEscapesAwkwardNames) {
  const std::string odd =
      "q\"uo\\te\ttab\x01"
      "ctl \xc3\xbcml";
  write_local_file(p("odd/") + odd, "1");
  const auto r = run_cli({"ls", "--json", p("odd")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto doc = parse_json(r.out);
  ASSERT_TRUE(doc && doc->is_array()) << r.out;
  ASSERT_THAT(doc->array(), SizeIs(1));
  EXPECT_EQ(doc->array()[0]["name"].str(), p("odd/") + odd);
  EXPECT_THAT(r.out, HasSubstr("\\u0001"));
  EXPECT_THAT(r.out, HasSubstr("\\t"));
}

TEST_F(CliList, LsMissingFails) {
  const auto r = run_cli({"ls", p("nope")});
  EXPECT_EQ(r.exit_code, 3);
  ASSERT_THAT(lines_of(r.err), SizeIs(1));
  EXPECT_THAT(r.err, HasSubstr(p("nope")));
}

TEST_F(CliList, LsOneMissingOfSeveralStillListsTheOthers) {
  const auto r = run_cli({"ls", p("nope"), p("tree/sub")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.out, HasSubstr(p("tree/sub/c.txt")));
}

TEST_F(CliList, InfoJsonIsOneObject) {
  const auto r = run_cli({"info", "--json", p("tree/b.dat")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto doc = parse_json(r.out);
  ASSERT_TRUE(doc && doc->is_object()) << r.out;
  EXPECT_EQ((*doc)["name"].str(), p("tree/b.dat"));
  EXPECT_EQ((*doc)["size"].number(), 7);
  EXPECT_EQ((*doc)["type"].str(), "file");
  EXPECT_EQ(r.out.back(), '\n');
}

TEST_F(CliList, InfoText) {
  const auto r = run_cli({"info", p("tree/sub")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("name: " + p("tree/sub")));
  EXPECT_THAT(r.out, HasSubstr("type: directory"));
}

TEST_F(CliList, InfoMissingFailsOnMemoryToo) {
  auto r = run_cli({"info", p("tree/nothing")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr(p("tree/nothing")));
  r = run_cli({"info", "--json", "memory://nothing/here"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_THAT(r.err, HasSubstr("memory://nothing/here"));
}

TEST_F(CliList, FindListsFilesRecursively) {
  auto r = run_cli({"find", p("tree")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(lines_of(r.out), ElementsAre(p("tree/a.txt"), p("tree/b.dat"), p("tree/sub/c.txt")));
  r = run_cli({"find", "--withdirs", p("tree")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(p("tree/sub") + "\n"));
  r = run_cli({"find", "--maxdepth", "1", p("tree")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(lines_of(r.out), ElementsAre(p("tree/a.txt"), p("tree/b.dat")));
  r = run_cli({"find", "--json", p("tree")});
  const auto doc = parse_json(r.out);
  ASSERT_TRUE(doc && doc->is_array()) << r.out;
  EXPECT_THAT(doc->array(), SizeIs(3));
}

TEST_F(CliList, DuPrintsTotalsAndPerFileSizes) {
  auto r = run_cli({"du", p("tree")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "15\t" + p("tree") + "\n");
  r = run_cli({"du", "-a", p("tree")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("5\t" + p("tree/a.txt") + "\n"));
  EXPECT_THAT(r.out, HasSubstr("3\t" + p("tree/sub/c.txt") + "\n"));
  EXPECT_EQ(lines_of(r.out).back(), "15\t" + p("tree"));
}

TEST_F(CliList, GlobListsMatches) {
  auto r = run_cli({"glob", p("tree/*.txt")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(lines_of(r.out), ElementsAre(p("tree/a.txt")));
  r = run_cli({"glob", p("tree/**/*.txt")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(p("tree/sub/c.txt")));
  r = run_cli({"glob", "--json", p("tree/*")});
  const auto doc = parse_json(r.out);
  ASSERT_TRUE(doc && doc->is_array()) << r.out;
  EXPECT_THAT(doc->array(), SizeIs(3));
  r = run_cli({"glob", p("tree/*.none")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("no match"));
}

}  // namespace
}  // namespace asyncfs::testing
