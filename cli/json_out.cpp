#include "json_out.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>

namespace asyncfs::cli {

namespace {

// Length of the valid UTF-8 sequence at the start of `s`, or 0 if it is not one (overlong
// forms, surrogates and code points above U+10FFFF are invalid, as in RFC 3629).
std::size_t utf8_sequence_length(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
    cp = b0 & 0x1fu;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    cp = b0 & 0x0fu;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    cp = b0 & 0x07u;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xc0u) != 0x80u) return 0;
    cp = (cp << 6) | (b & 0x3fu);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) return 0;
  if (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) return 0;
  return len;
}

void append_key(std::string& out, std::string_view key) {
  out += ',';
  append_json_string(out, key);
  out += ':';
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  while (!s.empty()) {
    const char c = s[0];
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      const std::size_t len = utf8_sequence_length(s);
      if (len == 0) {
        out += "\\ufffd";
        s.remove_prefix(1);
      } else {
        out.append(s.substr(0, len));
        s.remove_prefix(len);
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += fmt::format("\\u{:04x}", u);
        } else {
          out += c;
        }
    }
    s.remove_prefix(1);
  }
  out += '"';
}

std::string info_to_json(const FileInfo& info, std::string_view name) {
  std::string out = "{\"name\":";
  append_json_string(out, name);
  out += ",\"size\":";
  out += info.size ? fmt::format("{}", *info.size) : "null";
  out += ",\"type\":";
  append_json_string(out, file_type_name(info.type));
  if (info.mtime) {
    append_key(out, "mtime");
    // JSON has no NaN or infinity.
    out += std::isfinite(*info.mtime) ? fmt::format("{}", *info.mtime) : "null";
  }
  if (info.mode) {
    append_key(out, "mode");
    out += fmt::format("{}", *info.mode);
  }
  if (info.link_target) {
    append_key(out, "link_target");
    append_json_string(out, *info.link_target);
  }
  if (info.etag) {
    append_key(out, "etag");
    append_json_string(out, *info.etag);
  }
  for (const auto& [key, value] : info.extra) {
    // A backend extra never shadows a standard key: consumers rely on their types.
    if (key == "name" || key == "size" || key == "type" || key == "mtime" || key == "mode" ||
        key == "link_target" || key == "etag") {
      continue;
    }
    append_key(out, key);
    append_json_string(out, value);
  }
  out += '}';
  return out;
}

}  // namespace asyncfs::cli
