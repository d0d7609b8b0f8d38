// Listing and metadata: ls, info, exists/isdir/isfile, size(s), walk, find, glob, du,
// expand_path. Every test works on the fixed tree of seed_tree():
//   a.txt  b.txt  ab.dat  dir1/x.txt  dir1/y.dat  dir1/sub/z.txt  dir2/x.txt

#include <algorithm>

#include "conformance/conformance.hpp"

namespace asyncfs::conformance {
namespace {

class ListingTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    seed_tree();
  }
  using Names = std::vector<std::string>;
};

std::vector<std::string> names_of(const std::vector<FileInfo>& infos) {
  std::vector<std::string> out;
  for (const auto& i : infos) out.push_back(i.name);
  std::sort(out.begin(), out.end());
  return out;
}

// --- ls ---------------------------------------------------------------------------------------

TEST_P(ListingTest, LsGivesDirectChildrenWithFullNames) {
  REQUIRE_CAP(list);
  auto infos = fs().ls(root());
  EXPECT_EQ(rel(names_of(infos)), (Names{"a.txt", "ab.dat", "b.txt", "dir1", "dir2"}));
  for (const auto& i : infos) {
    SCOPED_TRACE(i.name);
    if (i.name == d("dir1") || i.name == d("dir2")) {
      EXPECT_TRUE(i.is_dir());
    } else {
      EXPECT_NE(i.name.back(), '/') << "file names carry no trailing slash";
      EXPECT_TRUE(i.is_file());
      if (!caps().listing_sizes_known) continue;  // info() knows it; the listing need not
      // The content of each seeded file is its relative name, so the size is known exactly.
      ASSERT_TRUE(i.size.has_value());
      EXPECT_EQ(*i.size, i.name.size() - root().size() - 1);
    }
  }
}

TEST_P(ListingTest, LsOfSubdirectoryAndTrailingSlash) {
  REQUIRE_CAP(list);
  EXPECT_EQ(rel(names_of(fs().ls(p("dir1")))), (Names{"dir1/sub", "dir1/x.txt", "dir1/y.dat"}));
  // A trailing slash names the same directory and must not leak into the child names.
  EXPECT_EQ(rel(names_of(fs().ls(p("dir1/")))), (Names{"dir1/sub", "dir1/x.txt", "dir1/y.dat"}));
}

TEST_P(ListingTest, LsNamesMatchesLs) {
  REQUIRE_CAP(list);
  EXPECT_EQ(rel(fs().ls_names(p("dir1"))), (Names{"dir1/sub", "dir1/x.txt", "dir1/y.dat"}));
}

TEST_P(ListingTest, LsOfFileGivesThatFile) {
  // fsspec (memory and local alike): listing a file path yields that one entry.
  REQUIRE_CAP(list);
  auto infos = fs().ls(p("a.txt"));
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_EQ(infos[0].name, p("a.txt"));
  EXPECT_TRUE(infos[0].is_file());
}

TEST_P(ListingTest, LsOfMissingPathIsNotFound) {
  REQUIRE_CAP(list);
  EXPECT_FS_THROW(kNotFound, fs().ls(p("nope")));
  EXPECT_FS_THROW(kNotFound, fs().ls(p("nope/deeper")));
}

TEST_P(ListingTest, LsOfEmptyDirectoryIsEmpty) {
  REQUIRE_CAP(list);
  REQUIRE_CAP(real_directories);
  seed_dir("empty");
  EXPECT_TRUE(fs().ls(p("empty")).empty());
}

TEST_P(ListingTest, LsViaCoroutineApi) {
  REQUIRE_CAP(list);
  auto infos = sync(fs().io(), fs()._ls(p("dir2")));
  EXPECT_EQ(rel(names_of(infos)), (Names{"dir2/x.txt"}));
}

// --- info ---------------------------------------------------------------------------------------

TEST_P(ListingTest, InfoOfFile) {
  auto i = fs().info(p("dir1/sub/z.txt"));
  EXPECT_EQ(i.name, p("dir1/sub/z.txt"));
  EXPECT_TRUE(i.is_file());
  EXPECT_EQ(i.type, FileType::kFile);
  ASSERT_TRUE(i.size.has_value());
  EXPECT_EQ(*i.size, std::string("dir1/sub/z.txt").size());
}

