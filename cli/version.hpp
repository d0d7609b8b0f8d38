#pragma once
// `asyncfs --version`: the tool's version and those of the libraries it runs with.

#include <string>

namespace asyncfs::cli {

/// Several lines: "asyncfs X.Y.Z", then "libcurl ...", "libuv ...", "simdjson ...", "zlib ...",
/// "fmt ..." (runtime versions where the library reports one, else the compiled-in one).
std::string version_text();

}  // namespace asyncfs::cli
