#pragma once
/// \file config.hpp
/// \brief Process-wide configuration: batch sizes and per-protocol default options.
///
/// Sources, later wins: every `*.json` file of `$ASYNCFS_CONFIG_DIR` (default
/// `~/.config/asyncfs`) in file-name order, then the environment: `ASYNCFS_GATHER_BATCH_SIZE`,
/// `ASYNCFS_NOFILES_GATHER_BATCH_SIZE`, `ASYNCFS_<PROTO>` (a JSON object of options) and
/// `ASYNCFS_<PROTO>_<KEY>` (one option). A malformed file or value throws InvalidArgument
/// naming the file or variable; it is never ignored.

#include <map>
#include <optional>
#include <string>

#include "asyncfs/options.hpp"

namespace asyncfs {

struct Config {
  std::optional<int> gather_batch_size;          ///< bulk calls that touch local files
  std::optional<int> nofiles_gather_batch_size;  ///< bulk calls that touch no local files
  std::map<std::string, Options> protocols;      ///< default options per protocol
  /// Where each option of `protocols` was set (protocol -> key -> config file path or
  /// ASYNCFS_* variable name), so an option a backend refuses can be traced to its source.
  std::map<std::string, std::map<std::string, std::string>> origins;
};

/// Parses the config files in `dir` (missing dir = no files) and the given environment.
Config load_config(const std::string& dir, const std::map<std::string, std::string>& env);

/// The process configuration, loaded from the real files and environment on first use.
/// \throws InvalidArgument (every time) if the configuration is malformed.
const Config& config();
/// Replaces the process configuration (tests, embedding applications).
void set_config(Config cfg);
/// Forgets the loaded configuration; the next config() reads files and environment again.
void reload_config();

/// Default window: for calls that touch no local files 1280 (fsspec's), at most 3/4 of
/// RLIMIT_NOFILE (each request in flight may hold a socket); for calls that do, RLIMIT_NOFILE/8
/// (at least 1, 128 when it cannot be read, -1 when unlimited).
int default_batch_size(bool nofiles);

/// \brief The window for one bulk call: call argument > instance option > config > default.
/// Returns a positive size or -1 (unbounded).
/// \throws InvalidArgument for 0 or values below -1, naming where the value came from.
int resolve_batch_size(std::optional<int> call, std::optional<int> instance, bool nofiles);

}  // namespace asyncfs
