#include "core/http/h1/response_parser.hpp"

#include <string>

#include "core/http/header_util.hpp"

namespace asyncfs::http::h1 {
namespace {

/// Calls f(token) for each comma-separated, trimmed, non-empty token of a field value.
template <class F>
void for_each_token(std::string_view value, F&& f) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    const std::string_view token = trim(value.substr(0, comma));
    if (!token.empty()) f(token);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace

void ResponseParser::start(bool head_request) {
  state_ = State::kHead;
  head_request_ = head_request;
  started_ = false;
  status_seen_ = false;
  status_ = 0;
  minor_version_ = 1;
  headers_.clear();
  content_length_.reset();
  reset_framing();
  keep_alive_ = true;
  connection_close_ = false;
  connection_keep_alive_ = false;
  remaining_ = 0;
  head_bytes_ = 0;
  trailer_seen_ = false;
  partial_.clear();
}

bool ResponseParser::on_eof() {
  // In the trailers the body is whole (its last chunk arrived); trailers are not kept, and
  // libcurl also calls a trailer section cut by the close a success.
  if (state_ == State::kBodyUntilClose || state_ == State::kTrailers) state_ = State::kDone;
  keep_alive_ = false;
  return state_ == State::kDone;
}

std::size_t ResponseParser::lines(std::string_view in) {
  std::size_t used = 0;
  while (used < in.size()) {
    if (state_ != State::kHead && state_ != State::kChunkSize && state_ != State::kChunkDataEnd &&
        state_ != State::kTrailers) {
      break;
    }
    const std::string_view rest = in.substr(used);
    const std::size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      if (partial_.size() + rest.size() > kMaxHead) {
        throw ParseError("response head or chunk line longer than 100 KiB");
      }
      partial_.append(rest);
      return in.size();
    }
    used += nl + 1;
    const std::size_t line_bytes = partial_.size() + nl + 1;  // with what earlier feeds had
    std::string_view line = rest.substr(0, nl);
    if (!partial_.empty()) {
      partial_.append(line);
      line = partial_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    switch (state_) {
      case State::kHead:
        head_bytes_ += line_bytes;
        if (head_bytes_ > kMaxHead) throw ParseError("response head larger than 100 KiB");
        head_line(line);
        if (state_ != State::kHead) {
          partial_.clear();
          return used;  // the caller looks at the head before the body
        }
        break;
      case State::kChunkSize:
        chunk_size_line(line);
        break;
      case State::kChunkDataEnd:
        if (!line.empty()) throw ParseError("chunk not followed by CRLF");
        state_ = State::kChunkSize;
        break;
      case State::kTrailers:
        head_bytes_ += line_bytes;
        if (head_bytes_ > kMaxHead) throw ParseError("trailer section larger than 100 KiB");
        if (line.empty()) {
          state_ = State::kDone;
        } else {
          trailer_field(line);
        }
        break;
      default:
        break;
    }
    partial_.clear();
  }
  return used;
}

void ResponseParser::reset_framing() {
  chunked_ = false;
  close_delimited_ = false;
  transfer_encoding_ = false;
  transfer_coded_ = false;
  chunked_seen_ = false;
  last_coding_chunked_ = false;
  last_field_framing_ = false;
}

void ResponseParser::head_line(std::string_view line) {
  // RFC 9110 §5.5: a NUL in a field is an error, not something to pass on (libcurl refuses
  // it too, so both transports answer alike).
  if (line.find('\0') != std::string_view::npos) throw ParseError("NUL byte in response head");
  // RFC 9112 §2.2: a bare CR is invalid. libcurl takes a line starting with one for the end of
  // the head; here it was part of a name or a value.
  if (line.find('\r') != std::string_view::npos) throw ParseError("bare CR in response head");
  if (!status_seen_) {
    status_line(line);
    return;
  }
  if (line.empty()) {
    end_of_head();
    return;
  }
  header_field(line);
}

void ResponseParser::status_line(std::string_view line) {
  // "HTTP/1.1 200 OK"; the reason phrase may be empty or missing.
  if (line.size() < 12 || !line.starts_with("HTTP/1.") || line[7] < '0' || line[7] > '9' ||
      line[8] != ' ') {
    throw ParseError("not an HTTP/1.x status line: " + std::string(line.substr(0, 64)));
  }
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') {
      throw ParseError("malformed status code: " + std::string(line.substr(0, 64)));
    }
    status = status * 10 + (line[i] - '0');
  }
  if (line.size() > 12 && line[12] != ' ') {
    throw ParseError("malformed status line: " + std::string(line.substr(0, 64)));
  }
  if (status < 100) throw ParseError("status code below 100: " + std::to_string(status));
  // HTTP/1.2 to 1.9 do not exist. RFC 9110 §2.5 would read them as 1.1, but libcurl refuses
  // them ("Unsupported HTTP version"), and both transports must answer a response alike.
  if (line[7] > '1') {
    throw ParseError("unsupported HTTP version: " + std::string(line.substr(0, 8)));
  }
  minor_version_ = line[7] - '0';
  status_ = status;
  status_seen_ = true;
}