TEST_P(ListingTest, InfoOfDirectoryWithAndWithoutSlash) {
  auto a = fs().info(p("dir1"));
  EXPECT_EQ(a.name, p("dir1"));
  EXPECT_TRUE(a.is_dir());
  auto b = fs().info(p("dir1/"));
  EXPECT_EQ(b.name, d("dir1")) << "the name follows the backend's directory-name convention";
  EXPECT_TRUE(b.is_dir());
}

TEST_P(ListingTest, InfoOfRootDirectory) {
  auto i = fs().info(root());
  EXPECT_TRUE(i.is_dir());
  EXPECT_EQ(i.name, root());
}

TEST_P(ListingTest, InfoAgreesWithLsEntry) {
  REQUIRE_CAP(list);
  for (const auto& entry : fs().ls(p("dir1"))) {
    SCOPED_TRACE(entry.name);
    auto i = fs().info(entry.name);
    EXPECT_EQ(i.name, entry.name);
    EXPECT_EQ(i.type, entry.type);
    if (entry.is_file() && caps().listing_sizes_known) {
      EXPECT_EQ(i.size, entry.size);
    }
  }
}

TEST_P(ListingTest, InfoOfMissingIsNotFoundAndNamesThePath) {
  try {
    fs().info(p("missing.bin"));
    ADD_FAILURE() << "info of a missing path did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound) << e.what();
    // Errors carry the path so a log line names the input (DESIGN §7).
    EXPECT_NE(std::string(e.what()).find("missing.bin"), std::string::npos) << e.what();
    EXPECT_NE(e.path().find("missing.bin"), std::string::npos) << e.path();
  }
}

TEST_P(ListingTest, InfoBelowAFileIsNotFound) {
  // POSIX says ENOTDIR; either way the path does not exist.
  EXPECT_FS_THROW2(kNotFound, kNotADirectory, fs().info(p("a.txt/child")));
}

TEST_P(ListingTest, InfoViaCoroutineApi) {
  auto i = sync(fs().io(), fs()._info(p("b.txt")));
  EXPECT_EQ(i.name, p("b.txt"));
  EXPECT_EQ(i.size, std::optional<std::uint64_t>(5));
}

// --- exists / isdir / isfile / size / sizes ------------------------------------------------------

TEST_P(ListingTest, ExistsIsdirIsfile) {
  EXPECT_TRUE(fs().exists(p("a.txt")));
  EXPECT_TRUE(fs().exists(p("dir1")));
  EXPECT_TRUE(fs().exists(p("dir1/")));
  EXPECT_TRUE(fs().exists(root()));
  EXPECT_FALSE(fs().exists(p("nope")));
  EXPECT_FALSE(fs().exists(p("nope/deeper")));

  EXPECT_TRUE(fs().isfile(p("a.txt")));
  EXPECT_FALSE(fs().isfile(p("dir1")));
  EXPECT_FALSE(fs().isfile(p("nope")));

  EXPECT_TRUE(fs().isdir(p("dir1")));
  EXPECT_TRUE(fs().isdir(p("dir1/sub")));
  EXPECT_FALSE(fs().isdir(p("a.txt")));
  EXPECT_FALSE(fs().isdir(p("nope")));
}

TEST_P(ListingTest, ExistsBelowAFileIsFalse) {
  // A path "through" a file does not exist; it is not an error for exists() (POSIX reports
  // ENOTDIR, which a demanding user still reads as "no such path").
  EXPECT_FALSE(fs().exists(p("a.txt/child")));
  EXPECT_FALSE(fs().isfile(p("a.txt/child")));
  EXPECT_FALSE(fs().isdir(p("a.txt/child")));
}

TEST_P(ListingTest, ExistsSimilarNamesAreDistinct) {
  // "dir" is a prefix of "dir1": a prefix match must not count as existence.
  EXPECT_FALSE(fs().exists(p("dir")));
  EXPECT_FALSE(fs().exists(p("a.tx")));
  EXPECT_FALSE(fs().isdir(p("dir")));
}

TEST_P(ListingTest, ExistsViaCoroutineApi) {
  EXPECT_TRUE(sync(fs().io(), fs()._exists(p("dir2/x.txt"))));
  EXPECT_FALSE(sync(fs().io(), fs()._exists(p("dir2/y.txt"))));
  EXPECT_TRUE(sync(fs().io(), fs()._isdir(p("dir2"))));
  EXPECT_TRUE(sync(fs().io(), fs()._isfile(p("dir2/x.txt"))));
}

