#pragma once
// The HTTP transport the filesystem-level HTTP tests use: "auto" (native HTTP/1.1 client for
// plain-http GET/HEAD, libcurl for the rest) unless $ASYNCFS_TEST_HTTP_TRANSPORT says "curl".
// tests/CMakeLists.txt runs those suites once more with "curl", so both transports pass them.

#include <cstdlib>
#include <string>

namespace asyncfs::testing {

inline std::string test_http_transport() {
  const char* v = std::getenv("ASYNCFS_TEST_HTTP_TRANSPORT");
  return v && *v ? std::string(v) : std::string("auto");
}

}  // namespace asyncfs::testing
