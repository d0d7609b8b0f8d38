#pragma once
// Helpers every command shares: resolving URLs, naming entries, reporting errors on stderr.

#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "asyncfs/filesystem.hpp"
#include "exit_codes.hpp"

namespace asyncfs::cli {

/// A mistake in the command line: reported on one line, exit code 2, no operation is started.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One URL argument resolved to its filesystem.
struct Target {
  std::string url;  ///< as the user wrote it (used in error lines)
  std::shared_ptr<AsyncFileSystem> fs;
  std::string path;  ///< the path inside fs
};

/// \brief Resolves `url` through the registry.
/// \param keep_trailing_slash re-append a "/" the URL ended with: for cp/get/put it means
///        "the contents of this directory", and the registry strips it.
/// \throws UsageError for an unknown protocol or a malformed URL (checked before any work).
Target resolve(const std::string& url, bool keep_trailing_slash = false);

/// \brief Loads the configuration (files and ASYNCFS_* variables) before any work.
/// \throws UsageError naming the file or variable, the parser's cause and the fix.
void check_config();

/// True for filesystems whose paths are files of this machine.
bool is_local(const AsyncFileSystem& fs);

/// The name shown to users: a plain path for local files, a full URL otherwise (so it can be
/// pasted into another asyncfs command).
std::string display_name(const AsyncFileSystem& fs, const std::string& name);

/// \brief A local path argument ("/x", "rel/x" or "file:///x") for get's destination or put's
/// sources. \throws UsageError naming `role` if it belongs to another protocol.
std::string local_path(const std::string& arg, std::string_view role);

/// True when `path` would be expanded as a glob by `fs` (HTTP treats "?" literally).
bool has_glob(const AsyncFileSystem& fs, std::string_view path);

/// `s` with control characters and newlines escaped, so an error is always one line.
std::string one_line(std::string_view s);

/// \brief "URL: cause" for a failure about `url`.
///
/// asyncfs::Error::what() starts with the path it concerns; when that is just the stripped
/// form of `url` it is replaced by the URL, otherwise (a child of a recursive operation) it
/// is kept after the URL so both are named.
std::string describe_error(std::string_view url, std::string_view stripped,
                           const std::exception_ptr& error);

/// \brief Serialises writes to stderr between error lines and the progress bar, so an error
/// never lands in the middle of a bar.
class Console {
 public:
  static Console& instance();
  /// Writes "asyncfs: <line>\n", first erasing a bar that is on screen.
  void error(std::string_view line);
  /// Redraws the status line in place ("\r" + text + erase to end of line).
  void status(std::string_view text);
  /// Ends the status line: a newline after the final bar, so the shell prompt starts clean.
  void finish_status(std::string_view text);

 private:
  /// "\r" + text + erase to end of line (+ newline when final), under the console lock.
  void draw_status(std::string_view text, bool final);

  std::mutex mutex_;
  bool status_shown_ = false;
};

/// Reports a failure about `url` on stderr and records its exit code (note_failure).
/// Requests refused by an open circuit (a dead host) are reported once per host; the rest are
/// counted for report_suppressed().
void report_error(std::string_view url, std::string_view stripped, const std::exception_ptr& e);
/// One line per host whose further failures report_error() held back; call once at the end.
void report_suppressed();

/// Splits the last element off: sources and destination of get/put/cp/mv.
/// \throws UsageError when there are fewer than two paths.
std::pair<std::vector<std::string>, std::string> split_destination(
    const std::vector<std::string>& paths, std::string_view command);

}  // namespace asyncfs::cli