TEST_P(ListingTest, SizeAndSizes) {
  EXPECT_EQ(fs().size(p("ab.dat")), std::optional<std::uint64_t>(6));
  EXPECT_EQ(fs().size(p("dir1/y.dat")), std::optional<std::uint64_t>(10));
  EXPECT_FS_THROW(kNotFound, fs().size(p("nope")));
  auto s = fs().sizes({p("dir1/sub/z.txt"), p("a.txt"), p("dir2/x.txt")});
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0], std::optional<std::uint64_t>(14));
  EXPECT_EQ(s[1], std::optional<std::uint64_t>(5));
  EXPECT_EQ(s[2], std::optional<std::uint64_t>(10));
}

TEST_P(ListingTest, SizesWithMissingPathThrowsNotFound) {
  EXPECT_FS_THROW(kNotFound, fs().sizes({p("a.txt"), p("nope")}));
}

TEST_P(ListingTest, SizeOfEmptyFileIsZeroNotUnknown) {
  REQUIRE_CAP(write);
  fs().pipe_file(p("zero"), "");
  EXPECT_EQ(fs().size(p("zero")), std::optional<std::uint64_t>(0));
}

// --- walk ---------------------------------------------------------------------------------------

std::vector<std::string> walk_roots(const std::vector<WalkEntry>& w) {
  std::vector<std::string> out;
  for (const auto& e : w) out.push_back(e.root);
  return out;
}

TEST_P(ListingTest, WalkTopdown) {
  REQUIRE_CAP(list);
  auto w = fs().walk(root());
  ASSERT_EQ(w.size(), 4u) << ::testing::PrintToString(walk_roots(w));
  // Top-down: every directory comes before its subdirectories.
  EXPECT_EQ(w[0].root, root());
  EXPECT_EQ(keys(w[0].dirs), (Names{"dir1", "dir2"}));
  EXPECT_EQ(keys(w[0].files), (Names{"a.txt", "ab.dat", "b.txt"}));
  auto pos = [&](const std::string& r) {
    auto roots = walk_roots(w);
    return std::find(roots.begin(), roots.end(), r) - roots.begin();
  };
  EXPECT_LT(pos(d("dir1")), pos(d("dir1/sub")));
  EXPECT_LT(pos(d("dir2")), 4);
  for (const auto& e : w) {
    SCOPED_TRACE(e.root);
    if (e.root == d("dir1")) {
      EXPECT_EQ(keys(e.dirs), (Names{"sub"}));
      EXPECT_EQ(keys(e.files), (Names{"x.txt", "y.dat"}));
      EXPECT_TRUE(e.dirs.at("sub").is_dir());
      EXPECT_EQ(e.files.at("x.txt").name, p("dir1/x.txt")) << "infos carry full names";
    } else if (e.root == d("dir1/sub")) {
      EXPECT_TRUE(e.dirs.empty());
      EXPECT_EQ(keys(e.files), (Names{"z.txt"}));
    } else if (e.root == d("dir2")) {
      EXPECT_TRUE(e.dirs.empty());
      EXPECT_EQ(keys(e.files), (Names{"x.txt"}));
    }
  }
}

TEST_P(ListingTest, WalkBottomUp) {
  REQUIRE_CAP(list);
  WalkOptions o;
  o.topdown = false;
  auto w = fs().walk(root(), o);
  ASSERT_EQ(w.size(), 4u);
  // Bottom-up: the root comes last, and every child before its parent.
  EXPECT_EQ(w.back().root, root());
  auto roots = walk_roots(w);
  auto pos = [&](const std::string& r) {
    return std::find(roots.begin(), roots.end(), r) - roots.begin();
  };
  EXPECT_LT(pos(d("dir1/sub")), pos(d("dir1")));
}

TEST_P(ListingTest, WalkMaxdepth) {
  REQUIRE_CAP(list);
  WalkOptions o;
  o.maxdepth = 1;
  auto w = fs().walk(root(), o);
  ASSERT_EQ(w.size(), 1u) << "maxdepth 1 lists the root only";
  EXPECT_EQ(keys(w[0].dirs), (Names{"dir1", "dir2"}));
  o.maxdepth = 2;
  EXPECT_EQ(sorted(walk_roots(fs().walk(root(), o))), sorted({root(), d("dir1"), d("dir2")}));
}

