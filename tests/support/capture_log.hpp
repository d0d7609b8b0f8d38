#pragma once
// Routes the library's log into memory for a test's lifetime: "level component message" lines.

#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "asyncfs/log.hpp"

namespace asyncfs::testing {

class CaptureLog {
 public:
  explicit CaptureLog(LogLevel level) : previous_(log_level()) {
    set_log_level(level);
    set_log_sink([c = captured_](LogLevel l, std::string_view component, std::string_view msg) {
      std::lock_guard lock(c->mutex);
      c->lines.push_back(std::string(log_level_name(l)) + " " + std::string(component) + " " +
                         std::string(msg));
    });
  }
  ~CaptureLog() {
    set_log_sink({});
    set_log_level(previous_);
  }
  CaptureLog(const CaptureLog&) = delete;
  CaptureLog& operator=(const CaptureLog&) = delete;

  std::vector<std::string> lines() const {
    std::lock_guard lock(captured_->mutex);
    return captured_->lines;
  }
  /// Lines containing every one of `parts`.
  std::vector<std::string> matching(std::initializer_list<std::string_view> parts) const {
    std::vector<std::string> out;
    for (const std::string& line : lines()) {
      bool all = true;
      for (std::string_view p : parts) all = all && line.find(p) != std::string::npos;
      if (all) out.push_back(line);
    }
    return out;
  }
  /// Everything captured, one record per line (for failure messages).
  std::string dump() const {
    std::string out;
    for (const std::string& line : lines()) out += line + "\n";
    return out;
  }

 private:
  struct Captured {
    mutable std::mutex mutex;
    std::vector<std::string> lines;
  };
  LogLevel previous_;
  std::shared_ptr<Captured> captured_ = std::make_shared<Captured>();
};

}  // namespace asyncfs::testing
