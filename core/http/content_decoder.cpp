#include "core/http/content_decoder.hpp"

#include <zlib.h>

#include <algorithm>

#include "asyncfs/errors.hpp"
#include "core/http/header_util.hpp"

namespace asyncfs::http {

namespace {

/// Output buffer per inflate call: decoded bytes go to the sink in pieces of this size.
constexpr std::size_t kOutChunk = 64 * 1024;

}  // namespace

struct ContentDecoder::Zlib {
  z_stream s{};
};

std::unique_ptr<ContentDecoder> ContentDecoder::for_encoding(std::string_view content_encoding,
                                                             const std::string& url) {
  const std::string coding = lower(trim(content_encoding));
  if (coding.empty() || coding == "identity") return nullptr;
  if (coding == "gzip" || coding == "x-gzip") {
    return std::unique_ptr<ContentDecoder>(new ContentDecoder(false));
  }
  if (coding == "deflate") return std::unique_ptr<ContentDecoder>(new ContentDecoder(true));
  // Only gzip and deflate are ever asked for (Accept-Encoding): anything else, or a list of
  // codings, is not something we can decode.
  throw ProtocolError(url, "unsupported Content-Encoding", ErrorDetails{0, coding.substr(0, 64)});
}

ContentDecoder::ContentDecoder(bool deflate) : z_(std::make_unique<Zlib>()), deflate_(deflate) {}

ContentDecoder::~ContentDecoder() {
  if (started_) inflateEnd(&z_->s);
}

std::string ContentDecoder::feed(std::string_view raw, const TransportOptions& limits,
                                 const std::function<bool(std::string_view)>& out) {
  raw_ += raw.size();
  if (!started_) {
    int window = 15 + 16;  // gzip framing
    if (deflate_) {
      // RFC 9110 "deflate" is zlib-framed; some servers send raw deflate. A zlib header is
      // two bytes: method 8, a window of at most 32 KiB, and a multiple of 31.
      pending_.append(raw);
      if (pending_.size() < 2) return {};
      const auto b0 = static_cast<unsigned char>(pending_[0]);
      const auto b1 = static_cast<unsigned char>(pending_[1]);
      const bool zlib_framed = (b0 & 0x0f) == 8 && (b0 >> 4) <= 7 && (b0 * 256 + b1) % 31 == 0;
      window = zlib_framed ? 15 : -15;
    }
    if (inflateInit2(&z_->s, window) != Z_OK) return "cannot start the decoder (zlib)";
    started_ = true;
    if (deflate_) raw = pending_;  // held until now; decoded below
  }
  std::string buffer(kOutChunk, '\0');
  z_stream& s = z_->s;
  std::string_view in = raw;
  for (;;) {
    if (ended_) {
      if (in.empty()) break;
      // Another gzip member (concatenated streams are valid gzip); bytes after a deflate
      // stream are not.
      if (deflate_) return "data after the end of the compressed stream";
      if (inflateReset(&s) != Z_OK) return "cannot restart the decoder (zlib)";
      ended_ = false;
    }
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    s.avail_in = static_cast<uInt>(std::min<std::size_t>(in.size(), 1u << 30));
    const std::size_t offered = s.avail_in;
    s.next_out = reinterpret_cast<Bytef*>(buffer.data());
    s.avail_out = static_cast<uInt>(buffer.size());
    const int rc = inflate(&s, Z_NO_FLUSH);
    in.remove_prefix(offered - s.avail_in);
    const std::size_t produced = buffer.size() - s.avail_out;
    if (rc == Z_STREAM_END) {
      ended_ = true;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return std::string("corrupt compressed body (zlib: ") + (s.msg ? s.msg : "error") + ")";
    }
    if (produced > 0) {
      decoded_ += produced;
      std::string problem = decoded_limit_problem(decoded_, raw_, limits);
      if (!problem.empty()) {
        too_large_ = true;
        return problem;
      }
      if (!out(std::string_view(buffer.data(), produced))) {
        stopped_ = true;
        return {};
      }
    }
    // More to do only while input is left or the output filled up (zlib may hold more).
    if (!ended_ && in.empty() && produced < buffer.size()) break;
    if (rc == Z_BUF_ERROR && produced == 0) break;  // needs input that has not arrived
  }
  if (deflate_) pending_.clear();
  return {};
}

std::string ContentDecoder::finish() const {
  if (raw_ == 0 || ended_) return {};
  return "the compressed body ends before its stream does (truncated or corrupt)";
}

}  // namespace asyncfs::http