void ResponseParser::header_field(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    // Obsolete line folding: a continuation of the previous field's value. Not of a field
    // that frames the message: its value was acted on already, and a fold there is a
    // smuggling attempt more often than an old server.
    if (headers_.empty()) throw ParseError("continuation line before any header field");
    if (last_field_framing_) throw ParseError("folded Content-Length or Transfer-Encoding");
    auto& value = headers_.back().second;
    value.push_back(' ');
    value.append(trim(line));
    return;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    throw ParseError("malformed header field: " + std::string(line.substr(0, 64)));
  }
  const std::string_view raw_name = line.substr(0, colon);
  std::string name(raw_name);
  for (char& c : name) {
    if (c == ' ' || c == '\t') throw ParseError("whitespace in header field name");
    c = ascii_lower(c);
  }
  const std::string_view value = trim(line.substr(colon + 1));
  last_field_framing_ = name == "content-length" || name == "transfer-encoding";
  if (name == "content-length") {
    // "n, n" repeated in one field is allowed; different values are an attack or a bug.
    const std::optional<std::uint64_t> v = parse_content_length(value);
    if (!v) throw ParseError("malformed Content-Length: " + std::string(value.substr(0, 64)));
    if (content_length_ && *content_length_ != *v) {
      throw ParseError("conflicting Content-Length values");
    }
    content_length_ = v;
  } else if (name == "transfer-encoding") {
    // Codings accumulate over every Transfer-Encoding line, in order (RFC 9110 §5.3).
    transfer_encoding_ = true;
    for_each_token(value, [&](std::string_view token) {
      const bool chunked = iequals(token, "chunked");
      if (chunked && chunked_seen_) throw ParseError("chunked transfer coding applied twice");
      chunked_seen_ = chunked_seen_ || chunked;
      if (!chunked) transfer_coded_ = true;
      last_coding_chunked_ = chunked;
    });
  } else if (name == "connection") {
    for_each_token(value, [&](std::string_view token) {
      if (iequals(token, "close")) connection_close_ = true;
      if (iequals(token, "keep-alive")) connection_keep_alive_ = true;
    });
  }
  headers_.emplace_back(std::move(name), std::string(value));
}

void ResponseParser::trailer_field(std::string_view line) {
  // Not kept, but held to the syntax of a header field: libcurl refuses a malformed trailer
  // (a line without a colon) and both transports answer alike.
  if (line.find('\0') != std::string_view::npos) throw ParseError("NUL byte in a trailer");
  if (line.find('\r') != std::string_view::npos) throw ParseError("bare CR in a trailer");
  if (line.front() == ' ' || line.front() == '\t') {
    if (!trailer_seen_) throw ParseError("continuation line before any trailer field");
    return;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0 ||
      line.substr(0, colon).find_first_of(" \t") != std::string_view::npos) {
    throw ParseError("malformed trailer field: " + std::string(line.substr(0, 64)));
  }
  trailer_seen_ = true;
}

void ResponseParser::end_of_head() {
  if (status_ == 101) throw ParseError("unexpected 101 Switching Protocols");
  if (status_ < 200) {
    // 100 Continue, 103 Early Hints...: informational, the real response follows.
    status_seen_ = false;
    headers_.clear();
    content_length_.reset();
    reset_framing();
    connection_close_ = connection_keep_alive_ = false;
    return;
  }
  keep_alive_ =
      minor_version_ == 0 ? connection_keep_alive_ && !connection_close_ : !connection_close_;
  if (transfer_encoding_) {
    // RFC 9112 §6.1/§6.3: Transfer-Encoding overrides Content-Length, and a message with both
    // may be a smuggling attempt: use it, but never the connection after it. Chunked framing
    // only when chunked is the final coding; otherwise the body runs until the close.
    if (content_length_) keep_alive_ = false;
    content_length_.reset();
    chunked_ = last_coding_chunked_;
    close_delimited_ = !chunked_;
  }
  if (head_request_ || status_ == 204 || status_ == 304) {
    state_ = State::kDone;
  } else if (chunked_) {
    state_ = State::kChunkSize;
  } else if (close_delimited_ || !content_length_) {
    state_ = State::kBodyUntilClose;
    keep_alive_ = false;
  } else {
    remaining_ = *content_length_;
    state_ = remaining_ == 0 ? State::kDone : State::kBodyLength;
  }
  head_bytes_ = 0;
}

void ResponseParser::chunk_size_line(std::string_view line) {
  std::uint64_t size = 0;
  std::size_t i = 0;
  for (; i < line.size(); ++i) {
    const char c = line[i];
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      break;
    }
    if (size > (1ull << 58)) throw ParseError("chunk size too large");
    // libcurl refuses more than 16 hex digits even when they are leading zeros; so do we.
    if (i >= 16) throw ParseError("chunk size with more than 16 hex digits");
    size = size * 16 + static_cast<std::uint64_t>(digit);
  }
  if (i == 0) throw ParseError("malformed chunk size line: " + std::string(line.substr(0, 64)));
  const std::string_view ext = trim(line.substr(i));
  if (!ext.empty() && ext.front() != ';') {
    throw ParseError("junk after the chunk size: " + std::string(line.substr(0, 64)));
  }
  if (size == 0) {
    state_ = State::kTrailers;
  } else {
    remaining_ = size;
    state_ = State::kChunkData;
  }
}

}  // namespace asyncfs::http::h1
