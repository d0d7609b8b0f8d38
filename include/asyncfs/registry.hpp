#pragma once
/// \file registry.hpp
/// \brief Protocol registry: filesystem(), url_to_fs(), open(), register_implementation().

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "asyncfs/file.hpp"
#include "asyncfs/filesystem.hpp"
#include "asyncfs/options.hpp"

namespace asyncfs {

/// Builds a filesystem from options (config defaults already merged in) on an IoThread.
using Factory = std::function<std::shared_ptr<AsyncFileSystem>(
    const std::string& protocol, Options options, std::shared_ptr<IoThread> io)>;

struct Implementation {
  std::vector<std::string> protocols;  ///< the first is canonical ("http", "https")
  Factory factory;
  std::string name;  ///< identifies the implementation: registering the same name is a no-op
};

/// \brief Registers `impl` under each of its protocols.
/// \throws AlreadyExists when a protocol is taken by a different implementation and !clobber.
void register_implementation(Implementation impl, bool clobber = false);

/// Registers memory and file (and later http, firecrest). Idempotent; filesystem() calls it.
void register_builtin_implementations();

/// Registered protocol names, sorted.
std::vector<std::string> available_protocols();

/// \brief The filesystem for `protocol`, shared per (protocol, options, io) unless the option
/// "skip_instance_cache" is true.
/// \throws InvalidArgument for an unknown protocol (the message lists the known ones) or bad
///         options.
std::shared_ptr<AsyncFileSystem> filesystem(std::string_view protocol, Options options = {},
                                            std::shared_ptr<IoThread> io = nullptr);

struct FsAndPath {
  std::shared_ptr<AsyncFileSystem> fs;
  std::string path;  ///< stripped path inside fs
};

/// \brief Splits a URL ("memory://a/b", "/tmp/x", "file:///tmp/x") into filesystem and path.
/// A string without "://" is a local path. \throws InvalidArgument for a malformed URL.
FsAndPath url_to_fs(std::string_view url, Options options = {},
                    std::shared_ptr<IoThread> io = nullptr);

/// Opens `url` as a blocking file.
File open(std::string_view url, std::string mode = "rb", Options options = {});

/// Drops every cached instance (they live on while users hold them).
void clear_instance_cache();

/// Splits "proto://rest" → {"proto", "rest"}; no scheme → {"", url}.
/// \throws InvalidArgument for a malformed scheme or an unsupported "::" chain.
std::pair<std::string, std::string> split_protocol(std::string_view url);

}  // namespace asyncfs
