// Glob matching: one table of pattern × path cases re-deriving the rules fsspec's glob follows
// (its translate() of CPython's pathname patterns, recursive and hidden files on).

#include <gtest/gtest.h>

#include <string>

#include "asyncfs/errors.hpp"
#include "asyncfs/path.hpp"

namespace asyncfs {
namespace {

using path::fnmatch_component;
using path::GlobPattern;

struct Case {
  const char* pattern;
  const char* path;
  bool matches;
};

// Directories are tested as "name/" whenever the pattern ends in "/" or "/**" (the glob
// algorithm appends the slash to directory candidates in those cases).
const Case kCases[] = {
    // A lone star: exactly one component, never empty, never crossing "/".
    {"*", "a", true},
    {"*", "", false},
    {"*", "a/b", false},
    {"*", ".hidden", true},
    {"top/*", "top/x", true},
    {"top/*", "top/", false},
    {"top/*", "top/x/y", false},
    {"top/*/leaf", "top/mid/leaf", true},
    {"top/*/leaf", "top//leaf", false},
    // A star inside a longer component may match nothing.
    {"*.txt", "notes.txt", true},
    {"*.txt", ".txt", true},
    {"*.txt", "sub/notes.txt", false},
    {"x*", "x", true},
    {"a*b*c", "a12b34c", true},
    {"a*b*c", "abc", true},
    {"a*b*c", "acb", false},
    {"*mid*", "xmidy", true},
    {"A*", "abc", false},  // case matters
    // "**" at the end: every remaining component, at least one (possibly the empty one).
    {"**", "a", true},
    {"**", "a/b/c", true},
    {"root/**", "root/", true},
    {"root/**", "root", false},
    {"root/**", "root/x/y", true},
    {"root/**", "rooted/x", false},
    // "**" at the start or in the middle: zero or more whole components.
    {"**/leaf", "leaf", true},
    {"**/leaf", "p/q/leaf", true},
    {"**/leaf", "p/q/leafy", false},
    {"a/**/z", "a/z", true},
    {"a/**/z", "a/b/c/z", true},
    {"a/**/z", "a/b/c/zz", false},
    {"a/**/*.py", "a/m.py", true},
    {"a/**/*.py", "a/b/c/m.py", true},
    {"a/**/*.py", "b/m.py", false},
    {"**/mid/**", "x/mid/y", true},
    {"**/mid/**", "x/mid", false},
    {"**/mid/**", "x/mid/", true},
    // "?" is one character (one code point), never "/".
    {"?", "q", true},
    {"?", "", false},
    {"?", "qq", false},
    {"a?c", "abc", true},
    {"a?c", "a/c", false},
    {"caf?", "caf\xc3\xa9", true},
    {"?", "\xc3\xa9", true},
    // Classes, negation, ranges.
    {"[abc]x", "bx", true},
    {"[abc]x", "dx", false},
    {"[!abc]x", "dx", true},
    {"[!abc]x", "ax", false},
    {"[a-c]", "b", true},
    {"[a-c]", "d", false},
    {"[a-c-e]", "-", true},  // a '-' right after a range is literal
    {"[a-c-e]", "d", false},
    {"[c-a]", "b", false},  // a reversed range never matches
    {"[c-a]", "c", false},
    {"[!c-a]", "z", true},  // ... so its negation matches anything
    {"[]]", "]", true},     // a leading ']' is literal
    {"[!]]", "]", false},
    {"[!]]", "x", true},
    {"[a-]", "-", true},  // a trailing '-' is literal
    {"[-a]", "-", true},
    {"[[]", "[", true},
    {"[\xc3\xa9]", "\xc3\xa9", true},
    // An unclosed '[' is an ordinary character.
    {"[", "[", true},
    {"a[b", "a[b", true},
    {"a[b", "ab", false},
    // Characters special to regular expressions are literal; no brace expansion.
    {"file.txt", "file.txt", true},
    {"file.txt", "fileXtxt", false},
    {"a+b", "a+b", true},
    {"a+b", "aab", false},
    {"(x)|y", "(x)|y", true},
    {"(x)|y", "x", false},
    {"^a$", "^a$", true},
    {"{a,b}", "a", false},
    {"{a,b}", "{a,b}", true},
    {"x\\y", "x\\y", true},
    {"x\\y", "xy", false},
    // A trailing "/" keeps directories only (candidates that carry the slash).
    {"d/*/", "d/sub/", true},
    {"d/*/", "d/sub", false},
    {"d/*/", "d/sub/x", false},
    {"**/", "a/", true},
    {"**/", "a/b/", true},
    {"**/", "a", false},
    // Absolute paths.
    {"/data/*.csv", "/data/x.csv", true},
    {"/data/**", "/data/", true},
    {"/**/x", "/x", true},
    {"/**/x", "/a/b/x", true},
};

TEST(Glob, Table) {
  int checked = 0;
  for (const auto& c : kCases) {
    GlobPattern pattern(c.pattern);
    EXPECT_EQ(pattern.match(c.path), c.matches)
        << "pattern '" << c.pattern << "' path '" << c.path << "'";
    ++checked;
  }
  EXPECT_GE(checked, 40);
}

TEST(Glob, DoubleStarMustBeAWholeComponent) {
  for (const char* bad : {"a**", "**b", "x/a**/y", "***", "dir/**.txt"}) {
    EXPECT_THROW(GlobPattern{bad}, InvalidArgument) << bad;
  }
  EXPECT_NO_THROW(GlobPattern("**"));
  EXPECT_NO_THROW(GlobPattern("a/**/b/**"));
}

TEST(Glob, InvalidPatternErrorNamesThePattern) {
  try {
    GlobPattern("some/x**");
    FAIL() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("some/x**"), std::string::npos) << e.what();
  }
}

TEST(Glob, ManyDoubleStarsStayFast) {
  // Exponential backtracking would take ages here; the automaton is quadratic.
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "d/";
  deep += "end";
  GlobPattern pattern("**/**/**/**/**/**/**/**/nomatch");
  EXPECT_FALSE(pattern.match(deep));
  EXPECT_TRUE(GlobPattern("**/**/**/**/end").match(deep));
}

TEST(Glob, FnmatchComponent) {
  EXPECT_TRUE(fnmatch_component("*", ""));  // within a component a star may be empty
  EXPECT_TRUE(fnmatch_component("a*", "abc"));
  EXPECT_FALSE(fnmatch_component("a*", "a/b"));
  EXPECT_TRUE(fnmatch_component("*a*a*a*", "xaxaxa"));
  EXPECT_FALSE(fnmatch_component("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
  EXPECT_TRUE(fnmatch_component("[0-9][0-9]", "42"));
  EXPECT_FALSE(fnmatch_component("[0-9][0-9]", "4x"));
  EXPECT_TRUE(fnmatch_component("?\xff", "a\xff"));  // stray bytes match themselves
  EXPECT_FALSE(fnmatch_component("\xff", "\xfe"));
}

}  // namespace
}  // namespace asyncfs
