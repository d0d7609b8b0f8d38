#pragma once
// Exit codes of the tool (docs/cli.md "Exit codes") and the rule that picks one when a bulk
// command fails in several ways.

#include <exception>

namespace asyncfs::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;     ///< any failure without a more specific code
inline constexpr int kExitUsage = 2;      ///< the command line (or configuration) is wrong
inline constexpr int kExitNotFound = 3;   ///< a path or URL does not exist
inline constexpr int kExitDenied = 4;     ///< permission denied / not authorized
inline constexpr int kExitRetryable = 5;  ///< timeout, connection failure, 429/5xx, circuit open
inline constexpr int kExitInterrupted = 130;  ///< SIGINT (128 + 2), like a shell
inline constexpr int kExitTerminated = 143;   ///< SIGTERM (128 + 15)

/// \brief The exit code for one failure: 3, 4 or 5 for an asyncfs::Error of those kinds (or
/// an HTTP 408/429/5xx), 1 otherwise.
int exit_code_for(const std::exception_ptr& error);

/// \brief Of two failure codes, the one the process reports: the least retryable wins
/// (1 > 4 > 3 > 5), so 5 means "every failure was transient: running again may succeed" and
/// 3 means "nothing worse than missing paths".
int combine_exit_codes(int a, int b);

/// Records a reported failure (thread-safe); see final_exit_code().
void note_failure(int code);

/// \brief The code main() returns for a command that returned `rc`: a command that failed
/// (rc 1) reports the combination of the failures it reported; other codes stand.
int final_exit_code(int rc);

}  // namespace asyncfs::cli
