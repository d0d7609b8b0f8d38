#pragma once
// Runs the real asyncfs binary (ASYNCFS_CLI_PATH) with captured stdout/stderr and a deadline.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace asyncfs::testing {

struct CliResult {
  int exit_code = -1;  ///< -1 if killed by a signal or the deadline
  std::string out;
  std::string err;
  bool timed_out = false;
  std::uint64_t max_rss_kib = 0;  ///< the process's peak resident set
  std::uint64_t out_bytes = 0;    ///< all of stdout, also what `out` did not keep
  std::string out_tail;           ///< with CliRun::stdout_keep: the last bytes of stdout
};

struct CliRun {
  std::vector<std::string> args;  ///< without the program name
  std::string stdin_data;
  std::map<std::string, std::string> env;  ///< added to (or replacing in) the environment
  std::chrono::seconds timeout{60};
  /// Keep only the first and (in out_tail) the last this many bytes of stdout. For outputs
  /// too large to hold: the child's peak RSS is never below ours at spawn time (the vfork'ed
  /// child shares our memory until exec), so holding them would spoil the next max_rss_kib.
  std::size_t stdout_keep = std::string::npos;
};

CliResult run_cli(const CliRun& run);
inline CliResult run_cli(std::vector<std::string> args) {
  CliRun run;
  run.args = std::move(args);
  return run_cli(run);
}

/// Lines of `s` without their "\n" (a trailing newline does not add an empty line).
std::vector<std::string> lines_of(const std::string& s);

}  // namespace asyncfs::testing
