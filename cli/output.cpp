#include "output.hpp"

#include <cstdio>

namespace asyncfs::cli {

bool write_stdout(std::string_view data) {
  if (data.empty()) return true;
  return std::fwrite(data.data(), 1, data.size(), stdout) == data.size();
}

}  // namespace asyncfs::cli
