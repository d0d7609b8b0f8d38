// cat: many URLs fetched concurrently, written to stdout in argument order, to files under a
// directory (-o), or counted and dropped (--discard).
//
// Threads: each filesystem's fetch runs through run_sync() on a worker thread; the sink it
// feeds runs on the IO thread and only counts or queues; the main thread writes output and
// errors. The IO thread never does blocking output.

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "asyncfs/config.hpp"
#include "asyncfs/filesystem.hpp"
#include "asyncfs/gather.hpp"
#include "asyncfs/path.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace asyncfs::cli {

namespace {

enum class Sink { kStdout, kDirectory, kDiscard };

/// One file to fetch (duplicates of the same file share one fetch).
struct Unique {
  std::shared_ptr<AsyncFileSystem> fs;
  std::string path;
  std::string url;       ///< for error lines: the argument, or the URL of a glob match
  std::string rel;       ///< -o: path below the output directory
  std::size_t uses = 0;  ///< how many output positions print it (stdout mode)
};

struct Delivery {
  std::size_t unique = 0;
  Outcome<Bytes> outcome;
  bool worker_done = false;  ///< marks the end of one worker instead of a result
};

/// Results handed from the IO thread to the main thread.
class DeliveryQueue {
 public:
  void push(Delivery d) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(std::move(d));
    }
    cv_.notify_one();
  }
  Delivery pop() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !items_.empty(); });
    Delivery d = std::move(items_.front());
    items_.pop_front();
    return d;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Delivery> items_;
};

std::vector<std::string> read_list(const std::string& file) {
  std::vector<std::string> urls;
  std::ifstream in_file;
  std::istream* in = &std::cin;
  if (file != "-") {
    in_file.open(file);
    if (!in_file) {
      throw UsageError(fmt::format("--from-list {}: {}", one_line(file), std::strerror(errno)));
    }
    in = &in_file;
  }
  std::string line;
  while (std::getline(*in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    urls.push_back(line);
  }
  return urls;
}

std::vector<std::string> components(std::string_view p) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= p.size()) {
    const std::size_t slash = p.find('/', pos);
    const std::size_t end = slash == std::string_view::npos ? p.size() : slash;
    if (end > pos) out.emplace_back(p.substr(pos, end - pos));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return out;
}

// -o DIR naming: each file keeps its path relative to the deepest directory common to all
// files of its protocol, so files with the same basename in different directories do not
// overwrite each other. With several protocols each gets a DIR/<protocol>/ subtree. "." and
// ".." components become "_." and "_.." so nothing is written outside DIR.
void assign_relative_names(std::vector<Unique>& uniques) {
  std::map<std::string, std::vector<std::size_t>> by_protocol;
  for (std::size_t i = 0; i < uniques.size(); ++i) {
    by_protocol[uniques[i].fs->protocol()].push_back(i);
  }
  const bool several = by_protocol.size() > 1;
  for (const auto& [protocol, members] : by_protocol) {
    std::vector<std::vector<std::string>> comps;
    std::optional<std::vector<std::string>> common;
    for (const std::size_t i : members) {
      comps.push_back(components(uniques[i].path));
      std::vector<std::string> parent = comps.back();
      if (!parent.empty()) parent.pop_back();
      if (!common) {
        common = parent;
      } else {
        std::size_t n = 0;
        while (n < common->size() && n < parent.size() && (*common)[n] == parent[n]) ++n;
        common->resize(n);
      }
    }
    for (std::size_t k = 0; k < members.size(); ++k) {
      std::string rel = several ? protocol : "";
      for (std::size_t c = common->size(); c < comps[k].size(); ++c) {
        std::string part = comps[k][c];
        if (part == "." || part == "..") part = "_" + part;
        if (!rel.empty()) rel += '/';
        rel += part;
      }
      if (rel.empty() || rel == protocol) rel = path::join(rel, "_");  // the root itself
      uniques[members[k]].rel = rel;
    }
  }
}

bool write_file(const std::filesystem::path& target, const Bytes& data, std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(target.parent_path(), ec);
  if (ec) {
    error = fmt::format("cannot create {}: {}", target.parent_path().string(), ec.message());
    return false;
  }
  const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    error = fmt::format("cannot open {}: {}", target.string(), std::strerror(errno));
    return false;
  }
  std::string_view rest = data;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = fmt::format("cannot write {}: {}", target.string(), std::strerror(errno));
      ::close(fd);
      return false;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::close(fd) != 0) {
    error = fmt::format("cannot write {}: {}", target.string(), std::strerror(errno));
    return false;
  }
  return true;
}

