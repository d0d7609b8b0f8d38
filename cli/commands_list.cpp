// Read-only metadata commands: ls, info, find, du, glob.

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "asyncfs/filesystem.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "json_out.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace asyncfs::cli {

namespace {

std::vector<Target> resolve_all(const std::vector<std::string>& urls) {
  std::vector<Target> targets;
  targets.reserve(urls.size());
  for (const auto& u : urls) targets.push_back(resolve(u));
  return targets;
}

std::string mode_string(const FileInfo& info) {
  char type = info.is_dir() ? 'd' : info.is_file() ? '-' : '?';
  if (info.link_target) type = 'l';
  if (!info.mode) return std::string(1, type);
  const std::uint32_t m = *info.mode;
  if (S_ISLNK(m)) type = 'l';
  std::string s(1, type);
  static constexpr char kRwx[] = "rwx";
  for (int i = 8; i >= 0; --i) s += (m & (1u << i)) ? kRwx[(8 - i) % 3] : '-';
  return s;
}

std::string mtime_string(const FileInfo& info) {
  if (!info.mtime || !std::isfinite(*info.mtime)) return "-";
  const auto t = static_cast<std::time_t>(*info.mtime);
  std::tm tm{};
  if (!::localtime_r(&t, &tm)) return "-";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

// GNU ls -lh / du -h: powers of 1024, one decimal below 10 and none above, rounded up so a
// size is never shown smaller than it is (1536 -> 1.5K, 23 MiB -> 23M, 4 GiB -> 4.0G).
std::string human_short(std::uint64_t n) {
  static constexpr const char* kUnits = "KMGTPE";
  if (n < 1024) return fmt::format("{}", n);
  double v = static_cast<double>(n);
  int unit = -1;
  while (v >= 1024 && unit < 5) {
    v /= 1024;
    ++unit;
  }
  if (v < 10) {
    const double tenths = std::ceil(v * 10) / 10;
    if (tenths < 10) return fmt::format("{:.1f}{}", tenths, kUnits[unit]);
    v = 10;
  }
  const double whole = std::ceil(v);
  if (whole >= 1024 && unit < 5) return fmt::format("1.0{}", kUnits[unit + 1]);
  return fmt::format("{:.0f}{}", whole, kUnits[unit]);
}

std::string size_text(const FileInfo& info, bool human) {
  if (!info.size) return "-";
  return human ? human_short(*info.size) : fmt::format("{}", *info.size);
}

// `ls -l`: mode, size, modification time, name (-> link target), columns aligned.
std::string long_listing(const AsyncFileSystem& fs, const std::vector<FileInfo>& infos,
                         bool human) {
  std::vector<std::array<std::string, 3>> cols;
  std::size_t w_mode = 0, w_size = 0;
  for (const auto& info : infos) {
    std::array<std::string, 3> c{mode_string(info), size_text(info, human), mtime_string(info)};
    w_mode = std::max(w_mode, c[0].size());
    w_size = std::max(w_size, c[1].size());
    cols.push_back(std::move(c));
  }
  std::string out;
  for (std::size_t i = 0; i < infos.size(); ++i) {
    out += fmt::format("{:<{}}  {:>{}}  {:<16}  {}", cols[i][0], w_mode, cols[i][1], w_size,
                       cols[i][2], display_name(fs, infos[i].name));
    if (infos[i].link_target) out += " -> " + *infos[i].link_target;
    out += '\n';
  }
  return out;
}

std::string info_text(const AsyncFileSystem& fs, const FileInfo& info) {
  std::string out = fmt::format("name: {}\n", display_name(fs, info.name));
  out += fmt::format("size: {}\n", info.size ? fmt::format("{}", *info.size) : "unknown");
  out += fmt::format("type: {}\n", file_type_name(info.type));
  if (info.mtime) out += fmt::format("mtime: {} ({})\n", *info.mtime, mtime_string(info));
  if (info.mode) out += fmt::format("mode: {:o}\n", *info.mode);
  if (info.link_target) out += fmt::format("link_target: {}\n", *info.link_target);
  if (info.etag) out += fmt::format("etag: {}\n", *info.etag);
  for (const auto& [k, v] : info.extra) out += fmt::format("{}: {}\n", k, v);
  return out;
}

std::string json_array(const AsyncFileSystem& fs, const std::map<std::string, FileInfo>& items) {
  std::string out = "[";
  bool first = true;
  for (const auto& [name, info] : items) {
    if (!first) out += ',';
    first = false;
    out += info_to_json(info, display_name(fs, name));
  }
  return out + "]\n";
}

}  // namespace

int run_ls(const LsArgs& args, const GlobalArgs&) {
  const auto targets = resolve_all(args.urls);
  int rc = kExitOk;
  std::string json = "[";
  bool first_json = true;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const auto& t = targets[i];
    std::vector<FileInfo> infos;
    try {
      infos = t.fs->ls(t.path);
    } catch (...) {
      report_error(t.url, t.path, std::current_exception());
      rc = kExitFailed;
      continue;
    }
    std::sort(infos.begin(), infos.end(),
              [](const FileInfo& a, const FileInfo& b) { return a.name < b.name; });
    if (args.json) {
      for (const auto& info : infos) {
        if (!first_json) json += ',';
        first_json = false;
        json += info_to_json(info, display_name(*t.fs, info.name));
      }
      continue;
    }
    std::string out;
    // Several URLs get a header each, like ls(1) with several directories.
    if (targets.size() > 1) out += fmt::format("{}{}:\n", i > 0 ? "\n" : "", t.url);
    if (args.long_format) {
      out += long_listing(*t.fs, infos, args.human);
    } else {
      for (const auto& info : infos) out += display_name(*t.fs, info.name) + '\n';
    }
    write_stdout(out);
  }
  if (args.json) write_stdout(json + "]\n");
  return rc;
}

int run_info(const InfoArgs& args, const GlobalArgs&) {
  const auto targets = resolve_all(args.urls);
  int rc = kExitOk;
  bool first = true;
  for (const auto& t : targets) {
    try {
      const FileInfo info = t.fs->info(t.path);
      // --json: one object per line, so a single URL prints exactly one object.
      if (args.json) {
        write_stdout(info_to_json(info, display_name(*t.fs, info.name)) + '\n');
      } else {
        write_stdout((first ? "" : "\n") + info_text(*t.fs, info));
      }
      first = false;
    } catch (...) {
      report_error(t.url, t.path, std::current_exception());
      rc = kExitFailed;
    }
  }
  return rc;
}

int run_find(const FindArgs& args, const GlobalArgs&) {
  const auto targets = resolve_all(args.urls);
  int rc = kExitOk;
  for (const auto& t : targets) {
    try {
      FindOptions opts;
      opts.maxdepth = args.maxdepth;
      opts.withdirs = args.withdirs;
      const auto found = t.fs->find(t.path, opts);
      if (args.json) {
        write_stdout(json_array(*t.fs, found));
      } else {
        std::string out;
        for (const auto& [name, info] : found) out += display_name(*t.fs, name) + '\n';
        write_stdout(out);
      }
    } catch (...) {
      report_error(t.url, t.path, std::current_exception());
      rc = kExitFailed;
    }
  }
  return rc;
}

int run_du(const DuArgs& args, const GlobalArgs&) {
  const auto targets = resolve_all(args.urls);
  int rc = kExitOk;
  const auto fmt_size = [&](std::uint64_t n) {
    return args.human ? human_short(n) : fmt::format("{}", n);
  };
  for (const auto& t : targets) {
    try {
      DuOptions opts;
      opts.maxdepth = args.maxdepth;
      const auto sizes = t.fs->du(t.path, opts);
      std::uint64_t total = 0;
      std::string out;
      for (const auto& [name, size] : sizes) {
        total += size;
        if (args.all) out += fmt::format("{}\t{}\n", fmt_size(size), display_name(*t.fs, name));
      }
      out += fmt::format("{}\t{}\n", fmt_size(total), t.url);
      write_stdout(out);
    } catch (...) {
      report_error(t.url, t.path, std::current_exception());
      rc = kExitFailed;
    }
  }
  return rc;
}

int run_glob(const GlobArgs& args, const GlobalArgs&) {
  const auto targets = resolve_all(args.patterns);
  int rc = kExitOk;
  for (const auto& t : targets) {
    try {
      GlobOptions opts;
      opts.maxdepth = args.maxdepth;
      const auto matches = t.fs->glob(t.path, opts);
      // No match is a failure (like a shell glob), so scripts notice a mistyped pattern.
      if (matches.empty()) throw NotFound(t.path, "no match");
      if (args.json) {
        write_stdout(json_array(*t.fs, matches));
      } else {
        std::string out;
        for (const auto& [name, info] : matches) out += display_name(*t.fs, name) + '\n';
        write_stdout(out);
      }
    } catch (...) {
      report_error(t.url, t.path, std::current_exception());
      rc = kExitFailed;
    }
  }
  return rc;
}

}  // namespace asyncfs::cli