TEST_P(ListingTest, WalkMaxdepthBelowOneIsInvalid) {
  WalkOptions o;
  o.maxdepth = 0;
  EXPECT_FS_THROW(kInvalidArgument, fs().walk(root(), o));
  o.maxdepth = -3;
  EXPECT_FS_THROW(kInvalidArgument, fs().walk(root(), o));
}

TEST_P(ListingTest, WalkOnErrorOmitAndRaise) {
  REQUIRE_CAP(list);
  WalkOptions o;
  o.on_error = OnError::kRaise;
  EXPECT_FS_THROW(kNotFound, fs().walk(p("nope"), o));
  o.on_error = OnError::kOmit;
  // fsspec's sync walk yields nothing, its async walk yields (path, [], []): both are "empty".
  std::vector<WalkEntry> w;
  ASSERT_NO_THROW(w = fs().walk(p("nope"), o));
  for (const auto& e : w) {
    EXPECT_TRUE(e.dirs.empty());
    EXPECT_TRUE(e.files.empty());
  }
}

TEST_P(ListingTest, WalkViaCoroutineApi) {
  REQUIRE_CAP(list);
  auto w = sync(fs().io(), fs()._walk(p("dir1"), WalkOptions{}));
  // The root is reported as given; directories found below it follow the d() convention.
  EXPECT_EQ(sorted(walk_roots(w)), sorted({p("dir1"), d("dir1/sub")}));
}

// --- find ---------------------------------------------------------------------------------------

TEST_P(ListingTest, FindFilesOnlySorted) {
  REQUIRE_CAP(list);
  auto f = fs().find(root());
  EXPECT_EQ(rel(f), tree_files());
  // The map is ordered by full name, which is the sorted order fsspec promises.
  auto k = keys(f);
  EXPECT_TRUE(std::is_sorted(k.begin(), k.end()));
  EXPECT_EQ(f.at(p("dir1/x.txt")).name, p("dir1/x.txt"));
  EXPECT_TRUE(f.at(p("dir1/x.txt")).is_file());
}

TEST_P(ListingTest, FindWithdirsIncludesRoot) {
  REQUIRE_CAP(list);
  FindOptions o;
  o.withdirs = true;
  EXPECT_EQ(rel(fs().find(root(), o)),
            (Names{".", "a.txt", "ab.dat", "b.txt", "dir1", "dir1/sub", "dir1/sub/z.txt",
                   "dir1/x.txt", "dir1/y.dat", "dir2", "dir2/x.txt"}));
}

TEST_P(ListingTest, FindMaxdepth) {
  REQUIRE_CAP(list);
  FindOptions o;
  o.maxdepth = 1;
  EXPECT_EQ(rel(fs().find(root(), o)), (Names{"a.txt", "ab.dat", "b.txt"}));
  o.maxdepth = 2;
  EXPECT_EQ(rel(fs().find(root(), o)),
            (Names{"a.txt", "ab.dat", "b.txt", "dir1/x.txt", "dir1/y.dat", "dir2/x.txt"}));
  o.withdirs = true;
  o.maxdepth = 1;
  EXPECT_EQ(rel(fs().find(root(), o)), (Names{".", "a.txt", "ab.dat", "b.txt", "dir1", "dir2"}));
}

TEST_P(ListingTest, FindOfAFileGivesThatFile) {
  REQUIRE_CAP(list);
  EXPECT_EQ(keys(fs().find(p("dir1/x.txt"))), (Names{p("dir1/x.txt")}));
}

TEST_P(ListingTest, FindOfMissingIsEmpty) {
  // fsspec: find() walks with on_error="omit", so a missing root gives an empty result.
  REQUIRE_CAP(list);
  EXPECT_TRUE(fs().find(p("nope")).empty());
}

TEST_P(ListingTest, FindDoesNotMatchSiblingsSharingAPrefix) {
  REQUIRE_CAP(list);
  REQUIRE_CAP(write);
  fs().pipe_file(p("dir1x/leak"), "no");
  fs().pipe_file(p("dir1.txt"), "no");
  EXPECT_EQ(rel(fs().find(p("dir1"))), (Names{"dir1/sub/z.txt", "dir1/x.txt", "dir1/y.dat"}));
}

