#pragma once
// Incremental parser of one HTTP/1.x response (RFC 9112): status line, header fields, and body
// framing by Content-Length, chunked transfer coding or connection close. Bytes may arrive in any
// split; the common case (a whole head in one read) is parsed without copying it.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace asyncfs::http::h1 {

/// A response the parser cannot accept (the client maps it to ProtocolError).
class ParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ResponseParser {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  /// Largest head (status line plus fields) accepted, as curl's limit.
  static constexpr std::size_t kMaxHead = 100 * 1024;

  /// Gets ready for the response to a request; `head_request` = no body follows the head.
  void start(bool head_request);

  /// Parses from `in`. Body bytes go to `on_body(std::string_view)`, which returns false to
  /// stop (feed then returns at once). Returns the bytes consumed: less than in.size() when the
  /// head has just completed (so the caller can look at it before any body byte), when the
  /// response is complete (the rest is not part of it) or when on_body stopped.
  /// Throws ParseError.
  template <class OnBody>
  std::size_t feed(std::string_view in, OnBody&& on_body);

  /// The connection was closed. True when that completes the response (a body delimited by
  /// close); false when the response was cut short.
  bool on_eof();

  bool head_complete() const noexcept { return state_ > State::kHead; }
  bool done() const noexcept { return state_ == State::kDone; }
  /// In a Content-Length body: the next remaining() bytes are body bytes, as they are.
  bool in_length_body() const noexcept { return state_ == State::kBodyLength; }
  /// After the last chunk, in the trailer section.
  bool in_trailers() const noexcept { return state_ == State::kTrailers; }
  /// Whether any byte of the response has arrived (a reused connection that closes before
  /// that may be retried on a new one).
  bool started() const noexcept { return started_; }

  int status() const noexcept { return status_; }
  /// Field names lower-cased, values trimmed, in arrival order (the final response's only).
  Headers& headers() noexcept { return headers_; }
  /// The body length from Content-Length (nullopt when absent or overridden by
  /// Transfer-Encoding).
  std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
  /// The body carries a transfer coding other than chunked (gzip...): this parser only
  /// de-chunks, so the bytes it delivers would still be encoded.
  bool transfer_coded() const noexcept { return transfer_coded_; }
  /// False when the connection cannot carry another request after this response.
  bool keep_alive() const noexcept { return keep_alive_; }
  /// Body bytes still expected with Content-Length framing (for error messages).
  std::uint64_t remaining() const noexcept { return remaining_; }

 private:
  enum class State {
    kHead,
    kBodyLength,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailers,
    kBodyUntilClose,
    kDone
  };

  /// Consumes one head line (without its line ending); moves past the head at the blank line.
  void reset_framing();
  void head_line(std::string_view line);
  void status_line(std::string_view line);
  void header_field(std::string_view line);
  void end_of_head();
  void trailer_field(std::string_view line);
  void chunk_size_line(std::string_view line);
  /// Consumes lines from `in` while in a line-oriented state; returns bytes consumed.
  std::size_t lines(std::string_view in);

  State state_ = State::kHead;
  bool head_request_ = false;
  bool started_ = false;
  bool status_seen_ = false;
  int status_ = 0;
  int minor_version_ = 1;
  Headers headers_;
  std::optional<std::uint64_t> content_length_;
  bool chunked_ = false;
  bool close_delimited_ = false;
  bool transfer_encoding_ = false;  // a Transfer-Encoding field was seen
  bool transfer_coded_ = false;     // ... naming a coding other than chunked
  bool chunked_seen_ = false;
  bool last_coding_chunked_ = false;
  bool last_field_framing_ = false;  // the previous field was Content-Length/Transfer-Encoding
  bool keep_alive_ = true;
  bool trailer_seen_ = false;
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  std::uint64_t remaining_ = 0;
  std::size_t head_bytes_ = 0;
  std::string partial_;  // an incomplete line carried over between feeds
};

template <class OnBody>
std::size_t ResponseParser::feed(std::string_view in, OnBody&& on_body) {
  std::size_t used = 0;
  if (!in.empty()) started_ = true;
  while (used < in.size() && state_ != State::kDone) {
    const std::string_view rest = in.substr(used);
    switch (state_) {
      case State::kBodyLength: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
        remaining_ -= n;
        used += n;
        if (remaining_ == 0) state_ = State::kDone;
        if (!on_body(rest.substr(0, n))) return used;
        break;
      }
      case State::kChunkData: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
        remaining_ -= n;
        used += n;
        if (remaining_ == 0) state_ = State::kChunkDataEnd;
        if (!on_body(rest.substr(0, n))) return used;
        break;
      }
      case State::kBodyUntilClose:
        used += rest.size();
        if (!on_body(rest)) return used;
        break;
      default: {
        const bool in_head = state_ == State::kHead;
        used += lines(rest);
        if (in_head && state_ != State::kHead) return used;
        break;
      }
    }
  }
  return used;
}

}  // namespace asyncfs::http::h1
