#include "asyncfs/config.hpp"

#include <fmt/format.h>
#include <simdjson.h>
#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

#include "asyncfs/errors.hpp"

extern char** environ;

namespace asyncfs {

namespace {

constexpr std::string_view kEnvPrefix = "ASYNCFS_";
constexpr std::string_view kGatherKey = "gather_batch_size";
constexpr std::string_view kNofilesKey = "nofiles_gather_batch_size";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// A batch size as config accepts it: an integer >= -1 and != 0.
int checked_batch_size(std::int64_t v, const std::string& where, std::string_view key) {
  if (v == 0 || v < -1 || v > 1'000'000'000) {
    throw InvalidArgument(where,
                          fmt::format("{} must be a positive integer or -1, got {}", key, v));
  }
  return static_cast<int>(v);
}

int parse_batch_size_text(const std::string& text, const std::string& where, std::string_view key) {
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) {
    throw InvalidArgument(where, fmt::format("{} must be an integer, got '{}'", key, text));
  }
  return checked_batch_size(v, where, key);
}

/// An option value as text: strings as they are, scalars printed, containers as JSON.
std::string element_to_option(simdjson::dom::element e, const std::string& where,
                              std::string_view key) {
  using T = simdjson::dom::element_type;
  switch (e.type()) {
    case T::STRING:
      return std::string(std::string_view(e.get_string().value()));
    case T::INT64:
      return std::to_string(e.get_int64().value());
    case T::UINT64:
      return std::to_string(e.get_uint64().value());
    case T::DOUBLE:
      return fmt::format("{}", e.get_double().value());
    case T::BOOL:
      return e.get_bool().value() ? "true" : "false";
    case T::NULL_VALUE:
      throw InvalidArgument(where, fmt::format("option '{}' is null; leave it out instead", key));
    case T::ARRAY:
    case T::OBJECT:
      return simdjson::minify(e);
  }
  return {};
}

void merge_protocol_object(Config& cfg, const std::string& proto, simdjson::dom::object obj,
                           const std::string& where) {
  Options& opts = cfg.protocols[proto];
  for (auto field : obj) {
    std::string key(field.key);
    opts.set(key, element_to_option(field.value, where, key));
    cfg.origins[proto][key] = where;
  }
}

void apply_file(Config& cfg, const std::filesystem::path& file) {
  const std::string where = file.string();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.load(where).get(doc); err) {
    throw InvalidArgument(where, "malformed config file",
                          ErrorDetails{0, simdjson::error_message(err)});
  }
  simdjson::dom::object root;
  if (doc.get_object().get(root)) {
    throw InvalidArgument(where, "config file must hold a JSON object");
  }
  for (auto field : root) {
    std::string key(field.key);
    if (key == kGatherKey || key == kNofilesKey) {
      std::int64_t v = 0;
      if (field.value.get_int64().get(v)) {
        throw InvalidArgument(where, fmt::format("{} must be an integer", key));
      }
      (key == kGatherKey ? cfg.gather_batch_size : cfg.nofiles_gather_batch_size) =
          checked_batch_size(v, where, key);
      continue;
    }
    simdjson::dom::object obj;
    if (field.value.get_object().get(obj)) {
      throw InvalidArgument(
          where, fmt::format("'{}' must be an object of options for protocol '{}' (the only "
                             "top-level scalars are {} and {})",
                             key, key, kGatherKey, kNofilesKey));
    }
    merge_protocol_object(cfg, lower(key), obj, where);
  }
}

std::map<std::string, std::string> real_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.substr(0, kEnvPrefix.size()) != kEnvPrefix) continue;
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

std::string default_config_dir(const std::map<std::string, std::string>& env) {
  if (auto it = env.find("ASYNCFS_CONFIG_DIR"); it != env.end()) return it->second;
  const char* home = std::getenv("HOME");
  return home ? std::string(home) + "/.config/asyncfs" : std::string();
}

}  // namespace

