// Parsing of the HTTP filesystem's string options into HttpOptions.

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "asyncfs/backends/http.hpp"
#include "asyncfs/errors.hpp"
#include "core/http/header_util.hpp"

namespace asyncfs::http {
namespace {

[[noreturn]] void bad(const std::string& key, const std::string& why) {
  throw InvalidArgument("http option '" + key + "'", why);
}

std::map<std::string, std::string> parse_headers(const std::string& json) {
  std::map<std::string, std::string> out;
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS) {
    bad("headers", "not valid JSON (expected an object of strings)");
  }
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) bad("headers", "not a JSON object");
  for (auto field : obj) {
    std::string_view value;
    if (field.value.get_string().get(value) != simdjson::SUCCESS) {
      bad("headers", "value of '" + std::string(field.key) + "' is not a string");
    }
    const std::string name(field.key);
    // A header name is a token; CR/LF anywhere would let a value smuggle extra headers.
    if (name.empty() || name.find_first_of(" :\r\n\t") != std::string::npos ||
        value.find_first_of("\r\n") != std::string_view::npos) {
      bad("headers", "invalid header '" + name + "'");
    }
    out[name] = std::string(value);
  }
  return out;
}

}  // namespace

HttpOptions HttpOptions::from(Options opts, std::shared_ptr<IoThread> io) {
  HttpOptions out;
  out.base = FsBaseOptions::from(opts, std::move(io));
  opts.check_known("http", {"headers",
                            "username",
                            "password",
                            "token",
                            "ca_path",
                            "insecure",
                            "proxy",
                            "connect_timeout",
                            "low_speed_time",
                            "low_speed_limit",
                            "timeout",
                            "retries",
                            "retry_backoff",
                            "retry_max_wait",
                            "same_scheme",
                            "block_size",
                            "max_connections_per_host",
                            "max_ignored_range_body",
                            "max_decoded_bytes",
                            "max_decoded_ratio",
                            "circuit_failures",
                            "circuit_cooldown",
                            "redirect_safe_headers",
                            "method",
                            "transport"});
  if (auto v = opts.get("headers"); v && !v->empty()) out.headers = parse_headers(*v);
  out.username = opts.get("username").value_or("");
  out.password = opts.get("password").value_or("");
  out.token = opts.get("token").value_or("");
  if (out.password.size() && out.username.empty()) bad("password", "needs a username");
  if (!out.token.empty() && !out.username.empty()) {
    bad("token", "use either a bearer token or username/password, not both");
  }
  out.ca_path = opts.get("ca_path").value_or("");
  out.insecure = opts.get_bool("insecure").value_or(false);
  out.proxy = opts.get("proxy").value_or("");
  if (auto v = opts.get_seconds("connect_timeout")) out.connect_timeout = *v;
  if (auto v = opts.get_seconds("low_speed_time")) out.low_speed_time = *v;
  if (auto v = opts.get_int("low_speed_limit")) {
    if (*v < 0 || *v > 0xFFFFFFFFll) bad("low_speed_limit", "must be 0..4294967295 bytes/s");
    out.low_speed_limit = static_cast<std::uint32_t>(*v);
  }
  if (auto v = opts.get_seconds("timeout"); v && v->count() > 0) out.timeout = *v;
  if (auto v = opts.get_int("retries")) {
    if (*v < 0 || *v > 100) bad("retries", "must be between 0 and 100");
    out.retries = static_cast<int>(*v);
  }
  if (auto v = opts.get_seconds("retry_backoff")) out.retry_backoff = *v;
  if (auto v = opts.get_seconds("retry_max_wait")) out.retry_max_wait = *v;
  out.same_scheme = opts.get_bool("same_scheme").value_or(true);
  if (auto v = opts.get_int("block_size")) {
    if (*v < 0) bad("block_size", "must be >= 0");
    out.block_size = static_cast<std::size_t>(*v);
  }
  if (auto v = opts.get_int("max_connections_per_host")) {
    if (*v < 0) bad("max_connections_per_host", "must be >= 0");
    out.max_connections_per_host = static_cast<long>(*v);
  }
  if (auto v = opts.get_int("max_ignored_range_body")) {
    if (*v < 0) bad("max_ignored_range_body", "must be >= 0");
    out.max_ignored_range_body = static_cast<std::uint64_t>(*v);
  }
  if (auto v = opts.get_int("max_decoded_bytes")) {
    if (*v < 0) bad("max_decoded_bytes", "must be >= 0 (0 = no cap)");
    out.max_decoded_bytes = static_cast<std::uint64_t>(*v);
  }
  if (auto v = opts.get_int("max_decoded_ratio")) {
    if (*v < 0 || *v > 0xFFFFFFFFll) bad("max_decoded_ratio", "must be 0..4294967295 (0 = no cap)");
    out.max_decoded_ratio = static_cast<std::uint32_t>(*v);
  }
  if (auto v = opts.get_int("circuit_failures")) {
    if (*v < 0 || *v > 1'000'000) bad("circuit_failures", "must be 0..1000000 (0 = never open)");
    out.circuit_failures = static_cast<int>(*v);
  }
  if (auto v = opts.get_seconds("circuit_cooldown")) out.circuit_cooldown = *v;
  if (auto v = opts.get("redirect_safe_headers")) {
    std::string_view rest = *v;
    while (!rest.empty()) {
      const std::size_t comma = std::min(rest.find(','), rest.size());
      std::string name = lower(trim(rest.substr(0, comma)));
      if (!name.empty()) out.redirect_safe_headers.push_back(std::move(name));
      rest.remove_prefix(std::min(comma + 1, rest.size()));
    }
  }
  if (auto v = opts.get("method")) {
    std::string m = *v;
    for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (m != "PUT" && m != "POST") bad("method", "must be 'put' or 'post'");
    out.method = m;
  }
  if (auto v = opts.get("transport")) {
    if (*v != "auto" && *v != "curl") bad("transport", "must be 'auto' or 'curl'");
    out.transport = *v;
  }
  return out;
}

}  // namespace asyncfs::http
