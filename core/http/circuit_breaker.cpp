#include "core/http/circuit_breaker.hpp"

#include <cctype>

namespace asyncfs::http {

std::string CircuitBreaker::key_of(std::string_view url) {
  const std::size_t scheme = url.find("://");
  const std::size_t end =
      scheme == std::string_view::npos ? url.size() : url.find_first_of("/?#", scheme + 3);
  std::string key(url.substr(0, end));
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

std::optional<std::string> CircuitBreaker::refuse(const std::string& key, int threshold,
                                                  std::chrono::milliseconds cooldown,
                                                  Clock::time_point now) {
  if (threshold <= 0 || hosts_.empty()) return std::nullopt;
  auto it = hosts_.find(key);
  if (it == hosts_.end() || it->second.consecutive < threshold) return std::nullopt;
  if (now >= it->second.open_until) {
    // Half-open: this request probes; the others keep failing fast until it is answered.
    it->second.open_until = now + cooldown;
    return std::nullopt;
  }
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(it->second.open_until - now);
  return std::string(kCircuitOpen) + " " + std::to_string(it->second.consecutive) +
         " times in a row (tried again in " + std::to_string((left.count() + 999) / 1000) + " s)";
}

void CircuitBreaker::succeeded(const std::string& key) {
  if (!hosts_.empty()) hosts_.erase(key);
}

bool CircuitBreaker::failed(const std::string& key, int threshold,
                            std::chrono::milliseconds cooldown, Clock::time_point now) {
  if (threshold <= 0) return false;
  Host& h = hosts_[key];
  if (++h.consecutive < threshold) return false;
  h.open_until = now + cooldown;
  return h.consecutive == threshold;
}

}  // namespace asyncfs::http
