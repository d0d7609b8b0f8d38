#include "asyncfs/task.hpp"

#include "asyncfs/errors.hpp"
#include "asyncfs/outcome.hpp"

namespace asyncfs {

void StopCheck::await_resume() const {
  if (stopped) throw Cancelled(what, "operation cancelled");
}

namespace detail {
void throw_outcome_empty() {
  throw Cancelled("", "item did not run (cancelled before it started)");
}
}  // namespace detail

}  // namespace asyncfs
