// libFuzzer target: the glob translator and matcher (asyncfs/path.hpp) every backend's glob()
// and the CLI's arguments go through. Input: pattern, '\n', path.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "asyncfs/errors.hpp"
#include "asyncfs/path.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace asyncfs;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = in.find('\n');
  const std::string_view pattern = in.substr(0, nl);
  const std::string_view path = nl == std::string_view::npos ? "" : in.substr(nl + 1);
  try {
    path::GlobPattern g(pattern);
    (void)g.match(path);
  } catch (const InvalidArgument&) {
    // "**" inside a longer component: refused with a clear error, which is fine.
  }
  (void)path::fnmatch_component(pattern, path);
  (void)path::has_magic(path);
  // A path escaped as a pattern matches itself, and only through its literal spelling.
  const std::string escaped = path::escape_glob(path);
  if (!path::GlobPattern(escaped).match(path)) __builtin_trap();
  return 0;
}
