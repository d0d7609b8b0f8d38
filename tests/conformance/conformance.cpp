#include "conformance/conformance.hpp"

#include <algorithm>
#include <string_view>

namespace asyncfs::conformance {

namespace {

// Function-local static: backend files register from static initializers in any TU order,
// and gtest evaluates the INSTANTIATE generators only later, inside InitGoogleTest.
std::map<std::string, FixtureFactory>& backend_table() {
  static std::map<std::string, FixtureFactory> table;
  return table;
}

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const Error& err) {
    return std::string(kind_name(err.kind())) + " (" + err.what() + ")";
  } catch (const std::exception& err) {
    return std::string("a non-asyncfs exception: ") + err.what();
  } catch (...) {
    return "an unknown exception";
  }
}

}  // namespace

bool register_backend(const std::string& name, FixtureFactory factory) {
  return backend_table().emplace(name, std::move(factory)).second;
}

std::vector<std::string> registered_backends() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : backend_table()) names.push_back(name);
  return names;
}

std::unique_ptr<BackendFixture> make_backend(const std::string& name) {
  auto it = backend_table().find(name);
  if (it == backend_table().end()) return nullptr;
  return it->second();
}

void ConformanceTest::SetUp() {
  fixture_ = make_backend(GetParam());
  ASSERT_NE(fixture_, nullptr) << "unknown backend " << GetParam();
  fs_ = fixture_->fs();
  ASSERT_NE(fs_, nullptr);
  caps_ = fs_->capabilities();
  root_ = fixture_->root();
  ASSERT_FALSE(root_.empty());
  ASSERT_NE(root_.back(), '/') << "fixture root must not end in '/'";
}

void ConformanceTest::TearDown() {
  // Fixture first: it may remove its directory through the filesystem.
  fixture_.reset();
  fs_.reset();
}

std::string ConformanceTest::p(const std::string& rel_path) const {
  if (rel_path.empty()) return root_;
  return root_ + "/" + rel_path;
}

std::string ConformanceTest::d(const std::string& rel_path) const {
  std::string out = p(rel_path);
  if (caps_.dir_names_keep_trailing_slash) out += '/';
  return out;
}

std::string ConformanceTest::enc(const std::string& name) const {
  if (!caps_.names_are_urls) return name;
  // Everything but unreserved characters, sub-delimiters (except '*'), ':', '@' and '/' is
  // escaped: the canonical form the HTTP backend reports (docs/http.md).
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    const bool literal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') ||
                         std::string_view("-._~!$&'()+,;=:@/").find(ch) != std::string_view::npos;
    if (literal) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::vector<std::string> ConformanceTest::rel(const std::map<std::string, FileInfo>& m) const {
  return rel(keys(m));
}

std::vector<std::string> ConformanceTest::rel(const std::vector<std::string>& names) const {
  return rel_to(root_, names);
}

std::vector<std::string> ConformanceTest::rel_to(const std::string& base,
                                                 const std::vector<std::string>& names) const {
  std::vector<std::string> out;
  for (std::string n : names) {
    if (caps_.dir_names_keep_trailing_slash && n.size() > 1 && n.ends_with('/')) n.pop_back();
    if (n == base) {
      out.push_back(".");
    } else if (n.size() > base.size() && n.compare(0, base.size(), base) == 0 &&
               n[base.size()] == '/') {
      out.push_back(n.substr(base.size() + 1));
    } else {
      out.push_back("<outside>" + n);  // keeps the mismatch visible in the failure message
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> ConformanceTest::tree_files() {
  return {"a.txt", "ab.dat", "b.txt", "dir1/sub/z.txt", "dir1/x.txt", "dir1/y.dat", "dir2/x.txt"};
}

void ConformanceTest::seed_tree() {
  seed_dir("dir1/sub");
  seed_dir("dir2");
  for (const auto& f : tree_files()) seed(f, f);
}

::testing::AssertionResult throws_kind(std::initializer_list<ErrorKind> kinds,
                                       const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    if (std::find(kinds.begin(), kinds.end(), e.kind()) != kinds.end()) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "expected " << kind_name(*kinds.begin()) << ", got "
                                         << describe(std::current_exception());
  } catch (...) {
    return ::testing::AssertionFailure() << "expected " << kind_name(*kinds.begin()) << ", got "
                                         << describe(std::current_exception());
  }
  return ::testing::AssertionFailure()
         << "expected " << kind_name(*kinds.begin()) << ", but nothing was thrown";
}

::testing::AssertionResult throws_any_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error&) {
    return ::testing::AssertionSuccess();
  } catch (...) {
    return ::testing::AssertionFailure()
           << "expected an asyncfs::Error, got " << describe(std::current_exception());
  }
  return ::testing::AssertionFailure() << "expected an asyncfs::Error, but nothing was thrown";
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace asyncfs::conformance
