#pragma once
// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.

#include <string>

namespace asyncfs::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "asyncfs-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// Absolute path without trailing slash.
  const std::string& path() const { return path_; }
  /// path() + "/" + rel
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

/// Writes `data` to `path` (creating parent directories) with plain POSIX calls.
void write_local_file(const std::string& path, const std::string& data);
/// Reads a whole local file; throws std::runtime_error if it cannot.
std::string read_local_file(const std::string& path);
bool local_exists(const std::string& path);

}  // namespace asyncfs::testing
