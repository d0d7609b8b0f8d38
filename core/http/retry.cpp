// Retry policy helpers (see retry.hpp).

#include "core/http/retry.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "asyncfs/errors.hpp"
#include "core/http/circuit_breaker.hpp"
#include "core/http/engine.hpp"

namespace asyncfs::http {
namespace {

using std::chrono::milliseconds;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::int64_t> to_int(std::string_view s) {
  if (!all_digits(s) || s.size() > 12) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

int month_index(std::string_view tok) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  if (tok.size() < 3) return -1;
  std::string l(tok.substr(0, 3));
  for (char& c : l) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (kMonths[i] == l && tok.size() == 3) return static_cast<int>(i);
  }
  return -1;
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// Seconds since the epoch of the three HTTP-date formats; tolerant of the token order.
std::optional<std::int64_t> parse_http_date(std::string_view s) {
  std::vector<std::string_view> toks;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t j = std::min(s.find_first_of(" ,-", i), s.size());
    if (j > i) toks.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  int month = -1;
  std::vector<std::string_view> numbers;
  std::string_view time;
  for (auto t : toks) {
    if (t.find(':') != std::string_view::npos) {
      time = t;
    } else if (all_digits(t)) {
      numbers.push_back(t);
    } else if (int m = month_index(t); m >= 0) {
      month = m;
    }
  }
  if (month < 0 || numbers.size() != 2 || time.size() != 8) return std::nullopt;
  std::string_view day_s = numbers[0];
  std::string_view year_s = numbers[1];
  if (day_s.size() == 4) std::swap(day_s, year_s);  // asctime: "Nov  6 08:49:37 1994"
  // Four-digit years (two in RFC 850): longer digit runs would overflow the seconds below.
  if (year_s.size() != 4 && year_s.size() != 2) return std::nullopt;
  auto day = to_int(day_s);
  auto year = to_int(year_s);
  auto hh = to_int(time.substr(0, 2));
  auto mm = to_int(time.substr(3, 2));
  auto ss = to_int(time.substr(6, 2));
  if (!day || !year || !hh || !mm || !ss || time[2] != ':' || time[5] != ':') return std::nullopt;
  if (year_s.size() == 2) *year += *year < 70 ? 2000 : 1900;  // RFC 850's two-digit years
  if (*day < 1 || *day > 31 || *hh > 23 || *mm > 59 || *ss > 60) return std::nullopt;
  const std::int64_t days =
      days_from_civil(*year, static_cast<unsigned>(month + 1), static_cast<unsigned>(*day));
  return days * 86400 + *hh * 3600 + *mm * 60 + *ss;
}

}  // namespace

bool retryable_status(long status) noexcept {
  switch (status) {
    case 408:
    case 425:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return true;
    default:
      return false;
  }
}

bool idempotent_method(std::string_view method) noexcept {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS";
}

bool retryable_error(const std::exception_ptr& error) noexcept {
  if (!error) return false;
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    // A certificate that failed verification fails the same way next time.
    if (e.kind() == ErrorKind::kNetwork && e.message() == kTlsFailure) return false;
    // The circuit breaker refused it without trying: retrying now would be refused too.
    if (e.kind() == ErrorKind::kNetwork && e.message().starts_with(kCircuitOpen)) return false;
    return e.kind() == ErrorKind::kNetwork || e.kind() == ErrorKind::kTimeout;
  } catch (...) {
    return false;
  }
}

std::optional<milliseconds> parse_retry_after(std::string_view value,
                                              std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (all_digits(value)) {
    if (value.size() > 9) return milliseconds(std::int64_t{999'999'999} * 1000);
    return milliseconds(*to_int(value) * 1000);
  }
  auto when = parse_http_date(value);
  if (!when) return std::nullopt;
  const auto now_ms = std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count();
  const std::int64_t diff = *when * 1000 - now_ms;
  return milliseconds(std::max<std::int64_t>(diff, 0));
}

milliseconds backoff_delay(int retry, milliseconds backoff, milliseconds max_wait,
                           double unit_random) {
  if (retry < 1) retry = 1;
  std::int64_t cap = backoff.count();
  for (int i = 1; i < retry && cap < max_wait.count(); ++i) cap *= 2;
  cap = std::min(cap, max_wait.count());
  unit_random = std::clamp(unit_random, 0.0, 1.0);
  return milliseconds(static_cast<std::int64_t>(static_cast<double>(cap) * unit_random));
}

milliseconds retry_wait(const RetryPolicy& policy, int retry,
                        std::optional<std::string_view> retry_after) {
  if (retry_after) {
    if (auto d = parse_retry_after(*retry_after, std::chrono::system_clock::now())) {
      return std::min(*d, policy.max_wait);
    }
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  return backoff_delay(retry, policy.backoff, policy.max_wait, unit(rng));
}

}  // namespace asyncfs::http
