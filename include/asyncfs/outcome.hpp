#pragma once
/// \file outcome.hpp
/// \brief Outcome<T>: the result of one item of a bulk call, a value or the exception it raised.

#include <exception>
#include <utility>
#include <variant>

namespace asyncfs {

/// \brief A value or an exception (folly's Try, fsspec's return_exceptions slot).
template <class T>
class Outcome {
 public:
  Outcome() = default;  ///< empty: the item never ran (e.g. cancelled before it started)
  Outcome(T value) : v_(std::in_place_index<1>, std::move(value)) {}  // NOLINT: implicit
  Outcome(std::exception_ptr error) : v_(std::in_place_index<2>, std::move(error)) {}  // NOLINT

  bool has_value() const noexcept { return v_.index() == 1; }
  bool has_error() const noexcept { return v_.index() == 2; }
  bool empty() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  /// The value; rethrows the stored exception (or throws Cancelled when empty).
  T& value() & {
    check();
    return std::get<1>(v_);
  }
  const T& value() const& {
    check();
    return std::get<1>(v_);
  }
  T&& value() && {
    check();
    return std::get<1>(std::move(v_));
  }
  std::exception_ptr error() const noexcept {
    return has_error() ? std::get<2>(v_) : std::exception_ptr{};
  }

 private:
  void check() const;
  std::variant<std::monostate, T, std::exception_ptr> v_;
};

template <>
class Outcome<void> {
 public:
  Outcome() = default;
  static Outcome success() {
    Outcome o;
    o.done_ = true;
    return o;
  }
  Outcome(std::exception_ptr error) : error_(std::move(error)), done_(true) {}  // NOLINT
  bool has_value() const noexcept { return done_ && !error_; }
  bool has_error() const noexcept { return static_cast<bool>(error_); }
  bool empty() const noexcept { return !done_; }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const;
  std::exception_ptr error() const noexcept { return error_; }

 private:
  std::exception_ptr error_;
  bool done_ = false;
};

namespace detail {
[[noreturn]] void throw_outcome_empty();
}

template <class T>
void Outcome<T>::check() const {
  if (v_.index() == 2) std::rethrow_exception(std::get<2>(v_));
  if (v_.index() == 0) detail::throw_outcome_empty();
}

inline void Outcome<void>::value() const {
  if (error_) std::rethrow_exception(error_);
  if (!done_) detail::throw_outcome_empty();
}

}  // namespace asyncfs
