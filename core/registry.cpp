#include "asyncfs/registry.hpp"

#include <fmt/format.h>
#include <pthread.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "asyncfs/backends/firecrest_fs.hpp"
#include "asyncfs/backends/http.hpp"
#include "asyncfs/backends/local.hpp"
#include "asyncfs/backends/memory.hpp"
#include "asyncfs/config.hpp"
#include "asyncfs/errors.hpp"
#include "asyncfs/path.hpp"

namespace asyncfs {

namespace {

struct Registry {
  std::shared_mutex* mutex = new std::shared_mutex();
  std::map<std::string, std::shared_ptr<const Implementation>> impls;
  std::mutex* cache_mutex = new std::mutex();
  std::map<std::string, std::shared_ptr<AsyncFileSystem>> cache;
};

void after_fork_in_child();

Registry& registry() {
  // Leaked on purpose: filesystems may be looked up during static destruction.
  static Registry* r = [] {
    pthread_atfork(nullptr, nullptr, after_fork_in_child);
    return new Registry();
  }();
  return *r;
}

void after_fork_in_child() {
  Registry& r = registry();
  // Locks held by other threads at fork time stay held forever in the child: replace them.
  // Cached instances belong to the parent's IO thread; leak them rather than run their
  // destructors against a loop that does not exist here.
  r.mutex = new std::shared_mutex();
  r.cache_mutex = new std::mutex();
  new std::map<std::string, std::shared_ptr<AsyncFileSystem>>(std::move(r.cache));
  r.cache.clear();
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string known_list(const Registry& r) {
  std::string list;
  for (const auto& [name, impl] : r.impls) list += (list.empty() ? "" : ", ") + name;
  return list;
}

}  // namespace

void register_implementation(Implementation impl, bool clobber) {
  if (impl.protocols.empty() || !impl.factory) {
    throw InvalidArgument(impl.name, "an implementation needs protocols and a factory");
  }
  for (auto& p : impl.protocols) p = lower(p);
  Registry& r = registry();
  std::unique_lock lock(*r.mutex);
  for (const auto& p : impl.protocols) {
    auto it = r.impls.find(p);
    if (it != r.impls.end() && it->second->name != impl.name && !clobber) {
      throw AlreadyExists(p, fmt::format("protocol already registered by '{}' (pass clobber to "
                                         "replace it)",
                                         it->second->name));
    }
  }
  auto shared = std::make_shared<const Implementation>(std::move(impl));
  for (const auto& p : shared->protocols) {
    auto it = r.impls.find(p);
    if (it != r.impls.end() && it->second->name == shared->name) continue;  // same: no-op
    r.impls[p] = shared;
  }
}

void register_builtin_implementations() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_implementation({{"memory"},
                             [](const std::string&, Options opts, std::shared_ptr<IoThread> io) {
                               return memory::make_filesystem(
                                   memory::MemoryOptions::from(std::move(opts), io));
                             },
                             "asyncfs.memory"});
    register_implementation({{"file", "local"},
                             [](const std::string&, Options opts, std::shared_ptr<IoThread> io) {
                               return local::make_filesystem(
                                   local::LocalOptions::from(std::move(opts), io));
                             },
                             "asyncfs.local"});
    register_implementation({{"http", "https"},
                             [](const std::string&, Options opts, std::shared_ptr<IoThread> io) {
                               return http::make_filesystem(
                                   http::HttpOptions::from(std::move(opts), io));
                             },
                             "asyncfs.http"});
    register_implementation({{"firecrest"},
                             [](const std::string&, Options opts, std::shared_ptr<IoThread> io) {
                               return std::static_pointer_cast<AsyncFileSystem>(
                                   firecrest::make_filesystem(
                                       firecrest::FirecrestFsOptions::from(std::move(opts), io)));
                             },
                             "asyncfs.firecrest"});
  });
}

std::vector<std::string> available_protocols() {
  register_builtin_implementations();
  Registry& r = registry();
  std::shared_lock lock(*r.mutex);
  std::vector<std::string> out;
  for (const auto& [name, impl] : r.impls) out.push_back(name);
  return out;
}

