#pragma once
/// \file options.hpp
/// \brief Options: the string key/value storage options every filesystem is built from.
///
/// Options come from code, URLs, config files and ASYNCFS_<PROTO>_<KEY> variables; each backend
/// parses them into its typed options struct and rejects keys it does not know.

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace asyncfs {

class Options {
 public:
  Options() = default;
  Options(std::initializer_list<std::pair<const std::string, std::string>> kv) : kv_(kv) {}

  Options& set(std::string key, std::string value) {
    kv_[std::move(key)] = std::move(value);
    return *this;
  }
  bool contains(std::string_view key) const { return kv_.find(key) != kv_.end(); }
  std::optional<std::string> get(std::string_view key) const;
  /// Removes and returns a key (used by layers that consume their own keys).
  std::optional<std::string> take(std::string_view key);

  /// Typed getters; a present but malformed value throws InvalidArgument naming the key.
  std::optional<std::int64_t> get_int(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<double> get_double(std::string_view key) const;
  /// Seconds as a decimal number ("2.5").
  std::optional<std::chrono::milliseconds> get_seconds(std::string_view key) const;

  /// Throws InvalidArgument for the first key not in `known` (naming the backend `who`).
  void check_known(std::string_view who, const std::set<std::string, std::less<>>& known) const;

  /// Values of `base` are overridden by ours.
  Options merged_over(const Options& base) const;

  /// Canonical text of all pairs (sorted), used as the instance-cache key.
  std::string token() const;

  const std::map<std::string, std::string, std::less<>>& items() const { return kv_; }
  bool empty() const { return kv_.empty(); }
  bool operator==(const Options&) const = default;

 private:
  std::map<std::string, std::string, std::less<>> kv_;
};

}  // namespace asyncfs
