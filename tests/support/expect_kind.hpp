#pragma once
// EXPECT_KIND(kNotFound, expr): expr throws an asyncfs::Error of that kind.

#include <gtest/gtest.h>

#include "asyncfs/errors.hpp"

namespace asyncfs::testing {

template <class F>
void expect_throw_kind(ErrorKind kind, F&& fn) {
  try {
    fn();
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
  }
}

}  // namespace asyncfs::testing

#define EXPECT_KIND(kind, ...) \
  ::asyncfs::testing::expect_throw_kind(::asyncfs::ErrorKind::kind, [&] { (void)(__VA_ARGS__); })
