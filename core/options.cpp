#include "asyncfs/options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "asyncfs/errors.hpp"

namespace asyncfs {

namespace {

[[noreturn]] void bad_value(std::string_view key, const std::string& value, std::string_view want) {
  throw InvalidArgument(std::string(key), fmt::format("option value '{}' is not {}", value, want));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::optional<std::string> Options::get(std::string_view key) const {
  auto it = kv_.find(key);
  if (it == kv_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Options::take(std::string_view key) {
  auto it = kv_.find(key);
  if (it == kv_.end()) return std::nullopt;
  std::string v = std::move(it->second);
  kv_.erase(it);
  return v;
}

std::optional<std::int64_t> Options::get_int(std::string_view key) const {
  auto v = get(key);
  if (!v) return std::nullopt;
  std::int64_t out = 0;
  const char* end = v->data() + v->size();
  auto [ptr, ec] = std::from_chars(v->data(), end, out);
  if (ec != std::errc() || ptr != end || v->empty()) bad_value(key, *v, "an integer");
  return out;
}

std::optional<bool> Options::get_bool(std::string_view key) const {
  auto v = get(key);
  if (!v) return std::nullopt;
  const std::string l = lower(*v);
  if (l == "true" || l == "1" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "0" || l == "no" || l == "off") return false;
  bad_value(key, *v, "a boolean (true/false)");
}

std::optional<double> Options::get_double(std::string_view key) const {
  auto v = get(key);
  if (!v) return std::nullopt;
  char* end = nullptr;
  double out = std::strtod(v->c_str(), &end);
  if (v->empty() || end != v->c_str() + v->size() || !std::isfinite(out)) {
    bad_value(key, *v, "a number");
  }
  return out;
}

std::optional<std::chrono::milliseconds> Options::get_seconds(std::string_view key) const {
  auto d = get_double(key);
  if (!d) return std::nullopt;
  if (*d < 0) bad_value(key, *get(key), "a non-negative number of seconds");
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(*d * 1000.0)));
}

void Options::check_known(std::string_view who,
                          const std::set<std::string, std::less<>>& known) const {
  for (const auto& [k, v] : kv_) {
    if (known.count(k)) continue;
    std::string list;
    for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
    throw InvalidArgument(
        k, fmt::format("unknown option for {} (known: {})", who, list.empty() ? "none" : list));
  }
}

Options Options::merged_over(const Options& base) const {
  Options out = base;
  for (const auto& [k, v] : kv_) out.kv_[k] = v;
  return out;
}

std::string Options::token() const {
  std::string t;
  for (const auto& [k, v] : kv_) {
    // Length-prefixed so no key/value text can collide with another set of pairs.
    t += fmt::format("{}:{}={}:{};", k.size(), k, v.size(), v);
  }
  return t;
}

}  // namespace asyncfs