TEST_P(ListingTest, FindPrefixHint) {
  REQUIRE_CAP(list);
  FindOptions o;
  o.prefix = "a";
  // The hint keeps names that start with root/prefix: a.txt and ab.dat, nothing from dirs.
  auto found = rel(fs().find(root(), o));
  EXPECT_EQ(found, (Names{"a.txt", "ab.dat"}));
}

TEST_P(ListingTest, FindMaxdepthBelowOneIsInvalid) {
  FindOptions o;
  o.maxdepth = 0;
  EXPECT_FS_THROW(kInvalidArgument, fs().find(root(), o));
}

TEST_P(ListingTest, FindInfosEqualInfo) {
  REQUIRE_CAP(list);
  FindOptions o;
  o.withdirs = true;
  for (const auto& [name, i] : fs().find(p("dir1"), o)) {
    SCOPED_TRACE(name);
    auto direct = fs().info(name);
    EXPECT_EQ(i.name, direct.name);
    EXPECT_EQ(i.type, direct.type);
    if (i.is_file() && caps().listing_sizes_known) {
      EXPECT_EQ(i.size, direct.size);
    }
  }
}

// --- glob ---------------------------------------------------------------------------------------

struct GlobCase {
  std::string pattern;                // relative to root
  std::vector<std::string> expected;  // relative to root, "." is root itself
};

TEST_P(ListingTest, GlobTable) {
  REQUIRE_CAP(list);
  // Re-derived from fsspec's glob rules (fsspec.md §1.7): '*' stays within a component,
  // '**' spans components (also zero), '?' is one character, [...] a class, a trailing '/'
  // keeps directories only, and directories are returned too (withdirs defaults to true).
  const std::vector<GlobCase> cases = {
      {"*.txt", {"a.txt", "b.txt"}},
      {"*", {"a.txt", "ab.dat", "b.txt", "dir1", "dir2"}},
      {"?.txt", {"a.txt", "b.txt"}},
      {"a*", {"a.txt", "ab.dat"}},
      {"[ab].txt", {"a.txt", "b.txt"}},
      {"[a-b].txt", {"a.txt", "b.txt"}},
      {"[!a]*", {"b.txt", "dir1", "dir2"}},
      {"*.dat", {"ab.dat"}},
      {"dir*/x.txt", {"dir1/x.txt", "dir2/x.txt"}},
      {"*/*.txt", {"dir1/x.txt", "dir2/x.txt"}},
      {"*/*", {"dir1/sub", "dir1/x.txt", "dir1/y.dat", "dir2/x.txt"}},
      {"dir1/*", {"dir1/sub", "dir1/x.txt", "dir1/y.dat"}},
      {"**/*.txt", {"a.txt", "b.txt", "dir1/sub/z.txt", "dir1/x.txt", "dir2/x.txt"}},
      {"**/x.txt", {"dir1/x.txt", "dir2/x.txt"}},
      {"dir1/**/z.txt", {"dir1/sub/z.txt"}},
      {"dir1/**", {"dir1", "dir1/sub", "dir1/sub/z.txt", "dir1/x.txt", "dir1/y.dat"}},
      {"*/", {"dir1", "dir2"}},
      {"dir?/s*/", {"dir1/sub"}},
      {"d?r[0-9]/s*/z.txt", {"dir1/sub/z.txt"}},
      {"nomatch*", {}},
      {"dir3/*", {}},
      {"a.txt", {"a.txt"}},  // no magic: [path] when it exists
      {"missing.txt", {}},   // no magic: [] when it does not
      {"dir1", {"dir1"}},    // no magic, a directory
      {"[]", {}},            // an empty class never matches
  };
  for (const auto& c : cases) {
    // Where '?' is literal (URLs: it starts the query), its cases say nothing about globbing.
    if (!caps().question_mark_is_wildcard && c.pattern.find('?') != std::string::npos) continue;
    SCOPED_TRACE("pattern " + c.pattern);
    EXPECT_EQ(rel(fs().glob(p(c.pattern))), c.expected);
  }
}

