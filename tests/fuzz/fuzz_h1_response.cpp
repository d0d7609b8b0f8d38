// libFuzzer target: the native HTTP/1.1 client's response parser, fed the input in two pieces
// split at every position the first byte chooses. It accepts, waits for more, or throws
// ParseError; it never reads out of bounds or loops.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/http/h1/response_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const bool head_request = data[0] & 1;
  const std::size_t split = data[0] % size;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  asyncfs::http::h1::ResponseParser p;
  p.start(head_request);
  std::size_t body = 0;
  auto sink = [&body](std::string_view chunk) {
    body += chunk.size();
    return true;
  };
  try {
    std::string_view first = in.substr(0, std::min(split, in.size()));
    std::string_view second = in.substr(first.size());
    for (std::string_view piece : {first, second}) {
      for (int guard = 0; !piece.empty() && guard < 100000; ++guard) {
        const std::size_t used = p.feed(piece, sink);
        if (used == 0 || p.done()) break;
        piece.remove_prefix(used);
      }
      if (p.done()) break;
    }
    if (!p.done()) (void)p.on_eof();
  } catch (const asyncfs::http::h1::ParseError&) {
  }
  return 0;
}
