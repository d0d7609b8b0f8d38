#pragma once
// Internal face of the log (public API: include/asyncfs/log.hpp). A record costs one relaxed
// atomic load when its level is off, so call sites need no guard of their own; arguments are
// formatted only for records that are emitted.

#include <fmt/format.h>

#include <string_view>
#include <utility>

#include "asyncfs/log.hpp"

namespace asyncfs::log {

/// True when records of `level` are emitted (reads ASYNCFS_LOG on first use).
bool enabled(LogLevel level) noexcept;

/// Emits one record (already formatted). Never throws: a failing sink loses the record.
void write(LogLevel level, std::string_view component, std::string_view message) noexcept;

template <class... A>
void record(LogLevel level, std::string_view component, fmt::format_string<A...> f, A&&... a) {
  if (!enabled(level)) return;
  try {
    write(level, component, fmt::format(f, std::forward<A>(a)...));
  } catch (...) {  // formatting ran out of memory: the record is lost, the operation goes on
  }
}

template <class... A>
void info(std::string_view component, fmt::format_string<A...> f, A&&... a) {
  record(LogLevel::kInfo, component, f, std::forward<A>(a)...);
}
template <class... A>
void debug(std::string_view component, fmt::format_string<A...> f, A&&... a) {
  record(LogLevel::kDebug, component, f, std::forward<A>(a)...);
}
template <class... A>
void trace(std::string_view component, fmt::format_string<A...> f, A&&... a) {
  record(LogLevel::kTrace, component, f, std::forward<A>(a)...);
}
template <class... A>
void warn(std::string_view component, fmt::format_string<A...> f, A&&... a) {
  record(LogLevel::kWarn, component, f, std::forward<A>(a)...);
}

}  // namespace asyncfs::log
