// FirecrestOptions: the environment variables FirecREST users already set, then string
// options (code, config files, ASYNCFS_FIRECREST_* variables) over them.

#include <simdjson.h>

#include <cstdlib>
#include <string>

#include "asyncfs/backends/firecrest.hpp"
#include "asyncfs/config.hpp"
#include "asyncfs/errors.hpp"

namespace asyncfs::firecrest {
namespace {

[[noreturn]] void bad(const std::string& key, const std::string& why) {
  throw InvalidArgument("firecrest option '" + key + "'", why);
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::map<std::string, std::chrono::milliseconds> parse_spacing(const std::string& json) {
  std::map<std::string, std::chrono::milliseconds> out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(simdjson::padded_string(json)).get(doc) != simdjson::SUCCESS) {
    bad("time_between_calls", "not valid JSON (expected an object of seconds)");
  }
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) {
    bad("time_between_calls", "not a JSON object");
  }
  for (auto field : obj) {
    double seconds = 0;
    if (field.value.get_double().get(seconds) != simdjson::SUCCESS) {
      std::int64_t whole = 0;
      if (field.value.get_int64().get(whole) != simdjson::SUCCESS) {
        bad("time_between_calls", "value of '" + std::string(field.key) + "' is not a number");
      }
      seconds = static_cast<double>(whole);
    }
    if (seconds < 0 || seconds > 86400) {
      bad("time_between_calls", "value of '" + std::string(field.key) + "' is out of range");
    }
    out[std::string(field.key)] =
        std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0 + 0.5));
  }
  return out;
}

}  // namespace

FirecrestOptions FirecrestOptions::from_env(std::shared_ptr<IoThread> io) {
  FirecrestOptions out;
  out.io = std::move(io);
  out.url = env("FIRECREST_URL");
  out.client_id = env("FIRECREST_CLIENT_ID");
  out.client_secret = env("FIRECREST_CLIENT_SECRET");
  out.token_url = env("AUTH_TOKEN_URL");
  out.token = env("FIRECREST_TOKEN");
  out.token_command = env("FIRECREST_TOKEN_COMMAND");
  return out;
}

FirecrestOptions FirecrestOptions::from(Options opts, std::shared_ptr<IoThread> io) {
  FirecrestOptions out = from_env(std::move(io));
  opts.check_known(
      "firecrest",
      {"url", "client_id", "client_secret", "token_url", "client_auth_method", "token",
       "token_command", "token_command_max_age", "max_in_flight", "time_between_calls", "retries",
       "rate_limit_retries", "retry_backoff", "retry_max_wait", "call_timeout", "connect_timeout",
       "ca_path", "insecure", "direct_transfer_limit", "s3_connections", "account", "poll_interval",
       "poll_max_interval", "job_not_found_grace",
       // keys of the filesystem layer (FsBaseOptions), accepted here
       "batch_size", "asynchronous", "skip_instance_cache"});
  auto str = [&](const char* key, std::string& field) {
    if (auto v = opts.get(key)) field = *v;
  };
  str("url", out.url);
  str("client_id", out.client_id);
  str("client_secret", out.client_secret);
  str("token_url", out.token_url);
  str("client_auth_method", out.client_auth_method);
  str("token", out.token);
  str("token_command", out.token_command);
  str("ca_path", out.ca_path);
  str("account", out.account);
  if (out.client_auth_method != "client_secret_post" &&
      out.client_auth_method != "client_secret_basic") {
    bad("client_auth_method", "must be client_secret_post or client_secret_basic");
  }
  if (auto v = opts.get_seconds("token_command_max_age")) out.token_command_max_age = *v;
  if (auto v = opts.get_int("max_in_flight")) {
    if (*v < 0) bad("max_in_flight", "must be >= 0");
    out.max_in_flight = static_cast<std::size_t>(*v);
  }
  if (auto v = opts.get("time_between_calls"); v && !v->empty()) {
    out.time_between_calls = parse_spacing(*v);
  }
  if (auto v = opts.get_int("retries")) {
    if (*v < 0 || *v > 100) bad("retries", "must be 0..100");
    out.retries = static_cast<int>(*v);
  }
  if (auto v = opts.get_int("rate_limit_retries")) {
    if (*v < 0 || *v > 1000) bad("rate_limit_retries", "must be 0..1000");
    out.rate_limit_retries = static_cast<int>(*v);
  }
  if (auto v = opts.get_seconds("retry_backoff")) out.retry_backoff = *v;
  if (auto v = opts.get_seconds("retry_max_wait")) out.retry_max_wait = *v;
  if (auto v = opts.get_seconds("call_timeout")) out.call_timeout = *v;
  if (auto v = opts.get_seconds("connect_timeout")) out.connect_timeout = *v;
  if (auto v = opts.get_bool("insecure")) out.insecure = *v;
  if (auto v = opts.get_int("direct_transfer_limit")) {
    if (*v < 0) bad("direct_transfer_limit", "must be >= 0");
    out.direct_transfer_limit = static_cast<std::uint64_t>(*v);
  }
  if (auto v = opts.get_int("s3_connections")) {
    if (*v < 1 || *v > 256) bad("s3_connections", "must be 1..256");
    out.s3_connections = static_cast<std::size_t>(*v);
  }
  if (auto v = opts.get_seconds("poll_interval")) out.poll_interval = *v;
  if (auto v = opts.get_seconds("poll_max_interval")) out.poll_max_interval = *v;
  if (auto v = opts.get_seconds("job_not_found_grace")) out.job_not_found_grace = *v;
  return out;
}

FirecrestOptions FirecrestOptions::from_config(Options opts, std::shared_ptr<IoThread> io) {
  const Config& cfg = config();
  if (auto it = cfg.protocols.find("firecrest"); it != cfg.protocols.end()) {
    opts = opts.merged_over(it->second);
  }
  return from(std::move(opts), std::move(io));
}

void FirecrestOptions::validate() const {
  if (url.empty()) {
    throw InvalidArgument("FIRECREST_URL",
                          "no FirecREST URL: set FIRECREST_URL (or the option 'url')");
  }
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    throw InvalidArgument("FIRECREST_URL", "the FirecREST URL must start with http:// or https://");
  }
  const bool have_other = !token.empty() || !token_command.empty() || token_function;
  if (have_other) return;
  if (client_id.empty()) {
    throw InvalidArgument("FIRECREST_CLIENT_ID",
                          "no credentials: set FIRECREST_CLIENT_ID, FIRECREST_CLIENT_SECRET and "
                          "AUTH_TOKEN_URL (or FIRECREST_TOKEN_COMMAND)");
  }
  if (client_secret.empty()) {
    throw InvalidArgument("FIRECREST_CLIENT_SECRET",
                          "no client secret: set FIRECREST_CLIENT_SECRET");
  }
  if (token_url.empty()) {
    throw InvalidArgument("AUTH_TOKEN_URL", "no token endpoint: set AUTH_TOKEN_URL");
  }
  if (!token_url.starts_with("http://") && !token_url.starts_with("https://")) {
    throw InvalidArgument("AUTH_TOKEN_URL", "the token URL must start with http:// or https://");
  }
}

}  // namespace asyncfs::firecrest
