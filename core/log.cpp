// The log: one spdlog logger per component ("http", "firecrest"...), all writing through one
// sink that is either stderr or the application's LogSink. The level is ours (an atomic), so a
// disabled record costs one load and spdlog's own level stays at trace.

#include "core/log.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "asyncfs/errors.hpp"

namespace asyncfs {

namespace {

constexpr std::array<std::string_view, 6> kNames = {"trace", "debug", "info",
                                                    "warn",  "error", "off"};
constexpr int kUnresolved = -1;

spdlog::level::level_enum to_spdlog(LogLevel l) {
  switch (l) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
    case LogLevel::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::off;
}

LogLevel from_spdlog(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
      return LogLevel::kTrace;
    case spdlog::level::debug:
      return LogLevel::kDebug;
    case spdlog::level::info:
      return LogLevel::kInfo;
    case spdlog::level::warn:
      return LogLevel::kWarn;
    case spdlog::level::err:
    case spdlog::level::critical:
      return LogLevel::kError;
    default:
      return LogLevel::kOff;
  }
}

/// stderr, or the application's callback. base_sink serialises calls under its mutex.
class RoutingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  RoutingSink() { stderr_.set_pattern("%H:%M:%S.%e [asyncfs %n] %l: %v"); }
  void route(LogSink sink) {
    std::lock_guard lock(mutex_);
    user_ = std::move(sink);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (user_) {
      try {
        user_(from_spdlog(msg.level),
              std::string_view(msg.logger_name.data(), msg.logger_name.size()),
              std::string_view(msg.payload.data(), msg.payload.size()));
      } catch (...) {  // the application's sink failed: its record is lost, nothing else
      }
      return;
    }
    stderr_.log(msg);
  }
  void flush_() override { stderr_.flush(); }

 private:
  LogSink user_;
  spdlog::sinks::stderr_sink_st stderr_;  // guarded by base_sink's mutex
};

struct LogState {
  std::atomic<int> level{kUnresolved};
  std::shared_ptr<RoutingSink> sink = std::make_shared<RoutingSink>();
  std::mutex loggers_mutex;
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers;

  std::shared_ptr<spdlog::logger> logger(std::string_view component) {
    std::lock_guard lock(loggers_mutex);
    auto it = loggers.find(component);
    if (it != loggers.end()) return it->second;
    auto l = std::make_shared<spdlog::logger>(std::string(component), sink);
    l->set_level(spdlog::level::trace);  // filtered by `level` before spdlog sees a record
    return loggers.emplace(std::string(component), std::move(l)).first->second;
  }
};

LogState& state() {
  // Leaked on purpose: records may come from threads that outlive static destruction.
  static LogState* s = new LogState();
  return *s;
}

int resolve_level() noexcept {
  LogState& s = state();
  int level = static_cast<int>(LogLevel::kWarn);
  try {
    level = static_cast<int>(log_level_from_env());
  } catch (const std::exception& e) {
    // Applications that want this as a start-up error call log_level_from_env() themselves.
    std::fprintf(stderr, "asyncfs: %s (using warn)\n", e.what());
  }
  int expected = kUnresolved;
  s.level.compare_exchange_strong(expected, level, std::memory_order_relaxed);
  return s.level.load(std::memory_order_relaxed);
}

}  // namespace

std::string_view log_level_name(LogLevel level) noexcept {
  return kNames[static_cast<std::size_t>(level)];
}

LogLevel parse_log_level(std::string_view name, std::string_view source) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  if (lower == "warning") lower = "warn";
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (lower == kNames[i]) return static_cast<LogLevel>(i);
  }
  throw InvalidArgument(std::string(source),
                        "unknown log level '" + std::string(name) +
                            "'; use one of off, error, warn, info, debug, trace");
}

LogLevel log_level_from_env() {
  const char* v = std::getenv("ASYNCFS_LOG");
  if (!v || !*v) return LogLevel::kWarn;
  return parse_log_level(v, "ASYNCFS_LOG");
}

void set_log_level(LogLevel level) {
  state().level.store(static_cast<int>(level), std::memory_order_relaxed);
}

LogLevel log_level() noexcept {
  int l = state().level.load(std::memory_order_relaxed);
  if (l == kUnresolved) l = resolve_level();
  return static_cast<LogLevel>(l);
}

void set_log_sink(LogSink sink) { state().sink->route(std::move(sink)); }

namespace log {

bool enabled(LogLevel level) noexcept {
  return level != LogLevel::kOff && static_cast<int>(level) >= static_cast<int>(log_level());
}

void write(LogLevel level, std::string_view component, std::string_view message) noexcept {
  try {
    state().logger(component)->log(to_spdlog(level), "{}", message);
  } catch (...) {  // out of memory or a broken stderr: the record is lost
  }
}

}  // namespace log

}  // namespace asyncfs
