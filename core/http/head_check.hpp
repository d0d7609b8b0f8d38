#pragma once
// The libcurl transport's reading of the response head lines its header callback receives:
// the checks that make it refuse what the native HTTP/1.1 parser (h1/response_parser.cpp)
// refuses, and the header list it builds, the same as the parser's. libcurl 7.88 alone accepts
// `Content-Length: +5`, conflicting lengths, a folded Content-Length, lines without a colon,
// any line starting with "HTTP/" as a status line, a head cut short by the close...
// Standalone so that the differential fuzzer (tests/fuzz/fuzz_h1_differential.cpp) judges
// libcurl's lines exactly as the transport does.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/http/header_util.hpp"

namespace asyncfs::http {

/// One per transfer; follows its responses (1xx, redirect hops) through their status lines.
class HeadCheck {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;
  enum class Line { kStatus, kField, kEnd, kTrailer };

  /// One line as libcurl hands it to CURLOPT_HEADERFUNCTION (with its line end). Returns
  /// what is wrong with it, or "" when it is acceptable; then kind() says what it was.
  /// `headers` gets the current response's fields as the native parser stores them: names
  /// lower-cased, values trimmed, obs-fold continuations appended after one space, cleared
  /// at each status line; trailers are skipped (as the parser does).
  std::string line(std::string_view line, Headers& headers) {
    // After the final head, a status line is the next response: a proxy's CONNECT answer
    // then the real one, or the next hop of a redirect libcurl follows. Only a chunked body
    // has trailers, which may start with "HTTP/" too.
    if (in_trailers() && line.starts_with("HTTP/") &&
        (!chunked_seen_ || (follows_redirects && status_ >= 300 && status_ < 400))) {
      expect_status_ = true;
    }
    if (line.find('\0') != std::string_view::npos) return "NUL byte in response head";
    if (line.ends_with('\n')) line.remove_suffix(1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    // RFC 9112 §2.2: a bare CR is invalid (libcurl takes a line starting with one for the
    // end of the head).
    if (line.find('\r') != std::string_view::npos) return "bare CR in response head";
    if (in_trailers() && !expect_status_) {
      // Chunked trailers: not kept (the native parser does not keep them), but held to the
      // syntax of a field as the parser holds them.
      kind_ = Line::kTrailer;
      if (line.empty()) return {};
      if (line.front() == ' ' || line.front() == '\t') {
        return trailer_seen_ ? "" : "continuation line before any trailer field";
      }
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0 ||
          line.substr(0, colon).find_first_of(" \t") != std::string_view::npos) {
        return "malformed trailer field: " + std::string(line.substr(0, 64));
      }
      trailer_seen_ = true;
      return {};
    }
    if (expect_status_) {
      kind_ = Line::kStatus;
      headers.clear();
      return status_line(line);
    }
    if (line.empty()) {
      kind_ = Line::kEnd;
      ended_ = true;
      expect_status_ = status_ < 200;  // 1xx: the real response follows
      return {};
    }
    kind_ = Line::kField;
    if (line.front() == ' ' || line.front() == '\t') {
      // obs-fold. Not of a field that frames the message: its value was acted on already.
      if (headers.empty()) return "continuation line before any header field";
      if (last_field_framing_) return "folded Content-Length or Transfer-Encoding";
      headers.back().second.push_back(' ');
      headers.back().second.append(trim(line));
      return {};
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return "malformed header field: " + std::string(line.substr(0, 64));
    }
    const std::string_view name = line.substr(0, colon);
    if (name.find_first_of(" \t") != std::string_view::npos) {
      return "whitespace in header field name";
    }
    const std::string_view value = trim(line.substr(colon + 1));
    const bool is_length = iequals(name, "content-length");
    last_field_framing_ = is_length || iequals(name, "transfer-encoding");
    if (iequals(name, "transfer-encoding")) {
      // Codings accumulate over every Transfer-Encoding line (RFC 9110 §5.3); chunked twice
      // is refused by the parser (RFC 9112 §6.1), accepted by libcurl 7.88.
      std::string_view rest = value;
      while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        if (iequals(trim(rest.substr(0, comma)), "chunked")) {
          if (chunked_seen_) return "chunked transfer coding applied twice";
          chunked_seen_ = true;
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
    if (is_length) {
      const std::optional<std::uint64_t> v = parse_content_length(value);
      if (!v) return "malformed Content-Length: " + std::string(value.substr(0, 64));
      if (content_length_ && *content_length_ != *v) return "conflicting Content-Length values";
      content_length_ = v;
    }
    headers.emplace_back(lower(name), std::string(value));
    return {};
  }

  /// Whether the current response may have come over HTTP/2, whose status line libcurl writes
  /// as "HTTP/2 200". Over plain HTTP/1.1 that line is the server's, and no HTTP/1.x.
  bool h2_possible = false;
  /// libcurl follows redirects itself (CURLOPT_FOLLOWLOCATION).
  bool follows_redirects = false;

  Line kind() const noexcept { return kind_; }
  /// The current response's status code (0 before its status line).
  int status() const noexcept { return status_; }
  /// The current response's Content-Length, once seen.
  std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
  /// The current response's head ended with its blank line. libcurl 7.88 reports success for
  /// a response whose head the close cut short: the transport checks this at the end.
  bool ended() const noexcept { return ended_; }
  /// After the final head, libcurl hands chunked trailers to the header callback too.
  bool in_trailers() const noexcept { return ended_ && status_ >= 200; }

 private:
  /// The first line of a response, without its line end. libcurl 7.88 takes any line starting
  /// with "HTTP/" for an HTTP/1.0 200 when it cannot parse it, and accepts "HTTP/1.1 200OK" or
  /// "HTTP/1.1  200" (and "HTTP/2 200" on an HTTP/1.1 connection): held to the native
  /// parser's rule. Over HTTP/2, "HTTP/2 200" is what libcurl itself writes.
  std::string status_line(std::string_view line) {
    content_length_.reset();
    ended_ = false;
    last_field_framing_ = false;
    trailer_seen_ = false;
    chunked_seen_ = false;
    expect_status_ = false;
    status_ = 0;
    std::size_t at = 0;
    if (h2_possible && line.starts_with("HTTP/2 ")) {
      at = 7;
    } else if (line.starts_with("HTTP/1.") && line.size() > 8 &&
               (line[7] == '0' || line[7] == '1') && line[8] == ' ') {
      at = 9;
    } else {
      return "not an HTTP/1.x status line: " + std::string(line.substr(0, 64));
    }
    int status = 0;
    for (std::size_t i = at; i < at + 3; ++i) {
      if (i >= line.size() || line[i] < '0' || line[i] > '9') {
        return "malformed status code: " + std::string(line.substr(0, 64));
      }
      status = status * 10 + (line[i] - '0');
    }
    if (line.size() > at + 3 && line[at + 3] != ' ') {
      return "malformed status line: " + std::string(line.substr(0, 64));
    }
    if (status < 100) return "status code below 100: " + std::to_string(status);
    if (status == 101) return "unexpected 101 Switching Protocols";
    status_ = status;
    return {};
  }

  Line kind_ = Line::kStatus;
  int status_ = 0;
  std::optional<std::uint64_t> content_length_;
  bool ended_ = false;
  bool expect_status_ = true;        // the next line starts a response
  bool last_field_framing_ = false;  // the previous field was Content-Length/Transfer-Encoding
  bool trailer_seen_ = false;
  bool chunked_seen_ = false;  // a Transfer-Encoding field named chunked
};

}  // namespace asyncfs::http
