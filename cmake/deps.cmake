# Dependencies come from Debian 12 packages only (see scripts/install_deps.sh).
find_package(PkgConfig REQUIRED)
pkg_check_modules(libuv REQUIRED IMPORTED_TARGET libuv>=1.44)
pkg_check_modules(libcurl REQUIRED IMPORTED_TARGET libcurl>=7.85)
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(simdjson REQUIRED)
# SHA-256 of local files (firecrest:// verifies transfers against the server's checksum).
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
# Content-Encoding gzip/deflate, decoded by us (libcurl 7.88 accepts a truncated stream).
find_package(ZLIB REQUIRED)
# The debug log (core/log.cpp); Debian's spdlog is built on the same external fmt.
find_package(spdlog REQUIRED)