Config load_config(const std::string& dir, const std::map<std::string, std::string>& env) {
  Config cfg;
  if (!dir.empty()) {
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.path().extension() == ".json") files.push_back(entry.path());
      }
      if (ec) throw InvalidArgument(dir, "cannot read config directory", {0, ec.message()});
      std::sort(files.begin(), files.end());
      for (const auto& f : files) apply_file(cfg, f);
    }
  }

  // Whole-protocol JSON objects first, then single keys, so a single key always wins.
  std::vector<std::pair<std::string, std::string>> single_keys;
  for (const auto& [name, value] : env) {
    if (name.substr(0, kEnvPrefix.size()) != kEnvPrefix) continue;
    const std::string rest = name.substr(kEnvPrefix.size());
    // Variables of the tool and library that are not filesystem options (docs/logging.md).
    if (name == "ASYNCFS_CONFIG_DIR" || name == "ASYNCFS_LOG" || name == "ASYNCFS_CURL_VERBOSE") {
      continue;
    }
    if (name == "ASYNCFS_GATHER_BATCH_SIZE") {
      cfg.gather_batch_size = parse_batch_size_text(value, name, kGatherKey);
      continue;
    }
    if (name == "ASYNCFS_NOFILES_GATHER_BATCH_SIZE") {
      cfg.nofiles_gather_batch_size = parse_batch_size_text(value, name, kNofilesKey);
      continue;
    }
    if (rest.empty() || rest.front() == '_' || rest.back() == '_') {
      throw InvalidArgument(name, "malformed variable name; use ASYNCFS_<PROTOCOL>_<OPTION>");
    }
    auto us = rest.find('_');
    if (us == std::string::npos) {
      simdjson::dom::parser parser;
      simdjson::padded_string json(value);
      simdjson::dom::element doc;
      simdjson::dom::object obj;
      if (auto err = parser.parse(json).get(doc); err) {
        throw InvalidArgument(name, "must hold a JSON object of options",
                              ErrorDetails{0, simdjson::error_message(err)});
      }
      if (doc.get_object().get(obj)) {
        throw InvalidArgument(name, "must hold a JSON object of options");
      }
      merge_protocol_object(cfg, lower(rest), obj, name);
      continue;
    }
    single_keys.emplace_back(name, value);
  }
  for (const auto& [name, value] : single_keys) {
    const std::string rest = name.substr(kEnvPrefix.size());
    auto us = rest.find('_');
    const std::string proto = lower(rest.substr(0, us));
    const std::string key = lower(rest.substr(us + 1));
    cfg.protocols[proto].set(key, value);
    cfg.origins[proto][key] = name;
  }
  return cfg;
}

namespace {

struct ConfigHolder {
  std::mutex mutex;
  std::optional<Config> cfg;
  std::exception_ptr error;
};

ConfigHolder& holder() {
  static ConfigHolder* h = new ConfigHolder();  // leaked: usable during static destruction
  return *h;
}

}  // namespace

const Config& config() {
  ConfigHolder& h = holder();
  std::lock_guard lock(h.mutex);
  if (!h.cfg && !h.error) {
    try {
      auto env = real_environment();
      h.cfg = load_config(default_config_dir(env), env);
    } catch (...) {
      h.error = std::current_exception();
    }
  }
  if (h.error) std::rethrow_exception(h.error);
  // Stable: replaced only by set_config()/reload_config(), which callers must not race with
  // readers of a returned reference (documented in config.hpp).
  return *h.cfg;
}

void set_config(Config cfg) {
  ConfigHolder& h = holder();
  std::lock_guard lock(h.mutex);
  h.cfg = std::move(cfg);
  h.error = nullptr;
}

void reload_config() {
  ConfigHolder& h = holder();
  std::lock_guard lock(h.mutex);
  h.cfg.reset();
  h.error = nullptr;
}

int default_batch_size(bool nofiles) {
  rlimit lim{};
  const bool known = getrlimit(RLIMIT_NOFILE, &lim) == 0;
  if (nofiles) {
    // fsspec's 1280, but each request in flight may hold a socket: never more than three
    // quarters of the descriptors the process may open (1024 → 768), the rest for everything
    // else, so the default never fails with EMFILE.
    if (!known || lim.rlim_cur == RLIM_INFINITY) return 1280;
    return static_cast<int>(std::clamp<rlim_t>(lim.rlim_cur - lim.rlim_cur / 4, 1, 1280));
  }
  if (!known) return 128;
  if (lim.rlim_cur == RLIM_INFINITY) return -1;
  return static_cast<int>(std::max<rlim_t>(1, lim.rlim_cur / 8));
}

int resolve_batch_size(std::optional<int> call, std::optional<int> instance, bool nofiles) {
  auto check = [](int v, const char* where) {
    if (v == 0 || v < -1) {
      throw InvalidArgument(
          "batch_size",
          fmt::format("{} must be a positive number or -1 (unbounded), got {}", where, v));
    }
    return v;
  };
  if (call) return check(*call, "the batch_size argument");
  if (instance) return check(*instance, "the filesystem's batch_size option");
  const Config& cfg = config();
  const auto& from_cfg = nofiles ? cfg.nofiles_gather_batch_size : cfg.gather_batch_size;
  if (from_cfg) return *from_cfg;
  return default_batch_size(nofiles);
}

}  // namespace asyncfs
