#pragma once
/// \file callback.hpp
/// \brief Progress callbacks (fsspec's Callback): set_size / relative_update / branch.
///
/// Callbacks are always invoked on the IO thread. They must be cheap and must not block; a
/// callback that needs another thread has to hand the numbers over itself (atomics, a queue).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace asyncfs {

class Callback {
 public:
  virtual ~Callback() = default;

  /// Total amount of work (files for a bulk call, bytes for one transfer); nullopt = unknown.
  void set_size(std::optional<std::uint64_t> size) {
    size_ = size;
    on_change();
  }
  void relative_update(std::uint64_t inc = 1) {
    value_ += inc;
    on_change();
  }
  void absolute_update(std::uint64_t value) {
    value_ = value;
    on_change();
  }
  std::optional<std::uint64_t> size() const noexcept { return size_; }
  std::uint64_t value() const noexcept { return value_; }

  /// Child callback for one file of a bulk transfer (bytes of `src` → `dst`); nullptr = none.
  virtual std::unique_ptr<Callback> branch(const std::string& src, const std::string& dst) {
    (void)src;
    (void)dst;
    return nullptr;
  }

 protected:
  /// Hook run after every change; the default does nothing.
  virtual void on_change() {}

 private:
  std::optional<std::uint64_t> size_;
  std::uint64_t value_ = 0;
};

}  // namespace asyncfs
