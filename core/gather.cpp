#include "asyncfs/gather.hpp"

#include <string>

#include "asyncfs/errors.hpp"

namespace asyncfs::detail {

void validate_window(int batch_size) {
  if (batch_size == 0 || batch_size < -1) {
    throw InvalidArgument("batch_size", "must be a positive number or -1 (unbounded), got " +
                                            std::to_string(batch_size));
  }
}

}  // namespace asyncfs::detail