// Byte ranges are not part of _cat_each, so ranged reads use the library's sliding window
// directly over _cat_file: the same bounded memory, one sink call per finished file.
Task<void> cat_ranges_each(std::shared_ptr<AsyncFileSystem> fs, std::vector<std::string> paths,
                           std::optional<std::int64_t> start, std::optional<std::int64_t> end,
                           UniqueFunction<void(std::size_t, Outcome<Bytes>&&)> sink, int window) {
  GatherOptions opts;
  opts.batch_size = window;
  // Named locals, not temporaries in the co_await expression: g++ 12 mishandles the lifetime
  // of temporaries there (destroying them twice).
  auto make = [&](std::size_t i) { return fs->_cat_file(paths[i], start, end); };
  auto each = [&](std::size_t i, Outcome<Bytes>&& o) { sink(i, std::move(o)); };
  auto task = gather_each<Bytes>(paths.size(), std::move(make), std::move(each), opts);
  co_await std::move(task);
}

/// Adds what a transfer reports to the bar's byte count (a restart from 0 adds nothing).
class ByteTicker : public Callback {
 public:
  explicit ByteTicker(Progress& progress) : progress_(progress) {}

 private:
  void on_change() override {
    if (value() > counted_) progress_.add_bytes(value() - counted_);
    counted_ = std::max(counted_, value());
  }
  Progress& progress_;
  std::uint64_t counted_ = 0;
};

// --discard and -o: each file streamed (counted, or written through a temporary file that is
// renamed into place), so memory holds buffers, never bodies, whatever the files' sizes.
Task<void> stream_each(std::shared_ptr<AsyncFileSystem> fs, std::vector<std::string> paths,
                       std::vector<std::string> targets, Progress& progress,
                       UniqueFunction<void(std::size_t, Outcome<std::uint64_t>&&)> sink,
                       int window) {
  GatherOptions opts;
  opts.batch_size = window;
  auto fetch = [](std::shared_ptr<AsyncFileSystem> fs, std::string path, std::string target,
                  Progress* progress) -> Task<std::uint64_t> {
    // Arguments in named locals, awaited through a named task (g++ 12, see cat_ranges_each).
    if (target.empty()) {
      UniqueFunction<void(std::string_view)> count = [progress](std::string_view data) {
        progress->add_bytes(data.size());
      };
      Task<std::uint64_t> streaming = fs->_stream_file(std::move(path), std::move(count));
      const std::uint64_t n = co_await std::move(streaming);
      co_return n;
    }
    ByteTicker ticker(*progress);
    Task<void> getting = fs->_get_file(std::move(path), std::move(target), &ticker);
    co_await std::move(getting);
    co_return ticker.value();
  };
  // Named locals, not temporaries in the co_await expression (g++ 12, see cat_ranges_each).
  auto make = [&](std::size_t i) {
    return fetch(fs, paths[i], targets.empty() ? std::string() : targets[i], &progress);
  };
  auto each = [&](std::size_t i, Outcome<std::uint64_t>&& o) { sink(i, std::move(o)); };
  auto task = gather_each<std::uint64_t>(paths.size(), std::move(make), std::move(each), opts);
  co_await std::move(task);
}

class CatRun {
 public:
  CatRun(const CatArgs& args, Sink mode, std::vector<Unique> uniques,
         std::vector<std::size_t> order, Progress& progress)
      : args_(args),
        mode_(mode),
        uniques_(std::move(uniques)),
        order_(std::move(order)),
        progress_(progress),
        results_(uniques_.size()),
        ready_(uniques_.size(), 0) {}

  /// Fetches everything; returns the number of failed files.
  std::size_t run() {
    // Stdout keeps argument order, so finished files may have to wait for earlier ones; the
    // work goes in chunks of one window so that waiting buffer stays bounded.
    std::size_t chunk = uniques_.size();
    if (mode_ == Sink::kStdout) {
      bool nofiles = true;
      for (const auto& u : uniques_) nofiles = nofiles && !is_local(*u.fs);
      const int w = resolve_batch_size(args_.batch_size, std::nullopt, nofiles);
      if (w > 0) chunk = static_cast<std::size_t>(w);
    }
    for (std::size_t begin = 0; begin < uniques_.size(); begin += chunk) {
      run_chunk(begin, std::min(uniques_.size(), begin + chunk));
    }
    return failed_;
  }

  std::uint64_t files_ok() const { return files_ok_.load(); }
  std::uint64_t bytes() const { return bytes_.load(); }
  bool stdout_broken() const { return stdout_broken_; }

