#pragma once
/// \file unique_function.hpp
/// \brief A move-only std::function (std::move_only_function is C++23).

#include <memory>
#include <type_traits>
#include <utility>

namespace asyncfs {

template <class Sig>
class UniqueFunction;

template <class R, class... A>
class UniqueFunction<R(A...)> {
 public:
  UniqueFunction() noexcept = default;
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, UniqueFunction>>>
  UniqueFunction(F&& f)  // NOLINT: implicit like std::function
      : impl_(std::make_unique<Impl<std::decay_t<F>>>(std::forward<F>(f))) {}
  UniqueFunction(UniqueFunction&&) noexcept = default;
  UniqueFunction& operator=(UniqueFunction&&) noexcept = default;

  explicit operator bool() const noexcept { return static_cast<bool>(impl_); }
  R operator()(A... args) { return impl_->call(std::forward<A>(args)...); }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual R call(A... args) = 0;
  };
  template <class F>
  struct Impl final : Base {
    explicit Impl(F&& f) : f(std::move(f)) {}
    explicit Impl(const F& f) : f(f) {}
    R call(A... args) override { return f(std::forward<A>(args)...); }
    F f;
  };
  std::unique_ptr<Base> impl_;
};

}  // namespace asyncfs
