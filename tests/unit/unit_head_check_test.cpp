// HeadCheck: the libcurl transport's reading of response head lines, which must refuse what
// the native HTTP/1.1 parser refuses and keep the same header list (several cases were found
// by tests/fuzz/fuzz_h1_differential).

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "core/http/head_check.hpp"

namespace asyncfs::http {
namespace {

/// Feeds the lines as libcurl's header callback would; returns the first problem ("" if none).
std::string judge(HeadCheck& c, HeadCheck::Headers& headers,
                  std::initializer_list<std::string_view> lines) {
  for (std::string_view line : lines) {
    std::string problem = c.line(line, headers);
    if (!problem.empty()) return problem;
  }
  return {};
}

std::string judge(std::initializer_list<std::string_view> lines) {
  HeadCheck c;
  HeadCheck::Headers headers;
  return judge(c, headers, lines);
}

TEST(HeadCheck, AcceptsWhatTheParserAccepts) {
  HeadCheck c;
  HeadCheck::Headers h;
  EXPECT_EQ(
      judge(c, h,
            {"HTTP/1.1 100 Continue\r\n", "\r\n", "HTTP/1.1 200 OK\r\n", "Content-Length: 2, 2\r\n",
             "X-Long:  one \r\n", "  two\r\n", "Content-Length: 2\n", "\r\n"}),
      "");
  EXPECT_TRUE(c.ended());
  EXPECT_EQ(c.status(), 200);
  EXPECT_EQ(c.content_length(), 2u);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[1].first, "x-long");
  EXPECT_EQ(h[1].second, "one two");
  // Chunked trailers: judged, not kept.
  EXPECT_EQ(judge(c, h, {"X-Trailer: 1\r\n", " folded\r\n"}), "");
  EXPECT_EQ(c.kind(), HeadCheck::Line::kTrailer);
  EXPECT_EQ(h.size(), 3u);
  // Found by the fuzzer: after a chunked body, a line starting with "HTTP/" is a trailer.
  HeadCheck chunked;
  EXPECT_EQ(
      judge(chunked, h,
            {"HTTP/1.1 200 OK\r\n", "Transfer-Encoding: chunked\r\n", "\r\n", "HTTP/X: 1\r\n"}),
      "");
  EXPECT_EQ(chunked.kind(), HeadCheck::Line::kTrailer);
  // libcurl's own status line for HTTP/2, a reason-less one, and a redirect hop.
  HeadCheck h2;
  h2.h2_possible = true;
  EXPECT_EQ(judge(h2, h, {"HTTP/2 200 \r\n", "a: b\r\n", "\r\n"}), "");
  EXPECT_NE(judge({"HTTP/2 200 OK\r\n"}), "");  // found by the fuzzer: on HTTP/1.1
  EXPECT_EQ(judge({"HTTP/1.0 200\r\n", "\r\n"}), "");
  HeadCheck hops;
  HeadCheck::Headers hh;
  EXPECT_EQ(judge(hops, hh,
                  {"HTTP/1.1 302 Found\r\n", "Location: /b\r\n", "Content-Length: 0\r\n", "\r\n",
                   "HTTP/1.1 200 OK\r\n", "Content-Length: 5\r\n", "\r\n"}),
            "");
  EXPECT_EQ(hops.status(), 200);
  EXPECT_EQ(hops.content_length(), 5u);
  ASSERT_EQ(hh.size(), 1u);
}

TEST(HeadCheck, RefusesWhatTheParserRefuses) {
  const std::initializer_list<std::string_view> bad[] = {
      {"HTTP/1.1 200 OK\r\n", "Content-Length: +5\r\n"},
      {"HTTP/1.1 200 OK\r\n", "Content-Length: 3\r\n", "Content-Length: 4\r\n"},
      {"HTTP/1.1 200 OK\r\n", std::string_view("X-A: a\0b\r\n", 10)},
      {"HTTP/1.1 200 OK\r\n", "Content-Length: 5\r\n", " 6\r\n"},
      {"HTTP/1.1 200 OK\r\n", "Transfer-Encoding: gzip\r\n", " chunked\r\n"},
      {"HTTP/1.1 200 OK\r\n", "  folded first\r\n"},
      {"HTTP/1.1 200 OK\r\n", "No colon here\r\n"},
      {"HTTP/1.1 200 OK\r\n", "Bad Name: x\r\n"},
      {"HTTP/1.1 101 Switching Protocols\r\n"},
      // Found by the differential fuzzer: libcurl 7.88 accepts all of these.
      {"HTTP/1.8 200 OK\r\n"},             // an HTTP version that does not exist
      {"HTTP/`.0 200 OK\r\n"},             // libcurl: "HTTP/1.0 200"
      {"HTTP/1.1 200OK\r\n"},              // no space after the code
      {"HTTP/1.1  200 OK\r\n"},            // two spaces before it
      {"HTTP/1.1 200 OK\r\n", "\r0\r\n"},  // libcurl: the end of the head
      {"HTTP/1.1 200 OK\r\n", "\rntent-Length: 100\r\xdfgzip\r\n"},
      {"HTTP/1.1 200 OK\r\n", "Transfer-Encoding: chunked\r\n", "\r\n", "hello\r\n"},
      {"HTTP/1.1 200 OK\r\n", "Content-Length: ,,,,,00\r\n"},
      {"HTTP/1.1 200 OK\r\n", "Transfer-Encoding: chunked\r\n", "Transfer-Encoding: gzip\r\n",
       "Transfer-Encoding: Chunked\r\n"},
  };
  for (const auto& lines : bad) {
    std::string all;
    for (std::string_view l : lines) all += l;
    EXPECT_NE(judge(lines), "") << all;
  }
}

TEST(HeadCheck, AHeadCutShortHasNotEnded) {
  // libcurl 7.88 reports success for "HTTP/1.1 200 OK\r\nX-A: 1\r\n" and then the close.
  HeadCheck c;
  HeadCheck::Headers h;
  EXPECT_EQ(judge(c, h, {"HTTP/1.1 200 OK\r\n", "X-A: 1\r\n"}), "");
  EXPECT_FALSE(c.ended());
  HeadCheck interim;
  EXPECT_EQ(judge(interim, h, {"HTTP/1.1 100 Continue\r\n", "\r\n"}), "");
  EXPECT_TRUE(interim.ended());
  EXPECT_FALSE(interim.in_trailers());  // the final response is still to come
}

}  // namespace
}  // namespace asyncfs::http