 private:
  void run_chunk(std::size_t begin, std::size_t end) {
    // One worker per filesystem: different protocols are fetched at the same time.
    std::map<AsyncFileSystem*, std::vector<std::size_t>> groups;
    for (std::size_t u = begin; u < end; ++u) groups[uniques_[u].fs.get()].push_back(u);
    std::vector<std::thread> workers;
    for (auto& [fs, members] : groups) {
      workers.emplace_back([this, m = members] { fetch_group(m); });
    }
    std::size_t running = workers.size();
    while (running > 0) {
      Delivery d = queue_.pop();
      if (d.worker_done) {
        --running;
        continue;
      }
      handle(d.unique, std::move(d.outcome));
    }
    for (auto& w : workers) w.join();
  }

  // Runs on the IO thread: cheap work only, anything blocking is queued for the main thread.
  void deliver(std::size_t u, Outcome<Bytes>&& o) {
    progress_.add_done(1);
    if (o.has_value()) progress_.add_bytes(o.value().size());
    if (mode_ == Sink::kDiscard && o.has_value()) {
      files_ok_.fetch_add(1, std::memory_order_relaxed);
      bytes_.fetch_add(o.value().size(), std::memory_order_relaxed);
      return;  // nothing kept, nothing for the main thread to do
    }
    queue_.push(Delivery{u, std::move(o), false});
  }

  // IO thread: a streamed file is counted (or already on disk); only failures are queued.
  void delivered_streamed(std::size_t u, Outcome<std::uint64_t>&& o) {
    progress_.add_done(1);
    if (o.has_value()) {
      files_ok_.fetch_add(1, std::memory_order_relaxed);
      bytes_.fetch_add(o.value(), std::memory_order_relaxed);
      return;
    }
    queue_.push(Delivery{u, Outcome<Bytes>(o.error()), false});
  }

  // Worker thread: one blocking run over all files of one filesystem in the chunk.
  void fetch_group(std::vector<std::size_t> members) {
    const auto fs = uniques_[members.front()].fs;
    auto delivered = std::make_shared<std::vector<char>>(members.size(), 0);
    try {
      const int window = resolve_batch_size(args_.batch_size, fs->batch_size(), !is_local(*fs));
      std::vector<std::string> paths;
      paths.reserve(members.size());
      for (const std::size_t u : members) paths.push_back(uniques_[u].path);
      if (!args_.start && !args_.end && mode_ != Sink::kStdout) {
        std::vector<std::string> targets;
        if (mode_ == Sink::kDirectory) {
          for (const std::size_t u : members) {
            targets.push_back((std::filesystem::path(args_.output_dir) / uniques_[u].rel).string());
          }
        }
        auto sink = [this, members, delivered](std::size_t i, Outcome<std::uint64_t>&& o) {
          (*delivered)[i] = 1;
          delivered_streamed(members[i], std::move(o));
        };
        fs->run_sync(stream_each(fs, std::move(paths), std::move(targets), progress_,
                                 std::move(sink), window));
      } else if (args_.start || args_.end) {
        auto sink = [this, members, delivered](std::size_t i, Outcome<Bytes>&& o) {
          (*delivered)[i] = 1;
          deliver(members[i], std::move(o));
        };
        fs->run_sync(
            cat_ranges_each(fs, std::move(paths), args_.start, args_.end, std::move(sink), window));
      } else {
        std::map<std::string, std::size_t> index;
        for (std::size_t i = 0; i < members.size(); ++i) index.emplace(paths[i], i);
        auto sink = [this, fs, members, delivered, index = std::move(index)](const std::string& p,
                                                                             Outcome<Bytes>&& o) {
          auto it = index.find(p);
          if (it == index.end()) it = index.find(fs->strip_protocol(p));
          if (it == index.end() || (*delivered)[it->second]) return;  // not one we asked for
          (*delivered)[it->second] = 1;
          deliver(members[it->second], std::move(o));
        };
        CatOptions opts;
        opts.on_error = OnError::kReturn;
        opts.batch_size = window;
        fs->run_sync(fs->_cat_each(Paths(std::move(paths)), std::move(sink), opts));
      }
    } catch (...) {
      // A failure of the whole call (e.g. a bad window) fails every file it did not deliver.
      const auto error = std::current_exception();
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (!(*delivered)[i]) queue_.push(Delivery{members[i], Outcome<Bytes>(error), false});
      }
    }
    // Anything the filesystem silently skipped is an error too, so no file goes unreported.
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (!(*delivered)[i]) {
        const auto& u = uniques_[members[i]];
        queue_.push(Delivery{members[i],
                             Outcome<Bytes>(std::make_exception_ptr(
                                 Error(ErrorKind::kProtocol, u.path, "no result returned"))),
                             false});
        (*delivered)[i] = 1;
      }
    }
    queue_.push(Delivery{0, {}, true});
  }

  void handle(std::size_t u, Outcome<Bytes>&& o) {
    const Unique& item = uniques_[u];
    if (o.has_error()) {
      report_error(item.url, item.path, o.error());
      ++failed_;
      results_[u].reset();
      ready_[u] = 1;
      if (mode_ == Sink::kStdout) flush_in_order();
      return;
    }
    switch (mode_) {
      case Sink::kDiscard:
        return;
      case Sink::kDirectory: {
        std::string error;
        if (!write_file(std::filesystem::path(args_.output_dir) / item.rel, o.value(), error)) {
          Console::instance().error(fmt::format("{}: {}", one_line(item.url), one_line(error)));
          ++failed_;
        } else {
          files_ok_.fetch_add(1);
        }
        return;
      }
      case Sink::kStdout:
        files_ok_.fetch_add(1);
        results_[u] = std::move(o).value();
        ready_[u] = 1;
        flush_in_order();
        return;
    }
  }

  // Writes every output position whose file is ready, in order, and frees each file's bytes
  // after its last use.
  void flush_in_order() {
    while (next_ < order_.size() && ready_[order_[next_]]) {
      const std::size_t u = order_[next_++];
      if (results_[u] && !stdout_broken_ && !write_stdout(*results_[u])) stdout_broken_ = true;
      if (--uniques_[u].uses == 0) results_[u].reset();
    }
  }

  const CatArgs& args_;
  Sink mode_;
  std::vector<Unique> uniques_;
  std::vector<std::size_t> order_;  ///< output positions → unique index (stdout mode)
  Progress& progress_;
  DeliveryQueue queue_;
  std::vector<std::optional<Bytes>> results_;
  std::vector<char> ready_;
  std::size_t next_ = 0;
  std::size_t failed_ = 0;
  bool stdout_broken_ = false;
  std::atomic<std::uint64_t> files_ok_{0};
  std::atomic<std::uint64_t> bytes_{0};
};

}  // namespace