TEST_P(ListingTest, GlobRegexCharactersAreLiteral) {
  REQUIRE_CAP(list);
  REQUIRE_CAP(write);
  fs().pipe_file(p("x+y.txt"), "1");
  fs().pipe_file(p("xxy.txt"), "2");
  fs().pipe_file(p("x(1).txt"), "3");
  fs().pipe_file(p("x1.txt"), "4");
  EXPECT_EQ(rel(fs().glob(p("x+*"))), (Names{"x+y.txt"}));
  EXPECT_EQ(rel(fs().glob(p("x(*"))), (Names{"x(1).txt"}));
  if (caps().question_mark_is_wildcard) {
    EXPECT_EQ(rel(fs().glob(p("x?y.txt"))), (Names{"x+y.txt", "xxy.txt"}));
  }
}

TEST_P(ListingTest, GlobWithdirsFalse) {
  REQUIRE_CAP(list);
  GlobOptions o;
  o.withdirs = false;
  EXPECT_EQ(rel(fs().glob(p("*"), o)), (Names{"a.txt", "ab.dat", "b.txt"}));
  EXPECT_EQ(rel(fs().glob(p("dir1/*"), o)), (Names{"dir1/x.txt", "dir1/y.dat"}));
}

TEST_P(ListingTest, GlobMaxdepthLimitsDoubleStar) {
  REQUIRE_CAP(list);
  GlobOptions o;
  o.maxdepth = 1;
  EXPECT_EQ(rel(fs().glob(p("**/*.txt"), o)), (Names{"a.txt", "b.txt"}));
  o.maxdepth = 2;
  EXPECT_EQ(rel(fs().glob(p("**/*.txt"), o)),
            (Names{"a.txt", "b.txt", "dir1/x.txt", "dir2/x.txt"}));
}

TEST_P(ListingTest, GlobInvalidPatternsAndMaxdepth) {
  // '**' must be a whole component.
  EXPECT_FS_THROW(kInvalidArgument, fs().glob(p("**.txt")));
  EXPECT_FS_THROW(kInvalidArgument, fs().glob(p("dir1/a**")));
  GlobOptions o;
  o.maxdepth = 0;
  EXPECT_FS_THROW(kInvalidArgument, fs().glob(p("**"), o));
}

TEST_P(ListingTest, GlobInfosAreReal) {
  REQUIRE_CAP(list);
  auto g = fs().glob(p("dir*"));
  ASSERT_EQ(rel(g), (Names{"dir1", "dir2"}));
  EXPECT_TRUE(g.at(d("dir1")).is_dir());
  auto f = fs().glob(p("*.dat"));
  ASSERT_EQ(f.size(), 1u);
  if (caps().listing_sizes_known) {
    EXPECT_EQ(f.begin()->second.size, std::optional<std::uint64_t>(6));
  }
}

// --- du -----------------------------------------------------------------------------------------

TEST_P(ListingTest, DuTotalAndPerFile) {
  REQUIRE_CAP(list);
  std::uint64_t expected_total = 0;
  for (const auto& f : tree_files()) expected_total += f.size();
  EXPECT_EQ(fs().du_total(root()), expected_total);
  auto per = fs().du(root());
  EXPECT_EQ(rel(keys(per)), tree_files());
  EXPECT_EQ(per.at(p("dir1/sub/z.txt")), 14u);
  EXPECT_EQ(per.at(p("a.txt")), 5u);
}

TEST_P(ListingTest, DuMaxdepthAndWithdirs) {
  REQUIRE_CAP(list);
  DuOptions o;
  o.maxdepth = 1;
  EXPECT_EQ(fs().du_total(p("dir1"), o), 20u);  // x.txt + y.dat, not sub/z.txt
  o.maxdepth.reset();
  o.withdirs = true;
  auto per = fs().du(p("dir1"), o);
  EXPECT_EQ(rel(keys(per)),
            (Names{"dir1", "dir1/sub", "dir1/sub/z.txt", "dir1/x.txt", "dir1/y.dat"}));
  // Directory entries count 0: a directory's size does not include its contents.
  EXPECT_EQ(per.at(d("dir1/sub")), 0u);
  EXPECT_EQ(fs().du_total(p("dir1"), o), 34u);
}

TEST_P(ListingTest, DuOfAFile) {
  REQUIRE_CAP(list);
  EXPECT_EQ(fs().du_total(p("ab.dat")), 6u);
}

