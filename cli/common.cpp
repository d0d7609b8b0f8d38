#include "common.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>

#include "asyncfs/config.hpp"
#include "asyncfs/errors.hpp"
#include "asyncfs/path.hpp"
#include "asyncfs/registry.hpp"
#include "signals.hpp"

namespace asyncfs::cli {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Writes everything, retrying short writes; stderr is unbuffered so this is the whole cost.
void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n <= 0) return;  // nothing sensible left to do with a broken stderr
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Config errors name the file or ASYNCFS_* variable as their path (core/config.cpp, and the
// registry for an option a backend refuses).
std::string config_error_line(const Error& e) {
  const bool variable = e.path().starts_with("ASYNCFS_");
  std::string line = fmt::format("{} {}: {}", variable ? "environment variable" : "config file",
                                 e.path(), e.message());
  if (!e.cause().empty()) line += ": " + e.cause();
  line += variable ? "; fix or unset the variable" : "; fix the file or remove it";
  return one_line(line);
}

// True when `e` is about a configuration source rather than the URL.
bool is_config_error(const Error& e) {
  if (e.path().starts_with("ASYNCFS_")) return true;
  try {
    for (const auto& [proto, keys] : config().origins) {
      for (const auto& [key, where] : keys) {
        if (where == e.path()) return true;
      }
    }
  } catch (const Error&) {
    return true;  // a config that does not even load (check_config() reports it first)
  }
  return false;
}

}  // namespace

void check_config() {
  try {
    (void)config();
  } catch (const Error& e) {
    throw UsageError(config_error_line(e));
  }
}

Target resolve(const std::string& url, bool keep_trailing_slash) {
  FsAndPath fp;
  try {
    fp = url_to_fs(url);
  } catch (const Error& e) {
    // An unknown protocol or a malformed URL is a mistake in the command line, found before
    // any work starts, so it is a usage error (exit 2) rather than a failed operation.
    if (e.kind() == ErrorKind::kInvalidArgument && is_config_error(e)) {
      throw UsageError(config_error_line(e));
    }
    if (e.kind() == ErrorKind::kInvalidArgument) {
      throw UsageError(fmt::format("{}: {}", one_line(url), one_line(e.message())));
    }
    throw;
  }
  Target t{url, std::move(fp.fs), std::move(fp.path)};
  if (keep_trailing_slash && url.size() > 1 && url.back() == '/' && !t.path.empty() &&
      t.path.back() != '/') {
    t.path += '/';
  }
  return t;
}

bool is_local(const AsyncFileSystem& fs) { return fs.capabilities().local; }

std::string display_name(const AsyncFileSystem& fs, const std::string& name) {
  if (is_local(fs)) return name;
  return fs.unstrip_protocol(name);
}

std::string local_path(const std::string& arg, std::string_view role) {
  const std::size_t sep = arg.find("://");
  if (sep == std::string::npos) return arg;
  const std::string_view proto = std::string_view(arg).substr(0, sep);
  if (proto == "file" || proto == "local") return arg.substr(sep + 3);
  throw UsageError(fmt::format("{}: the {} must be a local path (use cp within one filesystem)",
                               one_line(arg), role));
}

bool has_glob(const AsyncFileSystem& fs, std::string_view p) { return fs.has_magic(p); }

std::string one_line(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out;
}

std::string describe_error(std::string_view url, std::string_view stripped,
                           const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    const std::string& p = e.path();
    if (e.http_status() != 0) {
      // Status and reason, never the server's error page (it stays on Error::body()).
      std::string line = one_line(url);
      const bool same_path =
          p.empty() || p == url || p == stripped || p == path::strip_trailing_slash(stripped);
      if (!same_path) line += ": " + one_line(p);
      line += fmt::format(": {} {}", e.http_status(), http_reason(e.http_status()));
      if (!e.cause().empty()) line += ": " + one_line(e.cause());
      return line;
    }
    std::string_view what = e.what();
    if (!p.empty()) {
      std::string_view bare = path::strip_trailing_slash(stripped);
      const bool same = p == url || p == stripped || p == bare;
      const std::string head = p + ": ";
      if (same && starts_with(what, head)) what.remove_prefix(head.size());
    }
    return fmt::format("{}: {}", one_line(url), one_line(what));
  } catch (const std::exception& e) {
    return fmt::format("{}: {}", one_line(url), one_line(e.what()));
  } catch (...) {
    return fmt::format("{}: unknown error", one_line(url));
  }
}

Console& Console::instance() {
  static Console console;
  return console;
}

void Console::error(std::string_view line) {
  std::lock_guard lock(mutex_);
  std::string text;
  if (status_shown_) text += "\r\x1b[K";
  status_shown_ = false;
  text += "asyncfs: ";
  text += line;
  text += '\n';
  write_all(STDERR_FILENO, text);
}

void Console::status(std::string_view text) { draw_status(text, /*final=*/false); }

void Console::finish_status(std::string_view text) { draw_status(text, /*final=*/true); }

void Console::draw_status(std::string_view text, bool final) {
  std::lock_guard lock(mutex_);
  std::string out = "\r";
  out += text;
  out += final ? "\x1b[K\n" : "\x1b[K";
  write_all(STDERR_FILENO, out);
  status_shown_ = !final;
}

namespace {

/// Failures held back per host (report_error), under their own lock: bulk commands report
/// from several threads.
struct Suppressed {
  std::mutex mutex;
  std::map<std::string, std::uint64_t> by_host;
};

Suppressed& suppressed() {
  static Suppressed s;
  return s;
}

/// "scheme://host:port" of a circuit-open failure, or "" for any other error.
std::string circuit_open_host(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const NetworkError& n) {
    if (!n.message().starts_with(kCircuitOpenMessage)) return {};
    const std::string_view url = n.path();
    const std::size_t scheme = url.find("://");
    if (scheme == std::string_view::npos) return std::string(url);
    return std::string(url.substr(0, url.find_first_of("/?#", scheme + 3)));
  } catch (...) {
  }
  return {};
}

}  // namespace

void report_error(std::string_view url, std::string_view stripped, const std::exception_ptr& e) {
  note_failure(exit_code_for(e));
  // After Ctrl-C every operation still running fails as cancelled: that is no news.
  if (received_signal() != 0) return;
  const std::string host = circuit_open_host(e);
  if (!host.empty()) {
    Suppressed& s = suppressed();
    std::lock_guard lock(s.mutex);
    if (s.by_host[host]++ > 0) return;  // the first is shown; report_suppressed() counts on
  }
  Console::instance().error(describe_error(url, stripped, e));
}

void report_suppressed() {
  Suppressed& s = suppressed();
  std::lock_guard lock(s.mutex);
  for (const auto& [host, n] : s.by_host) {
    if (n > 1) {
      Console::instance().error(
          fmt::format("{}: {} more files failed, not tried: the host refused connections",
                      one_line(host), n - 1));
    }
  }
  s.by_host.clear();
}

std::pair<std::vector<std::string>, std::string> split_destination(
    const std::vector<std::string>& paths, std::string_view command) {
  if (paths.size() < 2) {
    throw UsageError(fmt::format("{} needs at least one source and a destination", command));
  }
  std::vector<std::string> sources(paths.begin(), paths.end() - 1);
  return {std::move(sources), paths.back()};
}

}  // namespace asyncfs::cli
