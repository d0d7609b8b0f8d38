#include "core/http/body_buffer.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>

namespace asyncfs::http {
namespace {

constexpr std::size_t kStep = 8u << 20;
// Smaller reservations fault in cheaply enough; the madvise calls would not pay off.
constexpr std::size_t kMinPrefault = 16u << 20;
// Spare capacity past an announced body: simdjson reads a buffer in place only when 64 bytes
// (SIMDJSON_PADDING) follow the text; without them every JSON body was copied once more.
constexpr std::size_t kParserSlack = 64;

/// Populates step `k` of the reservation (the part of it inside the capacity).
void populate_step(Bytes& body, std::size_t k) {
#ifdef MADV_POPULATE_WRITE
  static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const auto base = reinterpret_cast<std::uintptr_t>(body.data());
  const std::size_t from = k * kStep;
  if (from >= body.capacity()) return;
  const std::size_t to = std::min(body.capacity(), from + kStep);
  const std::uintptr_t first = (base + from + page - 1) & ~(page - 1);
  const std::uintptr_t last = (base + to) & ~(page - 1);
  // Best effort: a kernel before 5.14 says EINVAL and the pages fault in as usual.
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
#else
  (void)body;
  (void)k;
#endif
}

}  // namespace

void reserve_body(Bytes& body, std::uint64_t announced, std::optional<std::uint64_t> max_bytes) {
  const std::uint64_t want = std::min(announced, max_bytes.value_or(announced));
  if (!body.empty() || want <= body.capacity()) return;
  try {
    body.reserve(static_cast<std::size_t>(want) + kParserSlack);
  } catch (...) {  // NOLINT(bugprone-empty-catch): fall back to normal growth
  }
}

void append_body(Bytes& body, std::string_view data) {
  if (body.capacity() >= kMinPrefault) {
    const std::size_t before = body.size() / kStep;
    const std::size_t after = (body.size() + data.size()) / kStep;
    if (body.empty()) populate_step(body, 0);
    // Entering step `after` (or writing the first bytes): populate the one after it.
    if (after > before || body.empty()) populate_step(body, after + 1);
  }
  body.append(data);
}

}  // namespace asyncfs::http
