// libFuzzer target: configuration parsing (asyncfs/config.hpp) — the JSON object of an
// ASYNCFS_<PROTOCOL> variable and a single-key ASYNCFS_<PROTOCOL>_<KEY> value, as a user's
// environment may hold. Bad input is InvalidArgument, never a crash.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "asyncfs/config.hpp"
#include "asyncfs/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace asyncfs;
  const std::string in(reinterpret_cast<const char*>(data), size);
  for (const char* name :
       {"ASYNCFS_HTTP", "ASYNCFS_HTTP_BLOCK_SIZE", "ASYNCFS_GATHER_BATCH_SIZE"}) {
    try {
      (void)load_config("", {{name, in}});
    } catch (const InvalidArgument&) {
    }
  }
  return 0;
}
