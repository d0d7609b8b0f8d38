#pragma once
// Response bodies kept in memory, shared by both transports: one reservation when the length is
// announced, and prefaulting ahead of the writes for large bodies.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "asyncfs/bytes.hpp"
#include "asyncfs/errors.hpp"

namespace asyncfs::http {

/// Reserves `announced` bytes (at most `max_bytes`) in the empty `body` once: growing by
/// doubling would peak at about twice the body. Untouched reserved pages cost no RSS, so a
/// server that overstates the length costs address space only; an absurd length simply fails
/// to reserve (the body then grows normally).
void reserve_body(Bytes& body, std::uint64_t announced, std::optional<std::uint64_t> max_bytes);

/// Appends `data` to `body`. In a large reservation the pages of the next 8 MiB are populated
/// in one madvise(MADV_POPULATE_WRITE) call each time the writes enter a new 8 MiB step:
/// faulting a big body in 4 KiB at a time costs more than receiving it (issue #3 profile), and
/// populating only one step ahead keeps an overstated length from committing memory.
void append_body(Bytes& body, std::string_view data);

}  // namespace asyncfs::http
