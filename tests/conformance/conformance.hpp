#pragma once
/// \file conformance.hpp
/// \brief The backend-independent conformance suite (Arrow's GenericFileSystemTest pattern).
///
/// Every backend contributes one small file that registers a BackendFixture under a name; each
/// test area (listing, reading, ...) derives its own suite from ConformanceTest and is
/// instantiated over every registered backend. Tests read capabilities() and GTEST_SKIP what a
/// backend cannot do, so a read-only or directory-less backend can join without edits here.
///
/// Expectations follow fsspec's documented semantics (reference/fsspec.md), with the fixes of
/// its section 7 (e.g. exists() is false only for NotFound), not the implementation.

#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "asyncfs/asyncfs.hpp"

namespace asyncfs::conformance {

/// \brief One backend under test: a filesystem plus a fresh, empty directory on it.
///
/// A fixture object lives for exactly one test, so root() may create per-test state.
class BackendFixture {
 public:
  virtual ~BackendFixture() = default;

  /// The filesystem under test (the same instance for the whole test).
  virtual std::shared_ptr<AsyncFileSystem> fs() = 0;
  /// A fresh, empty, existing directory for this test, as a stripped path without a
  /// trailing "/" (what info().name would report for it).
  virtual std::string root() = 0;
  /// The URL a user would pass for `path` (protocol included).
  virtual std::string url(const std::string& path) { return fs()->unstrip_protocol(path); }

  /// Seeding for read tests. Read-only backends (HTTP) override these to create the data out
  /// of band (e.g. in the document root of the test server), so read tests still run there.
  virtual void seed_file(const std::string& path, const std::string& data) {
    fs()->pipe_file(path, data);
  }
  virtual void seed_dir(const std::string& path) {
    if (fs()->capabilities().mkdir) fs()->makedirs(path, /*exist_ok=*/true);
  }

  /// A second instance of the backend made with `asynchronous = true` (blocking methods must
  /// refuse), or nullptr when the backend cannot offer one.
  virtual std::shared_ptr<AsyncFileSystem> make_asynchronous() { return nullptr; }

  Capabilities caps() { return fs()->capabilities(); }
  bool can_write() { return caps().write; }
};

using FixtureFactory = std::function<std::unique_ptr<BackendFixture>()>;

/// Registers a backend under `name` (used as the test-name suffix). Call from a static
/// initializer (see ASYNCFS_CONFORMANCE_BACKEND); names must be unique identifiers.
bool register_backend(const std::string& name, FixtureFactory factory);
/// Sorted names of the registered backends.
std::vector<std::string> registered_backends();
std::unique_ptr<BackendFixture> make_backend(const std::string& name);

#define ASYNCFS_CONFORMANCE_BACKEND(name, factory)                           \
  [[maybe_unused]] static const bool asyncfs_conformance_registered_##name = \
      ::asyncfs::conformance::register_backend(#name, factory)

/// \brief Base of every conformance suite; the parameter is the backend name.
class ConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;

  AsyncFileSystem& fs() { return *fs_; }
  const std::shared_ptr<AsyncFileSystem>& fs_ptr() { return fs_; }
  BackendFixture& fixture() { return *fixture_; }
  const Capabilities& caps() const { return caps_; }
  const std::string& root() const { return root_; }
  /// root() + "/" + rel (rel may be empty: root itself).
  std::string p(const std::string& rel) const;
  /// The name listings report for the directory root()/rel: p(rel), plus a trailing "/" on
  /// backends whose directory names keep it (capabilities().dir_names_keep_trailing_slash).
  std::string d(const std::string& rel) const;
  /// `name` as it is written in a path of this backend: percent-encoded (UTF-8 bytes, space,
  /// '#', '%', '?', ...) where paths are URLs (capabilities().names_are_urls), else as is.
  std::string enc(const std::string& name) const;
  /// Names of a listing made relative to root() (or to `base`), sorted. A directory's
  /// trailing "/" is dropped where the backend keeps it (the d() convention), so one
  /// expectation fits every backend; tests of the convention itself check names directly.
  std::vector<std::string> rel(const std::map<std::string, FileInfo>& m) const;
  std::vector<std::string> rel(const std::vector<std::string>& names) const;
  std::vector<std::string> rel_to(const std::string& base,
                                  const std::vector<std::string>& names) const;

  void seed(const std::string& rel_path, const std::string& data) {
    fixture_->seed_file(p(rel_path), data);
  }
  void seed_dir(const std::string& rel_path) { fixture_->seed_dir(p(rel_path)); }

  /// The fixed tree most listing tests use (contents are the relative names):
  ///   a.txt  b.txt  ab.dat  dir1/x.txt  dir1/y.dat  dir1/sub/z.txt  dir2/x.txt
  void seed_tree();
  static std::vector<std::string> tree_files();

 private:
  std::unique_ptr<BackendFixture> fixture_;
  std::shared_ptr<AsyncFileSystem> fs_;
  Capabilities caps_;
  std::string root_;
};

/// Stamps out the instantiation of one suite over every registered backend.
#define ASYNCFS_CONFORMANCE_SUITE(suite)                                                   \
  INSTANTIATE_TEST_SUITE_P(                                                                \
      Backends, suite, ::testing::ValuesIn(::asyncfs::conformance::registered_backends()), \
      [](const ::testing::TestParamInfo<std::string>& info) { return info.param; })

// Skips the current test (with the reason) when the backend lacks a capability.
#define REQUIRE_CAP(flag)                                                          \
  do {                                                                             \
    if (!caps().flag) GTEST_SKIP() << "backend " << GetParam() << " lacks " #flag; \
  } while (0)

/// Success when `fn` throws an asyncfs::Error of one of `kinds`; the failure message names
/// what was thrown instead (other kind with its what(), foreign exception, nothing).
::testing::AssertionResult throws_kind(std::initializer_list<ErrorKind> kinds,
                                       const std::function<void()>& fn);

/// EXPECT_FS_THROW(kNotFound, fs().info(p("missing")));
#define EXPECT_FS_THROW(kind, ...)                                              \
  EXPECT_TRUE(::asyncfs::conformance::throws_kind({::asyncfs::ErrorKind::kind}, \
                                                  [&] { (void)(__VA_ARGS__); }))
/// Either of two kinds is acceptable (where POSIX and fsspec legitimately differ).
#define EXPECT_FS_THROW2(kind1, kind2, ...)        \
  EXPECT_TRUE(::asyncfs::conformance::throws_kind( \
      {::asyncfs::ErrorKind::kind1, ::asyncfs::ErrorKind::kind2}, [&] { (void)(__VA_ARGS__); }))
/// Any asyncfs::Error (the kind is not specified by the contract).
#define EXPECT_FS_ERROR(...) \
  EXPECT_TRUE(::asyncfs::conformance::throws_any_error([&] { (void)(__VA_ARGS__); }))

::testing::AssertionResult throws_any_error(const std::function<void()>& fn);

/// Kind of the error stored in an Outcome (nullopt when it holds a value or is empty).
template <class T>
std::optional<ErrorKind> outcome_kind(const Outcome<T>& o) {
  if (!o.has_error()) return std::nullopt;
  try {
    std::rethrow_exception(o.error());
  } catch (const Error& e) {
    return e.kind();
  } catch (...) {
    return std::nullopt;
  }
}

/// Sorted copy.
std::vector<std::string> sorted(std::vector<std::string> v);
/// Keys of a map, in order.
template <class V>
std::vector<std::string> keys(const std::map<std::string, V>& m) {
  std::vector<std::string> out;
  out.reserve(m.size());
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

}  // namespace asyncfs::conformance