int run_cat(const CatArgs& args, const GlobalArgs& global) {
  std::vector<std::string> urls = args.urls;
  if (!args.from_list.empty()) {
    auto more = read_list(args.from_list);
    urls.insert(urls.end(), more.begin(), more.end());
  }
  if (urls.empty()) throw UsageError("cat needs at least one URL (or --from-list FILE)");
  if (args.batch_size && (*args.batch_size == 0 || *args.batch_size < -1)) {
    throw UsageError("--batch-size must be -1 (unbounded) or at least 1");
  }
  const Sink mode = args.discard               ? Sink::kDiscard
                    : !args.output_dir.empty() ? Sink::kDirectory
                                               : Sink::kStdout;

  // Resolve everything first: an unknown protocol anywhere is a usage error before any work.
  std::vector<Target> targets;
  targets.reserve(urls.size());
  for (const auto& u : urls) targets.push_back(resolve(u));

  int rc = kExitOk;
  std::vector<Unique> uniques;
  std::vector<std::size_t> order;
  std::map<std::pair<AsyncFileSystem*, std::string>, std::size_t> seen;
  const auto add = [&](const std::shared_ptr<AsyncFileSystem>& fs, std::string p, std::string url) {
    auto [it, fresh] = seen.try_emplace({fs.get(), p}, uniques.size());
    if (fresh) uniques.push_back(Unique{fs, std::move(p), std::move(url), {}, 0});
    ++uniques[it->second].uses;
    order.push_back(it->second);
  };
  for (const auto& t : targets) {
    if (!has_glob(*t.fs, t.path)) {
      add(t.fs, t.path, t.url);
      continue;
    }
    // A glob expands in place to its matching files, sorted; directories are skipped.
    try {
      GlobOptions gopts;
      gopts.withdirs = false;
      const auto matches = t.fs->glob(t.path, gopts);
      if (matches.empty()) throw NotFound(t.path, "no match");
      for (const auto& [name, info] : matches) {
        if (info.is_dir()) continue;
        add(t.fs, name, display_name(*t.fs, name));
      }
    } catch (...) {
      report_error(t.url, t.path, std::current_exception());
      rc = kExitFailed;
    }
  }
  if (mode == Sink::kDirectory) assign_relative_names(uniques);

  Progress progress(progress_wanted(global.progress), "cat");
  progress.set_total(uniques.size());
  const auto started = std::chrono::steady_clock::now();
  progress.start();
  CatRun run(args, mode, std::move(uniques), std::move(order), progress);
  const std::size_t failed = run.run();
  progress.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (mode == Sink::kDiscard) {
    write_stdout(
        fmt::format("files={} bytes={} seconds={:.3f}\n", run.files_ok(), run.bytes(), seconds));
  }
  if (std::fflush(stdout) != 0 || run.stdout_broken()) {
    Console::instance().error(fmt::format("stdout: {}", std::strerror(errno)));
    rc = kExitFailed;
  }
  if (failed > 0) rc = kExitFailed;
  return rc;
}

}  // namespace asyncfs::cli
