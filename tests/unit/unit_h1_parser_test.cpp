// The native HTTP/1.1 client's response parser and URL filter, fed byte by byte and whole.

#include <gtest/gtest.h>

#include <string>

#include "core/http/h1/response_parser.hpp"
#include "core/http/h1/url.hpp"

namespace asyncfs::http::h1 {
namespace {

struct Parsed {
  ResponseParser parser;
  std::string body;
  std::size_t consumed = 0;
};

/// Feeds `wire` in pieces of `step` bytes (0 = all at once), as a client's read loop does:
/// after the head completes the rest of the same read is fed again.
void feed_all(Parsed& p, std::string_view wire, std::size_t step) {
  if (step == 0) step = wire.size();
  for (std::size_t at = 0; at < wire.size() && !p.parser.done(); at += step) {
    std::string_view piece = wire.substr(at, step);
    while (!piece.empty() && !p.parser.done()) {
      const std::size_t used = p.parser.feed(piece, [&](std::string_view b) {
        p.body.append(b);
        return true;
      });
      p.consumed += used;
      piece.remove_prefix(used);
      if (used == 0) break;
    }
  }
}

class ParserSplits : public ::testing::TestWithParam<std::size_t> {};

TEST_P(ParserSplits, ContentLengthBodyAndHeaders) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Thing:  a b \r\nContent-Type: text/plain\r\n\r\n"
      "hello";
  Parsed p;
  p.parser.start(false);
  feed_all(p, wire, GetParam());
  ASSERT_TRUE(p.parser.done());
  EXPECT_EQ(p.parser.status(), 200);
  EXPECT_EQ(p.body, "hello");
  EXPECT_EQ(p.consumed, wire.size());
  EXPECT_TRUE(p.parser.keep_alive());
  ASSERT_EQ(p.parser.headers().size(), 3u);
  EXPECT_EQ(p.parser.headers()[1].first, "x-thing");
  EXPECT_EQ(p.parser.headers()[1].second, "a b");
  EXPECT_EQ(p.parser.content_length(), 5u);
}

TEST_P(ParserSplits, ChunkedWithExtensionsAndTrailers) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";
  Parsed p;
  p.parser.start(false);
  feed_all(p, wire, GetParam());
  ASSERT_TRUE(p.parser.done());
  EXPECT_EQ(p.body, "helloabcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(p.consumed, wire.size());
  EXPECT_TRUE(p.parser.keep_alive());
}

TEST_P(ParserSplits, InformationalResponsesAreSkipped) {
  const std::string wire =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
      "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop";
  Parsed p;
  p.parser.start(false);
  feed_all(p, wire, GetParam());
  ASSERT_TRUE(p.parser.done());
  EXPECT_EQ(p.parser.status(), 404);
  EXPECT_EQ(p.body, "nop");
  ASSERT_EQ(p.parser.headers().size(), 1u);  // the 103's Link is not the final response's
}

TEST_P(ParserSplits, BareLineFeedsAndFoldedValues) {
  const std::string wire = "HTTP/1.1 200 OK\nX-Long: one\n  two\nContent-Length: 2\n\nok";
  Parsed p;
  p.parser.start(false);
  feed_all(p, wire, GetParam());
  ASSERT_TRUE(p.parser.done());
  EXPECT_EQ(p.parser.headers()[0].second, "one two");
  EXPECT_EQ(p.body, "ok");
}

INSTANTIATE_TEST_SUITE_P(H1Parser, ParserSplits, ::testing::Values(0, 1, 2, 7));

TEST(H1Parser, BodyUntilCloseEndsAtEof) {
  Parsed p;
  p.parser.start(false);
  feed_all(p, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\nsome", 0);
  EXPECT_FALSE(p.parser.done());
  EXPECT_FALSE(p.parser.keep_alive());
  feed_all(p, " more", 0);
  EXPECT_TRUE(p.parser.on_eof());
  EXPECT_TRUE(p.parser.done());
  EXPECT_EQ(p.body, "some more");
}

TEST(H1Parser, EofInsideALengthOrChunkIsTruncation) {
  Parsed a;
  a.parser.start(false);
  feed_all(a, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0);
  EXPECT_FALSE(a.parser.on_eof());
  EXPECT_EQ(a.parser.remaining(), 7u);
  Parsed b;
  b.parser.start(false);
  feed_all(b, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 0);
  EXPECT_FALSE(b.parser.on_eof());
  Parsed c;
  c.parser.start(false);
  EXPECT_FALSE(c.parser.on_eof());
  EXPECT_FALSE(c.parser.started());
}

TEST(H1Parser, NoBodyForHeadAnd204And304) {
  for (const char* wire : {"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n",
                           "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"}) {
    Parsed p;
    p.parser.start(false);
    feed_all(p, wire, 0);
    EXPECT_TRUE(p.parser.done()) << wire;
  }
  Parsed h;
  h.parser.start(true);
  feed_all(h, "HTTP/1.1 200 OK\r\nContent-Length: 123\r\n\r\n", 0);
  EXPECT_TRUE(h.parser.done());
  EXPECT_EQ(h.parser.content_length(), 123u);
  EXPECT_TRUE(h.body.empty());
}

TEST(H1Parser, ExtraBytesAfterTheResponseAreNotConsumed) {
  Parsed p;
  p.parser.start(false);
  const std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE";
  feed_all(p, wire, 0);
  EXPECT_TRUE(p.parser.done());
  EXPECT_EQ(p.body, "ok");
  EXPECT_EQ(p.consumed, wire.size() - 7);
}

TEST(H1Parser, KeepAliveRules) {
  auto keep = [](const std::string& wire) {
    Parsed p;
    p.parser.start(false);
    feed_all(p, wire, 0);
    return p.parser.keep_alive();
  };
  EXPECT_FALSE(keep("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(keep("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_TRUE(keep("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_TRUE(
      keep("HTTP/1.1 200 OK\r\nConnection: keep-alive, Upgrade\r\nContent-Length: 0\r\n\r\n"));
}

TEST(H1Parser, MalformedResponsesThrow) {
  const char* bad[] = {
      "garbage\r\n\r\n",
      "HTTP/2 200\r\n\r\n",
      "HTTP/1.1 2x0 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
      "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
      "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
      "HTTP/1.1 101 Switching Protocols\r\n\r\n",
  };
  for (const char* wire : bad) {
    Parsed p;
    p.parser.start(false);
    EXPECT_THROW(feed_all(p, wire, 0), ParseError) << wire;
  }
  // Repeated equal lengths are fine.
  Parsed ok;
  ok.parser.start(false);
  feed_all(ok, "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok", 0);
  EXPECT_TRUE(ok.parser.done());
}

TEST(H1Parser, FramingFlawsAreRefused) {
  const std::string bad[] = {
      // 2^64 (wrapped to 0 when the check ran after the multiply), and 2^64 + 5, which wrapped
      // to the 5 of an earlier field and so passed the equal-duplicates check.
      "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 18446744073709551621\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nContent-Length: ,\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
      // A fold after a framing field changes a value that was acted on already.
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n 6\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n chunked\r\n\r\n",
      std::string("HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n", 48),
  };
  for (const std::string& wire : bad) {
    Parsed p;
    p.parser.start(false);
    EXPECT_THROW(feed_all(p, wire, 0), ParseError) << wire;
  }
}

TEST(H1Parser, TransferCodingsCountOverEveryLine) {
  // chunked then gzip on a second line: chunked is not the final coding, so the body runs to
  // the close (RFC 9112 §6.3) and is still gzip-coded.
  Parsed a;
  a.parser.start(false);
  feed_all(a,
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"
           "5\r\nhello",
           0);
  EXPECT_FALSE(a.parser.done());
  EXPECT_TRUE(a.parser.transfer_coded());
  EXPECT_FALSE(a.parser.keep_alive());
  EXPECT_TRUE(a.parser.on_eof());
  EXPECT_EQ(a.body, "5\r\nhello");
  // gzip then chunked over two lines: de-chunked, and flagged as still coded.
  Parsed b;
  b.parser.start(false);
  feed_all(b,
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
           "2\r\nxy\r\n0\r\n\r\n",
           0);
  EXPECT_TRUE(b.parser.done());
  EXPECT_TRUE(b.parser.transfer_coded());
  EXPECT_EQ(b.body, "xy");
  // Plain chunked is not "coded".
  Parsed c;
  c.parser.start(false);
  feed_all(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0);
  EXPECT_TRUE(c.parser.done());
  EXPECT_FALSE(c.parser.transfer_coded());
  EXPECT_TRUE(c.parser.keep_alive());
}

TEST(H1Parser, TransferEncodingWithContentLengthClosesTheConnection) {
  Parsed p;
  p.parser.start(false);
  feed_all(p,
           "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
           "2\r\nok\r\n0\r\n\r\n",
           0);
  ASSERT_TRUE(p.parser.done());
  EXPECT_EQ(p.body, "ok");  // Transfer-Encoding wins
  EXPECT_FALSE(p.parser.keep_alive());
  EXPECT_FALSE(p.parser.content_length());
}

// Found by tests/fuzz/fuzz_h1_differential: the parser accepted these and libcurl does not
// (or takes them for something else), so the two transports answered differently.
TEST(H1Parser, MinorVersionsAboveOneAreRefused) {
  Parsed p;
  p.parser.start(false);
  EXPECT_THROW(feed_all(p, "HTTP/1.8 200 OK\r\nContent-Length: 0\r\n\r\n", 0), ParseError);
  Parsed ok;
  ok.parser.start(false);
  feed_all(ok, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
  EXPECT_TRUE(ok.parser.done());
}

TEST(H1Parser, BareCrInTheHeadIsRefused) {
  // libcurl ends the head at a line starting with CR, and keeps other bare CRs in values.
  const char* bad[] = {
      "HTTP/1.1 200 OK\r\n\r0\r\nContent-Length: 2\r\n\r\nok",
      "HTTP/1.1 200 OK\r\n\rntent-Length: 100\r\xdfgzip\r\n\r\nok",
      "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok",
  };
  for (const char* wire : bad) {
    Parsed p;
    p.parser.start(false);
    EXPECT_THROW(feed_all(p, wire, 0), ParseError) << wire;
  }
}

TEST(H1Parser, MalformedTrailersAreRefused) {
  // libcurl refuses a trailer line without a colon; trailers are not kept, but judged.
  const char* bad[] = {
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nhello\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n folded\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA b: 1\r\n\r\n",
  };
  for (const char* wire : bad) {
    Parsed p;
    p.parser.start(false);
    EXPECT_THROW(feed_all(p, wire, 0), ParseError) << wire;
  }
  Parsed ok;
  ok.parser.start(false);
  feed_all(
      ok, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nA: 1\r\n 2\r\n\r\n",
      0);
  EXPECT_TRUE(ok.parser.done());
  EXPECT_EQ(ok.body, "ok");
}

TEST(H1Parser, EmptyContentLengthElementsAreRefused) {
  // libcurl refuses a Content-Length that does not start with a digit; the shared
  // parse_content_length skipped empty list elements, so ",,00" framed a body natively.
  for (const char* wire : {"HTTP/1.1 200 OK\r\nContent-Length: ,,,,,00\r\n\r\n",
                           "HTTP/1.1 200 OK\r\nContent-Length: 2,,2\r\n\r\nok",
                           "HTTP/1.1 200 OK\r\nContent-Length: 2,\r\n\r\nok"}) {
    Parsed p;
    p.parser.start(false);
    EXPECT_THROW(feed_all(p, wire, 0), ParseError) << wire;
  }
}

TEST(H1Parser, TrailersCutByTheCloseEndTheResponse) {
  // Found by the differential fuzzer: libcurl delivers the body once the last chunk is in.
  Parsed p;
  p.parser.start(false);
  feed_all(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-A: 1\r\n", 0);
  EXPECT_FALSE(p.parser.done());
  EXPECT_TRUE(p.parser.on_eof());
  EXPECT_EQ(p.body, "ok");
  Parsed q;  // not before the last chunk
  q.parser.start(false);
  feed_all(q, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n", 0);
  EXPECT_FALSE(q.parser.on_eof());
}

TEST(H1Parser, ChunkSizesOfMoreThan16DigitsAreRefused) {
  // Found by the differential fuzzer: libcurl refuses "Too long hexadecimal number".
  Parsed p;
  p.parser.start(false);
  EXPECT_THROW(feed_all(p,
                        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "00000000000000002\r\nok\r\n0\r\n\r\n",
                        0),
               ParseError);
  Parsed ok;
  ok.parser.start(false);
  feed_all(ok,
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "0000000000000002\r\nok\r\n0\r\n\r\n",
           0);
  EXPECT_TRUE(ok.parser.done());
  EXPECT_EQ(ok.body, "ok");
}

TEST(H1Parser, HeadLargerThanTheLimitThrows) {
  Parsed p;
  p.parser.start(false);
  std::string wire = "HTTP/1.1 200 OK\r\n";
  while (wire.size() <= ResponseParser::kMaxHead)
    wire += "X-Filler: " + std::string(100, 'x') + "\r\n";
  EXPECT_THROW(feed_all(p, wire, 1000), ParseError);
  Parsed q;
  q.parser.start(false);
  EXPECT_THROW(feed_all(q, "HTTP/1.1 200 OK\r\nX: " + std::string(200 * 1024, 'y'), 4096),
               ParseError);
}

TEST(H1Url, PlainUrlsAreSplit) {
  auto u = parse_plain_url("http://127.0.0.1:8080/a/b.txt?x=1#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/a/b.txt?x=1");
  EXPECT_EQ(u->host_header, "127.0.0.1:8080");
  EXPECT_EQ(u->pool_key, "127.0.0.1:8080");
  u = parse_plain_url("HTTP://Example.org");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->host_header, "Example.org");
  u = parse_plain_url("http://h:80?q");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->target, "/?q");
  EXPECT_EQ(u->host_header, "h");
  u = parse_plain_url("http://h/.hidden/..x/a%20b");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->target, "/.hidden/..x/a%20b");
}

TEST(H1Url, EverythingElseIsLeftToCurl) {
  for (const char* url :
       {"https://h/x", "ftp://h/x", "http://user:pw@h/x", "http://[::1]:80/x", "http://h:/x",
        "http://h:0/x", "http://h:65536/x", "http://h/a b", "http://h/\xc3\xa9", "http://h/a/../b",
        "http://h/./b", "http:///x", "http:h/x", "http://h\t/x", "http://h/x\n"}) {
    EXPECT_FALSE(parse_plain_url(url)) << url;
  }
}

}  // namespace
}  // namespace asyncfs::http::h1
