#pragma once
// Parsed command lines as plain structs. Only parser.cpp includes CLI11 (it is a heavy,
// header-only library); the commands see these structs.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace asyncfs::cli {

/// Whether to draw progress bars: auto = only when stderr is a terminal.
enum class ProgressMode { kAuto, kOn, kOff };

struct GlobalArgs {
  ProgressMode progress = ProgressMode::kAuto;
};

struct LsArgs {
  std::vector<std::string> urls;
  bool long_format = false;
  bool human = false;  ///< -h: with -l, sizes as 1.5K, 23M, ...
  bool json = false;
};

struct InfoArgs {
  std::vector<std::string> urls;
  bool json = false;
};

struct CatArgs {
  std::vector<std::string> urls;
  std::string from_list;  ///< "" = none, "-" = stdin
  std::optional<std::int64_t> start;
  std::optional<std::int64_t> end;
  std::optional<int> batch_size;
  std::string output_dir;  ///< -o DIR; "" = stdout
  bool discard = false;
};

/// get, put, cp and mv: sources followed by one destination.
struct TransferArgs {
  std::vector<std::string> paths;  ///< sources..., destination
  bool recursive = false;
  std::optional<int> maxdepth;
  std::optional<int> batch_size;
};

struct RmArgs {
  std::vector<std::string> urls;
  bool recursive = false;
  std::optional<int> maxdepth;
};

struct MkdirArgs {
  std::vector<std::string> urls;
  bool parents = false;
};

struct FindArgs {
  std::vector<std::string> urls;
  std::optional<int> maxdepth;
  bool withdirs = false;
  bool json = false;
};

struct DuArgs {
  std::vector<std::string> urls;
  std::optional<int> maxdepth;
  bool all = false;    ///< one line per file instead of one total per URL
  bool human = false;  ///< 1.5K, 20M, ... instead of bytes
};

struct GlobArgs {
  std::vector<std::string> patterns;
  std::optional<int> maxdepth;
  bool json = false;
};

/// `asyncfs firecrest ACTION ...` (configured by FIRECREST_* variables).
struct FirecrestArgs {
  std::string action;  ///< systems, submit, jobs, wait, cancel, view
  std::string system;
  std::string script;  ///< submit: a local script file
  std::string workdir;
  std::vector<std::string> env;  ///< submit: K=V
  std::vector<std::string> job_ids;
  std::string path;  ///< view
  bool json = false;
  std::optional<double> timeout;  ///< wait: seconds
};

}  // namespace asyncfs::cli
