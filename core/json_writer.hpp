#pragma once
// Builds JSON text for request bodies. Strings are escaped per RFC 8259 (quotes, backslashes,
// control characters); text that is not valid UTF-8 is refused with InvalidArgument rather
// than altered, so a request never names a different file than the caller gave.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace asyncfs::json {

/// Appends `s` as a JSON string literal. Throws InvalidArgument (naming `what`) on invalid
/// UTF-8.
void append_string(std::string& out, std::string_view s, std::string_view what = "JSON text");

class Writer {
 public:
  Writer& begin_object();
  Writer& end_object();
  Writer& begin_array();
  Writer& end_array();
  /// The key of the next value inside an object.
  Writer& key(std::string_view k);
  Writer& value(std::string_view s);
  Writer& value(const char* s) { return value(std::string_view(s)); }
  Writer& value(const std::string& s) { return value(std::string_view(s)); }
  Writer& value(std::int64_t n);
  Writer& value(bool b);
  Writer& null();
  /// key(k).value(v) in one call.
  template <class V>
  Writer& field(std::string_view k, const V& v) {
    key(k);
    return value(v);
  }
  /// The text so far (complete once every begin_* has its end_*).
  std::string take() { return std::move(out_); }
  const std::string& str() const noexcept { return out_; }

 private:
  void before_value();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace asyncfs::json
