#pragma once
/// \file backends/local.hpp
/// \brief file:// — local disk through libuv's fs operations (never blocking the loop thread).
///
/// Semantics (atomic writes, names on disk that are not UTF-8, error kinds): docs/local.md.

#include <cstddef>
#include <memory>

#include "asyncfs/filesystem.hpp"

namespace asyncfs::local {

struct LocalOptions {
  FsBaseOptions base;
  std::size_t block_size = 4 << 20;  ///< chunk for streaming copies ("block_size")
  bool auto_mkdir = false;           ///< create parent dirs when writing ("auto_mkdir")
  static LocalOptions from(Options opts, std::shared_ptr<IoThread> io);
};

std::shared_ptr<AsyncFileSystem> make_filesystem(LocalOptions options);

/// The shared local filesystem on `io` used by get/put of other backends.
std::shared_ptr<AsyncFileSystem> local_filesystem(std::shared_ptr<IoThread> io);

}  // namespace asyncfs::local