TEST_P(ListingTest, DuMaxdepthBelowOneIsInvalid) {
  DuOptions o;
  o.maxdepth = 0;
  EXPECT_FS_THROW(kInvalidArgument, fs().du(root(), o));
}

// --- expand_path --------------------------------------------------------------------------------

TEST_P(ListingTest, ExpandPathLiteral) {
  EXPECT_EQ(fs().expand_path(p("a.txt")), (Names{p("a.txt")}));
  EXPECT_EQ(fs().expand_path(p("dir1")), (Names{p("dir1")})) << "not recursive: dir itself";
  // The protocol is stripped; a trailing slash too, unless the backend keeps it (d()).
  EXPECT_EQ(fs().expand_path(p("dir1/")), (Names{d("dir1")}));
  EXPECT_EQ(fs().expand_path(fixture().url(p("a.txt"))), (Names{p("a.txt")}));
}

TEST_P(ListingTest, ExpandPathLiteralMissingNonRecursive) {
  // fsspec adds a literal non-recursive path without checking it exists; the read that
  // follows reports NotFound.
  EXPECT_EQ(fs().expand_path(p("ghost")), (Names{p("ghost")}));
}

TEST_P(ListingTest, ExpandPathRecursive) {
  REQUIRE_CAP(list);
  EXPECT_EQ(rel(fs().expand_path(p("dir1"), true)),
            (Names{"dir1", "dir1/sub", "dir1/sub/z.txt", "dir1/x.txt", "dir1/y.dat"}));
  EXPECT_EQ(rel(fs().expand_path(p("dir1"), true, 1)),
            (Names{"dir1", "dir1/sub", "dir1/x.txt", "dir1/y.dat"}));
  // A file expands to itself.
  EXPECT_EQ(fs().expand_path(p("a.txt"), true), (Names{p("a.txt")}));
}

TEST_P(ListingTest, ExpandPathGlob) {
  REQUIRE_CAP(list);
  EXPECT_EQ(rel(fs().expand_path(p("dir*"))), (Names{"dir1", "dir2"}));
  EXPECT_EQ(rel(fs().expand_path(p("dir*"), true)),
            (Names{"dir1", "dir1/sub", "dir1/sub/z.txt", "dir1/x.txt", "dir1/y.dat", "dir2",
                   "dir2/x.txt"}));
  // The glob itself spends one level of maxdepth.
  EXPECT_EQ(rel(fs().expand_path(p("dir*"), true, 2)),
            (Names{"dir1", "dir1/sub", "dir1/x.txt", "dir1/y.dat", "dir2", "dir2/x.txt"}));
}

TEST_P(ListingTest, ExpandPathListSortedAndDeduplicated) {
  REQUIRE_CAP(list);
  auto out = fs().expand_path(Paths{p("b.txt"), p("a.txt"), p("b.txt"), p("*.txt")});
  EXPECT_EQ(out, (Names{p("a.txt"), p("b.txt")}));
  auto rec = fs().expand_path(Paths{p("dir2"), p("dir2/x.txt")}, true);
  EXPECT_EQ(rec, (Names{p("dir2"), p("dir2/x.txt")}));
}

TEST_P(ListingTest, ExpandPathNothingIsNotFound) {
  REQUIRE_CAP(list);
  EXPECT_FS_THROW(kNotFound, fs().expand_path(p("zzz*")));
  EXPECT_FS_THROW(kNotFound, fs().expand_path(p("ghost"), true));
  EXPECT_FS_THROW(kNotFound, fs().expand_path(Paths(std::vector<std::string>{p("q*")})));
}

TEST_P(ListingTest, ExpandPathMaxdepthBelowOneIsInvalid) {
  EXPECT_FS_THROW(kInvalidArgument, fs().expand_path(p("dir1"), true, 0));
  EXPECT_FS_THROW(kInvalidArgument, fs().expand_path(p("dir1"), true, -1));
}

TEST_P(ListingTest, ExpandPathViaCoroutineApi) {
  REQUIRE_CAP(list);
  auto out = sync(fs().io(), fs()._expand_path(Paths(p("*.dat")), false, std::nullopt));
  EXPECT_EQ(out, (Names{p("ab.dat")}));
}

}  // namespace

ASYNCFS_CONFORMANCE_SUITE(ListingTest);

}  // namespace asyncfs::conformance
