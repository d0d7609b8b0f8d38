#pragma once
/// \file backends/memory.hpp
/// \brief memory:// — an in-process, thread-safe filesystem (the reference backend).

#include <memory>

#include "asyncfs/filesystem.hpp"

namespace asyncfs::memory {

struct MemoryOptions {
  FsBaseOptions base;
  /// Use the process-wide store instead of a private one. Every instance with this flag sees
  /// the same files, whatever its IoThread (fsspec's class-level store). from() sets it, so
  /// registry instances share their files; a default-constructed MemoryOptions gives a private,
  /// empty store.
  bool shared_store = false;
  /// Parses and validates string options (no backend-specific keys today).
  static MemoryOptions from(Options opts, std::shared_ptr<IoThread> io);
};

/// A memory filesystem: empty and private unless options.shared_store is set. Instances made
/// through the registry (MemoryOptions::from) share one store, like fsspec's class-level store.
std::shared_ptr<AsyncFileSystem> make_filesystem(MemoryOptions options);

/// Removes every file and directory of the process-wide store (tests, long-running embedders).
void clear_shared_store();

}  // namespace asyncfs::memory
