// Path helpers: parent/basename/join, trailing slashes, magic detection, UTF-8 checks.

#include <gtest/gtest.h>

#include <string>

#include "asyncfs/path.hpp"
#include "asyncfs/registry.hpp"

namespace asyncfs {
namespace {

TEST(Path, Parent) {
  EXPECT_EQ(path::parent("/a/b/c"), "/a/b");
  EXPECT_EQ(path::parent("/a"), "/");
  EXPECT_EQ(path::parent("/"), "/");
  EXPECT_EQ(path::parent("a/b"), "a");
  EXPECT_EQ(path::parent("name"), "");
  EXPECT_EQ(path::parent("/a/b/"), "/a");
  EXPECT_EQ(path::parent("http://host/dir/file"), "http://host/dir");
}

TEST(Path, Basename) {
  EXPECT_EQ(path::basename("/a/b/c.txt"), "c.txt");
  EXPECT_EQ(path::basename("c.txt"), "c.txt");
  EXPECT_EQ(path::basename("/a/dir/"), "dir");
  EXPECT_EQ(path::basename("/"), "/");
  EXPECT_EQ(path::basename(""), "");
}

TEST(Path, Join) {
  EXPECT_EQ(path::join("/a", "b"), "/a/b");
  EXPECT_EQ(path::join("/a/", "b"), "/a/b");
  EXPECT_EQ(path::join("/a//", "/b"), "/a/b");
  EXPECT_EQ(path::join("/", "b"), "/b");
  EXPECT_EQ(path::join("", "b"), "b");
  EXPECT_EQ(path::join("a", "b/c"), "a/b/c");
}

TEST(Path, TrailingSlash) {
  EXPECT_EQ(path::strip_trailing_slash("/a/b///"), "/a/b");
  EXPECT_EQ(path::strip_trailing_slash("/"), "/");
  EXPECT_EQ(path::strip_trailing_slash("///"), "/");
  EXPECT_EQ(path::strip_trailing_slash("a"), "a");
  EXPECT_EQ(path::strip_trailing_slash(""), "");
  EXPECT_TRUE(path::has_trailing_slash("dir/"));
  EXPECT_FALSE(path::has_trailing_slash("dir"));
  EXPECT_FALSE(path::has_trailing_slash(""));
}

TEST(Path, HasMagic) {
  EXPECT_TRUE(path::has_magic("*.txt"));
  EXPECT_TRUE(path::has_magic("a?c"));
  EXPECT_TRUE(path::has_magic("x[0]"));
  EXPECT_FALSE(path::has_magic("plain/path.txt"));
  EXPECT_FALSE(path::has_magic("{a,b}"));
  EXPECT_FALSE(path::has_magic("a]b"));
}

TEST(Path, EscapeGlobMatchesItselfOnly) {
  for (const std::string s : {"http://[::1]:8080/a", "x*y?z[0]", "plain"}) {
    EXPECT_TRUE(path::GlobPattern(path::escape_glob(s)).match(s)) << s;
  }
  EXPECT_FALSE(path::GlobPattern(path::escape_glob("a*")).match("abc"));
  EXPECT_EQ(path::escape_glob("[::1]"), "[[]::1]");
}

TEST(Path, HttpUrlsWithIpv6HostsAreNotPatterns) {
  // "[" in a host is an IPv6 literal; only '*' and '[' after the authority are wildcards, and
  // '?' starts the query.
  register_builtin_implementations();
  auto fs = filesystem("http");
  EXPECT_FALSE(fs->has_magic("http://[::1]:8080/x"));
  EXPECT_FALSE(fs->has_magic("http://[::1]:8080/x?a=1"));
  EXPECT_FALSE(fs->has_magic("http://[::1]"));
  EXPECT_TRUE(fs->has_magic("http://[::1]:8080/dir/*.txt"));
  EXPECT_TRUE(fs->has_magic("http://host/x[0-9]"));
  EXPECT_EQ(fs->find_magic("http://[::1]:8080/d/[ab]"), std::string("http://[::1]:8080/d/").size());
  auto mem = filesystem("memory");
  EXPECT_TRUE(mem->has_magic("/a?c"));
}

TEST(Path, Utf8Validation) {
  EXPECT_TRUE(path::is_valid_utf8(""));
  EXPECT_TRUE(path::is_valid_utf8("plain ascii"));
  EXPECT_TRUE(path::is_valid_utf8("caf\xc3\xa9"));
  EXPECT_TRUE(path::is_valid_utf8("\xe2\x82\xac"));      // euro sign
  EXPECT_TRUE(path::is_valid_utf8("\xf0\x9f\x98\x80"));  // emoji
  EXPECT_FALSE(path::is_valid_utf8("\xff"));
  EXPECT_FALSE(path::is_valid_utf8("\xc3"));              // truncated
  EXPECT_FALSE(path::is_valid_utf8("\xc0\xaf"));          // overlong "/"
  EXPECT_FALSE(path::is_valid_utf8("\xe0\x80\xaf"));      // overlong, 3 bytes
  EXPECT_FALSE(path::is_valid_utf8("\xed\xa0\x80"));      // UTF-16 surrogate
  EXPECT_FALSE(path::is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(path::is_valid_utf8("a\x80z"));            // stray continuation byte
}

TEST(Path, EscapeForMessage) {
  EXPECT_EQ(path::escape_for_message("plain/name.txt"), "plain/name.txt");
  EXPECT_EQ(path::escape_for_message("bad\xff"), "bad\\xff");
  EXPECT_EQ(path::escape_for_message("tab\there"), "tab\\x09here");
  EXPECT_EQ(path::escape_for_message("caf\xc3\xa9"), "caf\\xc3\\xa9");
  EXPECT_EQ(path::escape_for_message(std::string("nul\0x", 5)), "nul\\x00x");
}

TEST(Path, CommonPrefixIsComponentWise) {
  EXPECT_EQ(path::common_prefix({"/a/b/c", "/a/b/d"}), "/a/b");
  EXPECT_EQ(path::common_prefix({"/ab/c", "/abd/e"}), "");
  EXPECT_EQ(path::common_prefix({"/a/b", "/a/b"}), "/a/b");
  EXPECT_EQ(path::common_prefix({"/only/one"}), "/only/one");
  EXPECT_EQ(path::common_prefix({"x/y", "z"}), "");
  EXPECT_EQ(path::common_prefix({}), "");
}

}  // namespace
}  // namespace asyncfs
