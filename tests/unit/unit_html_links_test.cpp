// Link extraction from index pages (nginx, Apache, IIS, hand-written) and from garbage, plus
// the URL parsing the HTTP backend validates paths with.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "backends/http/html_links.hpp"
#include "backends/http/url_norm.hpp"

namespace asyncfs::http {
namespace {

using V = std::vector<std::string>;

TEST(HtmlLinks, ExtractsHrefsInAllQuotingStyles) {
  const std::string html =
      "<a href=\"one\">1</a><A HREF='two'>2</A><a class=x href=three>3</a>"
      "<a\nhref = \"four\" >4</a><a name=x>no href</a><link href=\"style.css\">"
      "<a href=\"a&amp;b\">amp</a><a href=\"&#x41;&#66;\">refs</a>";
  EXPECT_EQ(extract_hrefs(html), (V{"one", "two", "three", "four", "a&b", "AB"}));
}

TEST(HtmlLinks, SkipsCommentsScriptsAndStyles) {
  const std::string html =
      "<!-- <a href=\"hidden\"> --><script>var s='<a href=\"js\">';</script>"
      "<style>a[href=\"css\"]{}</style><a href=\"shown\">x</a>";
  EXPECT_EQ(extract_hrefs(html), (V{"shown"}));
}

TEST(HtmlLinks, NginxAutoindex) {
  const std::string html =
      "<html>\r\n<head><title>Index of /data/</title></head>\r\n<body>\r\n"
      "<h1>Index of /data/</h1><hr><pre><a href=\"../\">../</a>\r\n"
      "<a href=\"sub/\">sub/</a>                                               "
      "22-Nov-2026 05:00       -\r\n"
      "<a href=\"a%20b.txt\">a b.txt</a>                                           "
      "22-Nov-2026 05:00       5\r\n"
      "<a href=\"x.bin\">x.bin</a>   22-Nov-2026 05:00     100\r\n"
      "</pre><hr></body>\r\n</html>\r\n";
  EXPECT_EQ(
      child_links(html, "http://h:8080/data/", true),
      (V{"http://h:8080/data/a%20b.txt", "http://h:8080/data/sub/", "http://h:8080/data/x.bin"}));
}

TEST(HtmlLinks, ApacheIndexDropsSortLinksAndParent) {
  const std::string html =
      "<table><tr><th><a href=\"?C=N;O=D\">Name</a></th><th><a href=\"?C=M;O=A\">Last "
      "modified</a></th></tr><tr><td><a href=\"/pub/\">Parent Directory</a></td></tr>"
      "<tr><td><a href=\"file.txt\">file.txt</a></td></tr>"
      "<tr><td><a href=\"docs/\">docs/</a></td></tr></table>"
      "<address><a href=\"mailto:webmaster@example.com\">mail</a></address>";
  EXPECT_EQ(child_links(html, "http://example.com/pub/files/", true),
            (V{"http://example.com/pub/files/docs/", "http://example.com/pub/files/file.txt"}));
}

TEST(HtmlLinks, IisAbsoluteLinksAndUrlWithoutSlash) {
  const std::string html =
      "<pre><A HREF=\"/data/\">[To Parent Directory]</A><br><br>"
      " 4/1/2002  1:00 AM  1000 <A HREF=\"/data/20020401/a.nc4\">a.nc4</A><br>"
      " 4/1/2002  2:00 AM  1001 <A HREF=\"/data/20020401/readme.txt\">readme.txt</A><br></pre>";
  EXPECT_EQ(
      child_links(html, "http://127.0.0.1:1/data/20020401", true),
      (V{"http://127.0.0.1:1/data/20020401/a.nc4", "http://127.0.0.1:1/data/20020401/readme.txt"}));
}

TEST(HtmlLinks, TrickyLinks) {
  const std::string html =
      "<a href=\"#top\">t</a><a href=\"?C=N;O=D\">s</a><a href=\"mailto:a@b.c\">m</a>"
      "<a href=\"../\">p</a><a href=\"..\">p2</a><a href=\"/\">root</a><a href=\".\">self</a>"
      "<a href=\"/t/abs.txt\">abs</a><a href=\"http://H:81/t/full.txt\">full</a>"
      "<a href=\"http://other:81/t/o.txt\">other</a><a href=\"https://h:81/t/tls.txt\">tls</a>"
      "<a href=\"//h:81/t/schemeless.txt\">sl</a><a href=\"/elsewhere/f\">e</a>"
      "<a href=\"d1/\">d1</a><a href=\"d1/deeper/f\">deep</a><a href=\"./d2/\">d2</a>"
      "<a href=\"javascript:void(0)\">js</a><a href=\"d1/#frag\">frag</a>"
      "<a href=\" spaced.txt \">sp</a><a href=\"q.txt?x=1\">q</a><a href=\"\">empty</a>";
  EXPECT_EQ(child_links(html, "http://h:81/t/", true),
            (V{"http://h:81/t/abs.txt", "http://h:81/t/d1/", "http://h:81/t/d2/",
               "http://h:81/t/full.txt", "http://h:81/t/q.txt?x=1", "http://h:81/t/schemeless.txt",
               "http://h:81/t/spaced.txt"}));
  // Without same_scheme the https link to the same host counts too, with its own scheme.
  auto mixed = child_links(html, "http://h:81/t/", false);
  EXPECT_NE(std::find(mixed.begin(), mixed.end(), "https://h:81/t/tls.txt"), mixed.end());
}

TEST(HtmlLinks, DefaultPortIsSameHost) {
  const std::string html = "<a href=\"http://h:80/d/a\">a</a><a href=\"https://h/d/b\">b</a>";
  EXPECT_EQ(child_links(html, "http://h/d/", true), (V{"http://h/d/a"}));
  EXPECT_EQ(child_links(html, "http://h/d/", false), (V{"http://h/d/a", "https://h/d/b"}));
}

TEST(HtmlLinks, NoLinksAndNonHtml) {
  EXPECT_TRUE(child_links("plain text, no tags", "http://h/d/", true).empty());
  EXPECT_TRUE(child_links("", "http://h/d/", true).empty());
  EXPECT_TRUE(child_links("<a href=x>", "not a url", true).empty());
}

TEST(HtmlLinks, GarbageNeverCrashesAndStaysLinear) {
  const std::vector<std::string> cases = {"<",
                                          "<a",
                                          "<a href",
                                          "<a href=",
                                          "<a href=\"unterminated",
                                          "<!--",
                                          "<!-- x",
                                          "<script>",
                                          "<a href='x'",
                                          "<<<<a href=a>>>>",
                                          "<a =x href=y>",
                                          "<a href=\"&#99999999999;\">",
                                          "<a href=\"&#xZZ;\">",
                                          std::string(1, '\0') + "<a href=z>",
                                          "<a/href=w>"};
  for (const auto& c : cases) {
    (void)extract_hrefs(c);
    (void)child_links(c, "http://h/", true);
  }
  EXPECT_EQ(extract_hrefs("<a/href=w>"), (V{"w"}));
  // Random bytes.
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) {
    std::string s(1000, ' ');
    for (char& ch : s) ch = "<a href='\"=>/!-  x#?&;"[rng() % 22];
    (void)child_links(s, "http://h/d/", true);
  }
  // A long pathological page finishes quickly (linear scan).
  std::string big;
  for (int i = 0; i < 200000; ++i) big += "<a href=";
  EXPECT_TRUE(extract_hrefs(big).size() <= 200000);
  std::string quotes(2'000'000, '"');
  (void)extract_hrefs("<a href=" + quotes);
}

TEST(HtmlLinks, HtmlContentType) {
  EXPECT_TRUE(is_html_content_type("text/html"));
  EXPECT_TRUE(is_html_content_type("Text/HTML; charset=utf-8"));
  EXPECT_TRUE(is_html_content_type(""));
  EXPECT_FALSE(is_html_content_type("application/octet-stream"));
  EXPECT_FALSE(is_html_content_type("text/plain"));
}

TEST(ChildLinks, SpacesAreEscapedAndControlCharactersDropTheLink) {
  // Found by fuzz_html_links: "my file.txt" linked unescaped came back as a URL that
  // parse_url (and so every later call on the name) refuses.
  const std::string html = R"(<a href="my file.txt">x</a><a href="a b/?q=1 2">y</a>)"
                           "<a href=\"bad\x01name\">z</a>";
  EXPECT_EQ(child_links(html, "http://h/d/", true),
            (V{"http://h/d/a%20b/?q=1%202", "http://h/d/my%20file.txt"}));
  for (const auto& l : child_links(html, "http://h/d/", true)) EXPECT_TRUE(parse_url(l)) << l;
}

TEST(UrlNorm, CanonicalEscapesAreIdempotent) {
  // Found by fuzz_url: a '%' that starts no escape became an escape on the second pass.
  const std::string once = canonical_escapes("http://h/a%7%37p/%zz/100%");
  EXPECT_EQ(once, "http://h/a%2577p/%25zz/100%25");
  EXPECT_EQ(canonical_escapes(once), once);
  EXPECT_EQ(canonical_escapes("http://h/x%2By/h\xc3\xa9?q=%7"), "http://h/x+y/h%C3%A9?q=%7");
}

TEST(UrlNorm, UserinfoLeavesTheUrl) {
  std::string without;
  auto info = split_userinfo("http://al%40ce:p%3Ass@host:81/a@b?c@d", &without);
  ASSERT_TRUE(info);
  EXPECT_EQ(*info, "al%40ce:p%3Ass");
  EXPECT_EQ(without, "http://host:81/a@b?c@d");
  EXPECT_EQ(percent_decode("al%40ce"), "al@ce");
  EXPECT_FALSE(split_userinfo("http://host/a@b", &without));
  EXPECT_EQ(origin_of("HTTP://Host:81/x"), "http://host:81");
}

TEST(UrlParts, ParsesAndRejects) {
  auto u = parse_url("HTTPS://User:pw@Example.COM:443/a/b?x=1#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->authority, "example.com");
  EXPECT_EQ(u->path, "/a/b");
  EXPECT_EQ(u->query, "x=1");
  auto bare = parse_url("http://h:8080");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->path, "/");
  EXPECT_EQ(bare->authority, "h:8080");
  EXPECT_FALSE(parse_url("ftp://h/x"));
  EXPECT_FALSE(parse_url("http:///x"));
  EXPECT_FALSE(parse_url("http://h/a b"));
  EXPECT_FALSE(parse_url("/local/path"));
  EXPECT_FALSE(parse_url("http://"));
}

TEST(UrlParts, PortsAndIpv6Hosts) {
  for (const char* bad : {"http://h:99999/x", "http://h:-1/x", "http://h:65536/", "http://h:8a/",
                          "http://[::1/x", "http://[]:80/", "http://[::1]x/", "http://h:000080/"}) {
    EXPECT_FALSE(parse_url(bad)) << bad;
  }
  for (const char* good : {"http://h:65535/x", "http://h:/x", "http://[::1]/x",
                           "http://[::1]:8080/x", "http://u:p@[fe80::1]:1/"}) {
    EXPECT_TRUE(parse_url(good)) << good;
  }
  EXPECT_EQ(parse_url("http://[::1]:8080/x")->authority, "[::1]:8080");
}

}  // namespace
}  // namespace asyncfs::http
