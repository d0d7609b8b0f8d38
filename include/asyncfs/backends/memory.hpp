#pragma once
/// \file backends/memory.hpp
/// \brief memory:// — an in-process, thread-safe filesystem (the reference backend).

#include <memory>

#include "asyncfs/filesystem.hpp"

namespace asyncfs::memory {

struct MemoryOptions {
  FsBaseOptions base;
  /// Parses and validates string options (no backend-specific keys today).
  static MemoryOptions from(Options opts, std::shared_ptr<IoThread> io);
};

/// A new, empty memory filesystem. Instances made through the registry with the same options
/// share one store, like fsspec's class-level store.
std::shared_ptr<AsyncFileSystem> make_filesystem(MemoryOptions options);

}  // namespace asyncfs::memory
