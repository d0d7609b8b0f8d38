#pragma once
// Content-Encoding gzip / deflate, decoded here rather than by libcurl: libcurl 7.88 hands
// over whatever a broken or truncated stream inflates to and reports success, so a corrupt
// compressed body arrived as silently wrong bytes (found by the soak test). Here a stream
// that does not end cleanly is an error, and the decoded size is capped against the bytes
// received (TransportOptions::max_decoded_*). Loop thread only, like the transfer using it.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/http/engine.hpp"

namespace asyncfs::http {

class ContentDecoder {
 public:
  /// A decoder for a Content-Encoding value ("gzip", "x-gzip", "deflate", any case), nullptr
  /// for identity or none. \throws ProtocolError naming `url` for any other coding.
  static std::unique_ptr<ContentDecoder> for_encoding(std::string_view content_encoding,
                                                      const std::string& url);
  ~ContentDecoder();
  ContentDecoder(const ContentDecoder&) = delete;
  ContentDecoder& operator=(const ContentDecoder&) = delete;

  /// Decodes `raw`, handing each decoded piece to `out` (false from `out` stops, returning
  /// "" with stopped() true). Returns why the body must be refused ("" = go on): a corrupt
  /// stream, or the caps of `limits` exceeded (then too_large() is true).
  std::string feed(std::string_view raw, const TransportOptions& limits,
                   const std::function<bool(std::string_view)>& out);
  /// At the end of the body: "" when the stream ended (or no byte came), else why not.
  std::string finish() const;

  bool too_large() const noexcept { return too_large_; }
  bool stopped() const noexcept { return stopped_; }
  std::uint64_t raw_bytes() const noexcept { return raw_; }
  std::uint64_t decoded_bytes() const noexcept { return decoded_; }

 private:
  explicit ContentDecoder(bool deflate);
  struct Zlib;
  std::unique_ptr<Zlib> z_;
  bool deflate_;          ///< "deflate": zlib-wrapped, or raw as some servers send it
  bool started_ = false;  ///< inflateInit done (deflate waits for 2 bytes to pick the form)
  bool ended_ = false;    ///< Z_STREAM_END seen for the last member
  bool too_large_ = false;
  bool stopped_ = false;
  std::string pending_;  ///< deflate: bytes held until the form is known
  std::uint64_t raw_ = 0;
  std::uint64_t decoded_ = 0;
};

}  // namespace asyncfs::http
