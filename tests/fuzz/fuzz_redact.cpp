// libFuzzer target: the log's redaction (core/http/redact). Whatever the URL or header, it
// returns; a query value after a secret-looking name, and the userinfo, never survive.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/http/redact.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string out = asyncfs::http::redact_url(in);
  // A marker value planted behind a secret name never comes out.
  const std::string planted =
      std::string(in.substr(0, in.find_first_of("?#"))) + "?x=1&token=PLANTEDSECRET&y=2";
  if (!asyncfs::http::redact_url(planted).ends_with("?x=1&token=<redacted>&y=2")) {
    __builtin_trap();
  }
  const std::size_t colon = in.find(':');
  if (colon != std::string_view::npos) {
    (void)asyncfs::http::loggable_header(in.substr(0, colon), in.substr(colon + 1));
  }
  (void)out;
  return 0;
}
