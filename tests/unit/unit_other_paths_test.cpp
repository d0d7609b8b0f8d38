// Destination mapping of bulk copies (fsspec's other_paths), case by case.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "asyncfs/path.hpp"

namespace asyncfs {
namespace {

using Strings = std::vector<std::string>;

struct Case {
  const char* what;
  Strings sources;
  std::string dest;
  bool exists;
  bool flatten;
  Strings expected;
};

const Case kCases[] = {
    {"one file renamed", {"/src/one"}, "/dst", false, false, {"/dst"}},
    {"one file into an existing dir", {"/src/one"}, "/dst", true, false, {"/dst/one"}},
    {"trailing slash on the destination is dropped",
     {"/src/one"},
     "/dst/",
     true,
     false,
     {"/dst/one"}},
    {"top-level file into an existing dir", {"/one"}, "/dst", true, false, {"/dst/one"}},
    {"siblings lose their common parent",
     {"/more/p1", "/more/p2"},
     "/dst",
     false,
     false,
     {"/dst/p1", "/dst/p2"}},
    {"siblings into an existing dir keep their parent",
     {"/more/p1", "/more/p2"},
     "/dst",
     true,
     false,
     {"/dst/more/p1", "/dst/more/p2"}},
    {"a tree replaces its root",
     {"/src/d", "/src/d/f1", "/src/d/sub/f2"},
     "/dst",
     false,
     false,
     {"/dst", "/dst/f1", "/dst/sub/f2"}},
    {"a tree lands inside an existing dir",
     {"/src/d", "/src/d/f1", "/src/d/sub/f2"},
     "/dst",
     true,
     false,
     {"/dst/d", "/dst/d/f1", "/dst/d/sub/f2"}},
    {"the prefix is made of whole components",
     {"/ab/c", "/abd/e"},
     "/t",
     false,
     false,
     {"/t/ab/c", "/t/abd/e"}},
    {"relative paths without a common prefix are nested",
     {"a", "b/c"},
     "X",
     false,
     false,
     {"X/a", "X/b/c"}},
    {"relative siblings", {"r/s/c", "r/s/d"}, "X", false, false, {"X/c", "X/d"}},
    {"relative siblings into an existing dir",
     {"r/s/c", "r/s/d"},
     "X",
     true,
     false,
     {"X/s/c", "X/s/d"}},
    {"a lone relative name has no parent to keep", {"file"}, "X", true, false, {"X"}},
    {"flatten keeps basenames only",
     {"/a/b/c.txt", "/d/e.txt"},
     "/t",
     false,
     true,
     {"/t/c.txt", "/t/e.txt"}},
    {"flatten ignores a trailing slash",
     {"/a/b/c.txt", "/d/e.txt"},
     "/t/",
     false,
     true,
     {"/t/c.txt", "/t/e.txt"}},
    {"flatten ignores exists", {"/a/x", "/b/y"}, "/t", true, true, {"/t/x", "/t/y"}},
    {"into the root", {"/x/a", "/x/b"}, "/", false, false, {"/a", "/b"}},
    {"identical sources map to the destination",
     {"/a/b", "/a/b"},
     "/t",
     false,
     false,
     {"/t", "/t"}},
};

TEST(OtherPaths, Table) {
  int n = 0;
  for (const auto& c : kCases) {
    EXPECT_EQ(path::other_paths(c.sources, c.dest, c.exists, c.flatten), c.expected) << c.what;
    ++n;
  }
  EXPECT_GE(n, 13);
}

TEST(OtherPaths, EmptySourcesGiveNothing) {
  EXPECT_TRUE(path::other_paths({}, "/t", false, false).empty());
  EXPECT_TRUE(path::other_paths({}, "/t", true, true).empty());
}

}  // namespace
}  // namespace asyncfs
