#pragma once
// Buffered writes to stdout. Results go to stdout only; everything else goes to stderr.

#include <string_view>

namespace asyncfs::cli {

/// Writes all of `data` to stdout (binary-safe). Returns false if stdout is broken.
bool write_stdout(std::string_view data);

}  // namespace asyncfs::cli
