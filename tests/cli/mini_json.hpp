#pragma once
// A small strict JSON parser, enough to check the shape of the tool's --json output.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace asyncfs::testing {

struct Json {
  using Array = std::vector<Json>;
  using Object = std::map<std::string, Json>;
  std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<Array>,
               std::shared_ptr<Object>>
      v;

  bool is_null() const { return v.index() == 0; }
  bool is_number() const { return v.index() == 2; }
  bool is_string() const { return v.index() == 3; }
  bool is_array() const { return v.index() == 4; }
  bool is_object() const { return v.index() == 5; }
  double number() const { return std::get<2>(v); }
  const std::string& str() const { return std::get<3>(v); }
  const Array& array() const { return *std::get<4>(v); }
  const Object& object() const { return *std::get<5>(v); }
  bool has(const std::string& key) const { return is_object() && object().count(key) > 0; }
  const Json& operator[](const std::string& key) const { return object().at(key); }
};

/// Parses one JSON value (surrounding whitespace allowed); nullopt if `text` is not valid JSON.
std::optional<Json> parse_json(const std::string& text);

}  // namespace asyncfs::testing
