#include "version.hpp"

#include <curl/curl.h>
#include <fmt/format.h>
#include <simdjson.h>
#include <uv.h>
#include <zlib.h>

// SIMDJSON_VERSION is a bare token (3.0.1), not a string literal.
#define ASYNCFS_STRINGIFY_(x) #x
#define ASYNCFS_STRINGIFY(x) ASYNCFS_STRINGIFY_(x)

namespace asyncfs::cli {

std::string version_text() {
  // Runtime versions: the shared libraries actually loaded may differ from the headers.
  const curl_version_info_data* curl = curl_version_info(CURLVERSION_NOW);
  std::string out = fmt::format("asyncfs {}\n", ASYNCFS_VERSION_STRING);
  out += fmt::format("libcurl {}{}{}\n", curl->version, curl->ssl_version ? " " : "",
                     curl->ssl_version ? curl->ssl_version : "");
  out += fmt::format("libuv {}\n", uv_version_string());
  // simdjson and fmt are header-heavy or static: the compiled-in version is what runs.
  out += fmt::format("simdjson {}\n", ASYNCFS_STRINGIFY(SIMDJSON_VERSION));
  out += fmt::format("zlib {}\n", zlibVersion());
  out += fmt::format("fmt {}.{}.{}\n", FMT_VERSION / 10000, FMT_VERSION / 100 % 100,
                     FMT_VERSION % 100);
  return out;
}

}  // namespace asyncfs::cli