std::shared_ptr<AsyncFileSystem> filesystem(std::string_view protocol_in, Options options,
                                            std::shared_ptr<IoThread> io) {
  register_builtin_implementations();
  const std::string protocol = lower(protocol_in.empty() ? "file" : protocol_in);
  Registry& r = registry();
  std::shared_ptr<const Implementation> impl;
  {
    std::shared_lock lock(*r.mutex);
    auto it = r.impls.find(protocol);
    if (it == r.impls.end()) {
      throw InvalidArgument(std::string(protocol_in),
                            fmt::format("unknown protocol (known: {})", known_list(r)));
    }
    impl = it->second;
  }
  // Config defaults: the canonical protocol's, then the alias's; explicit options win.
  const Config& cfg = config();
  Options defaults;
  // Where a config-supplied option came from, for an error about it (the explicit options
  // are the caller's own and need no tracing).
  std::map<std::string, std::string> origin_of;
  for (const std::string& p : {impl->protocols.front(), protocol}) {
    if (auto it = cfg.protocols.find(p); it != cfg.protocols.end()) {
      defaults = it->second.merged_over(defaults);
    }
    if (auto it = cfg.origins.find(p); it != cfg.origins.end()) {
      for (const auto& [k, where] : it->second) {
        if (!options.get(k)) origin_of[k] = where;
      }
    }
  }
  options = options.merged_over(defaults);
  const bool skip_cache = options.get_bool("skip_instance_cache").value_or(false);
  options.take("skip_instance_cache");
  if (!io) io = default_io_thread();

  // A backend names a refused option by its key; an option from the configuration is
  // reported against the file or variable that set it, which is where it must be fixed.
  const auto build = [&](Options opts) {
    try {
      return impl->factory(protocol, std::move(opts), io);
    } catch (const InvalidArgument& e) {
      auto it = origin_of.find(e.path());
      if (it == origin_of.end()) throw;
      throw InvalidArgument(it->second,
                            fmt::format("option '{}' of '{}': {}", e.path(), protocol, e.message()),
                            ErrorDetails{0, e.cause()});
    }
  };
  if (skip_cache) return build(std::move(options));

  const std::string key =
      fmt::format("{}\n{}\n{}", protocol, options.token(), static_cast<const void*>(io.get()));
  {
    std::lock_guard lock(*r.cache_mutex);
    auto it = r.cache.find(key);
    if (it != r.cache.end() && it->second->io().running()) return it->second;
  }
  // Built outside the lock: a factory may be slow. Two racing callers may both build; the
  // first stored wins so everyone shares one instance afterwards.
  auto fs = build(options);
  std::lock_guard lock(*r.cache_mutex);
  auto [it, inserted] = r.cache.try_emplace(key, fs);
  if (!inserted && !it->second->io().running()) it->second = fs;
  return it->second;
}

std::pair<std::string, std::string> split_protocol(std::string_view url) {
  auto sep = url.find("://");
  auto chain = url.find("::");
  if (chain != std::string_view::npos && (sep == std::string_view::npos || chain < sep)) {
    throw InvalidArgument(path::escape_for_message(url),
                          "chained URLs (a::b://...) are not supported yet");
  }
  if (sep == std::string_view::npos) return {"", std::string(url)};
  std::string_view scheme = url.substr(0, sep);
  bool ok = scheme.size() > 1 && std::isalpha(static_cast<unsigned char>(scheme[0]));
  for (char c : scheme) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.');
  }
  if (!ok) {
    throw InvalidArgument(path::escape_for_message(url),
                          "malformed URL: the scheme before '://' must be letters, digits, "
                          "'+', '-' or '.', starting with a letter");
  }
  return {lower(scheme), std::string(url)};
}

FsAndPath url_to_fs(std::string_view url, Options options, std::shared_ptr<IoThread> io) {
  if (url.empty()) throw InvalidArgument("", "empty URL");
  auto [protocol, rest] = split_protocol(url);
  auto fs = filesystem(protocol.empty() ? "file" : protocol, std::move(options), std::move(io));
  std::string stripped = fs->strip_protocol(url);
  return {std::move(fs), std::move(stripped)};
}

File open(std::string_view url, std::string mode, Options options) {
  auto [fs, p] = url_to_fs(url, std::move(options));
  return fs->open(std::move(p), std::move(mode));
}

void clear_instance_cache() {
  Registry& r = registry();
  std::map<std::string, std::shared_ptr<AsyncFileSystem>> drop;
  {
    std::lock_guard lock(*r.cache_mutex);
    drop.swap(r.cache);
  }
}

}  // namespace asyncfs
