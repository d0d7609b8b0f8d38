#pragma once
// `asyncfs completion bash|zsh|fish`: shell completion scripts generated from the parsed
// command tree, so they never drift from the real commands and options.

#include <string>
#include <string_view>
#include <vector>

namespace asyncfs::cli {

/// One command (or the tool itself) as completion sees it.
struct CommandSpec {
  std::string name;
  std::string description;
  std::vector<std::string> options;  ///< "-l", "--long", ...
  std::vector<CommandSpec> subcommands;
};

/// \brief The completion script for `shell`: command names, their options, and for URL
/// arguments the protocols ("memory://", ...) and local files.
/// \throws UsageError for a shell other than bash, zsh and fish.
std::string completion_script(std::string_view shell, const CommandSpec& root,
                              const std::vector<std::string>& protocols);

}  // namespace asyncfs::cli
