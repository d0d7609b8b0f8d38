// cat: many URLs fetched concurrently, written to stdout in argument order, to files under a
// directory (-o), or counted and dropped (--discard).
//
// Threads: each filesystem's files are fetched by one task on its IO thread (one sliding
// window, results as they complete; no thread waits for it). The sink it feeds runs on the IO
// thread and only counts or queues; the main thread writes output and errors, in argument
// order for stdout. The IO thread never does blocking output.

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "asyncfs/config.hpp"
#include "asyncfs/file.hpp"
#include "asyncfs/filesystem.hpp"
#include "asyncfs/gather.hpp"
#include "asyncfs/path.hpp"
#include "asyncfs/sync.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "exit_codes.hpp"
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

// Stdout keeps argument order, so a finished file may have to wait for an earlier one. Memory
// is bounded by these, not by the number or the size of the files:
/// A file is held whole (fetched ahead of its turn) only up to this size. One that grows past
/// it is dropped and streamed again when its turn comes, so the window holds at most this per
/// file.
constexpr std::size_t kHoldMaxBytes = 1u << 20;
/// Finished files waiting for an earlier one (the ordering buffer). While it is full no new
/// fetch starts, except that of the file whose turn it is (the running ones still finish).
constexpr std::uint64_t kOrderBufferBytes = 32u << 20;
/// A file streamed in its turn: bytes read and not yet written to stdout.
constexpr std::uint64_t kStreamBufferBytes = 8u << 20;
constexpr std::int64_t kStreamChunk = 1 << 20;
/// Read-ahead of the file object that streams a file in its turn (one request per block).
constexpr std::size_t kStreamBlock = 4u << 20;

/// What one fetch produced.
struct Fetched {
  Bytes data;               ///< stdout and byte ranges: the body
  std::uint64_t bytes = 0;  ///< size fetched
  bool deferred = false;    ///< stdout: too large to hold, to be streamed in its turn
};

struct Delivery {
  enum class Kind {
    kResult,      ///< a fetch ended (index: unique)
    kChunk,       ///< the next bytes of the file streamed in its turn (index: unique)
    kStreamDone,  ///< that stream ended (index: unique)
    kGroupDone,   ///< the task of one filesystem ended (index: group)
  };
  Kind kind = Kind::kResult;
  std::size_t index = 0;
  Outcome<Fetched> outcome;
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

/// \brief A byte budget between the loop (which fills it) and the main thread (which drains
/// it by writing). Coroutines wait on the loop, without blocking it, until there is room or
/// their output position has come (the file whose turn it is never waits: the buffer can
/// only drain through it).
class Room {
 public:
  explicit Room(std::uint64_t limit) : limit_(limit) {}

  bool admits(std::size_t position) {
    std::lock_guard lock(mutex_);
    return admits_locked(position);
  }
  void add(std::uint64_t n) {
    std::lock_guard lock(mutex_);
    used_ += n;
  }
  /// Main thread: bytes written (or dropped); wakes the waiters.
  void release(std::uint64_t n) {
    std::unique_lock lock(mutex_);
    used_ -= std::min(used_, n);
    if (used_ < limit_) wake(lock);
  }
  /// Main thread: the output position whose turn it is now.
  void set_head(std::size_t position) {
    std::unique_lock lock(mutex_);
    if (position == head_) return;
    head_ = position;
    wake(lock);
  }

  /// Suspends until release() or set_head() (then check admits() again).
  struct Awaiter {
    Room& room;
    IoThread& io;
    std::size_t position;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
      std::lock_guard lock(room.mutex_);
      if (room.admits_locked(position)) return false;  // room appeared meanwhile
      room.waiters_.push_back({&io, h});
      return true;
    }
    void await_resume() const noexcept {}
  };
  Awaiter wait(IoThread& io, std::size_t position) { return Awaiter{*this, io, position}; }

 private:
  bool admits_locked(std::size_t position) const { return used_ < limit_ || position <= head_; }
  void wake(std::unique_lock<std::mutex>& lock) {
    std::vector<std::pair<IoThread*, std::coroutine_handle<>>> waiting;
    waiting.swap(waiters_);
    lock.unlock();
    for (auto& [io, h] : waiting) {
      try {
        io->post([h = h] { h.resume(); });
      } catch (...) {
        // The loop is shutting down: it cancels its roots itself.
      }
    }
  }

  std::mutex mutex_;
  std::uint64_t used_ = 0;
  std::uint64_t limit_;
  std::size_t head_ = 0;
  std::vector<std::pair<IoThread*, std::coroutine_handle<>>> waiters_;
};

/// \brief Runs `task` as a root on `io` without a thread waiting for it: `done(Outcome<T>)`
/// runs on the loop when it ends, also with an error when the loop drops it (shutdown).
template <class T, class Done>
void start_on(IoThread& io, Task<T> task, Done done) {
  struct Job {
    IoThread* io;
    std::optional<Task<T>> task;
    std::shared_ptr<Done> done;
    bool started = false;
    Job(IoThread* i, Task<T> t, std::shared_ptr<Done> d)
        : io(i), task(std::move(t)), done(std::move(d)) {}
    Job(Job&& o) noexcept
        : io(o.io), task(std::move(o.task)), done(std::move(o.done)), started(o.started) {
      o.started = true;  // the moved-from job reports nothing
    }
    Job& operator=(Job&&) = delete;
    ~Job() {
      if (!started && done) (*done)(Outcome<T>(detail::abandoned_error()));
    }
    void operator()() {
      started = true;
      auto d = done;
      io->spawn(
          std::move(*task), [d](Outcome<T> out) { (*d)(std::move(out)); }, {},
          [d] { (*d)(Outcome<T>(detail::abandoned_error())); });
    }
  };
  auto shared = std::make_shared<Done>(std::move(done));
  try {
    io.post(Job(&io, std::move(task), shared));
  } catch (...) {
    // post() refused the job (shutdown); the job's destructor has reported it.
  }
}

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

/// Thrown by the sink of a held fetch that grew past kHoldMaxBytes: ends that read.
struct TooLargeToHold {};

/// How one file is fetched.
enum class How {
  kHold,    ///< stdout: the whole body, up to kHoldMaxBytes (else deferred)
  kRange,   ///< --start/--end: the bytes of the range
  kCount,   ///< --discard: streamed and counted
  kToFile,  ///< -o: streamed to a temporary file renamed into place
};

// One file of a filesystem's task. `room`, when set, is the ordering buffer: the fetch starts
// once it has room or `position` (the file's first output position) has its turn.
Task<Fetched> fetch_one(std::shared_ptr<AsyncFileSystem> fs, std::string path, std::string target,
                        How how, std::optional<std::int64_t> start, std::optional<std::int64_t> end,
                        Room* room, std::size_t position, Progress* progress) {
  if (room) {
    for (;;) {
      const bool go = room->admits(position);
      if (go) break;
      co_await room->wait(fs->io(), position);
    }
  }
  Fetched out;
  // Arguments in named locals, awaited through a named task: g++ 12 mishandles the lifetime of
  // temporaries in a co_await expression (docs/writing-a-backend.md).
  switch (how) {
    case How::kRange: {
      Task<Bytes> reading = fs->_cat_file(std::move(path), start, end);
      out.data = co_await std::move(reading);
      out.bytes = out.data.size();
      break;
    }
    case How::kHold: {
      Bytes body;
      UniqueFunction<void(std::string_view)> keep = [&body](std::string_view data) {
        if (body.size() + data.size() > kHoldMaxBytes) throw TooLargeToHold{};
        body.append(data);
      };
      Task<std::uint64_t> streaming = fs->_stream_file(std::move(path), std::move(keep));
      bool too_large = false;
      try {
        co_await std::move(streaming);
      } catch (const TooLargeToHold&) {
        too_large = true;
      }
      if (too_large) {
        out.deferred = true;
      } else {
        out.bytes = body.size();
        out.data = std::move(body);
      }
      break;
    }
    case How::kCount: {
      UniqueFunction<void(std::string_view)> count = [progress](std::string_view data) {
        progress->add_bytes(data.size());
      };
      Task<std::uint64_t> streaming = fs->_stream_file(std::move(path), std::move(count));
      out.bytes = co_await std::move(streaming);
      break;
    }
    case How::kToFile: {
      ByteTicker ticker(*progress);
      Task<void> getting = fs->_get_file(std::move(path), std::move(target), &ticker);
      co_await std::move(getting);
      out.bytes = ticker.value();
      break;
    }
  }
  co_return out;
}

/// One filesystem's files, fetched by one task through one window.
struct Group {
  std::shared_ptr<AsyncFileSystem> fs;
  std::vector<std::size_t> members;  ///< unique indices, in order of first output position
  std::vector<std::string> paths;
  std::vector<std::string> targets;    ///< -o: where each member goes
  std::vector<std::size_t> positions;  ///< stdout: each member's first output position
  std::vector<char> delivered;         ///< written on the loop, read after kGroupDone
};

// The whole group through the library's sliding window: results are handed to `sink` (on the
// loop) as they complete; a slow file holds up nothing but its own slot.
Task<void> fetch_group(Group* group, How how, std::optional<std::int64_t> start,
                       std::optional<std::int64_t> end, Room* room, Progress* progress, int window,
                       UniqueFunction<void(std::size_t, Outcome<Fetched>&&)> sink) {
  GatherOptions opts;
  opts.batch_size = window;
  auto make = [group, how, start, end, room, progress](std::size_t i) {
    return fetch_one(group->fs, group->paths[i],
                     group->targets.empty() ? std::string() : group->targets[i], how, start, end,
                     room, room ? group->positions[i] : 0, progress);
  };
  auto each = [&sink](std::size_t i, Outcome<Fetched>&& o) { sink(i, std::move(o)); };
  auto task = gather_each<Fetched>(group->paths.size(), std::move(make), std::move(each), opts);
  co_await std::move(task);
}

// A file too large to hold, streamed to the main thread in its turn. A file object rather than
// _stream_file: its reads can wait for the main thread to write, so a slow stdout holds
// kStreamBufferBytes here and not the file.
Task<Fetched> stream_in_turn(std::shared_ptr<AsyncFileSystem> fs, std::string path,
                             std::size_t unique, Room* room, DeliveryQueue* queue,
                             Progress* progress) {
  OpenOptions opts;
  opts.cache_type = "readahead";
  opts.block_size = kStreamBlock;
  std::string mode = "rb";
  Task<std::unique_ptr<AsyncFile>> opening = fs->_open(std::move(path), std::move(mode), opts);
  std::unique_ptr<AsyncFile> file = co_await std::move(opening);
  Fetched out;
  std::exception_ptr failed;
  try {
    for (;;) {
      for (;;) {
        const bool go = room->admits(std::numeric_limits<std::size_t>::max());
        if (go) break;
        co_await room->wait(fs->io(), std::numeric_limits<std::size_t>::max());
      }
      Task<Bytes> reading = file->read(kStreamChunk);
      Bytes chunk = co_await std::move(reading);
      if (chunk.empty()) break;
      out.bytes += chunk.size();
      progress->add_bytes(chunk.size());
      room->add(chunk.size());
      queue->push(Delivery{Delivery::Kind::kChunk, unique,
                           Outcome<Fetched>(Fetched{std::move(chunk), 0, false})});
    }
  } catch (...) {
    failed = std::current_exception();
  }
  co_await file->close();  // not in a catch block: see docs/writing-a-backend.md
  if (failed) std::rethrow_exception(failed);
  co_return out;
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
        state_(uniques_.size(), State::kPending),
        results_(uniques_.size()),
        order_room_(kOrderBufferBytes),
        stream_room_(kStreamBufferBytes) {}

  /// Fetches everything; returns the number of failed files.
  std::size_t run() {
    // One task per filesystem, all started at once: different protocols are fetched at the
    // same time, and no thread waits for any of them (the main thread handles the results).
    std::map<AsyncFileSystem*, std::size_t> group_of;
    std::vector<std::size_t> first_position(uniques_.size(), order_.size());
    for (std::size_t p = order_.size(); p-- > 0;) first_position[order_[p]] = p;
    for (std::size_t u = 0; u < uniques_.size(); ++u) {
      auto [it, fresh] = group_of.try_emplace(uniques_[u].fs.get(), groups_.size());
      if (fresh)
        groups_.push_back(std::make_unique<Group>(Group{uniques_[u].fs, {}, {}, {}, {}, {}}));
      Group& g = *groups_[it->second];
      g.members.push_back(u);
      g.paths.push_back(uniques_[u].path);
      g.positions.push_back(first_position[u]);
      if (mode_ == Sink::kDirectory) {
        g.targets.push_back((std::filesystem::path(args_.output_dir) / uniques_[u].rel).string());
      }
    }
    running_ = groups_.size();
    for (std::size_t g = 0; g < groups_.size(); ++g) launch(g);
    if (mode_ == Sink::kStdout) flush_in_order();
    while (running_ > 0 || streaming_) {
      Delivery d = queue_.pop();
      switch (d.kind) {
        case Delivery::Kind::kResult:
          handle(d.index, std::move(d.outcome));
          break;
        case Delivery::Kind::kChunk:
          write_chunk(d.outcome.value().data);
          break;
        case Delivery::Kind::kStreamDone:
          stream_done(d.index, std::move(d.outcome));
          break;
        case Delivery::Kind::kGroupDone:
          group_done(d.index, std::move(d.outcome));
          break;
      }
    }
    return failed_;
  }

  std::uint64_t files_ok() const { return files_ok_.load(); }
  std::uint64_t bytes() const { return bytes_.load(); }
  bool stdout_broken() const { return stdout_broken_; }

 private:
  enum class State : char { kPending, kReady, kFailed, kDeferred };

  void launch(std::size_t index) {
    Group& g = *groups_[index];
    g.delivered.assign(g.members.size(), 0);
    const How how = args_.start || args_.end  ? How::kRange
                    : mode_ == Sink::kStdout  ? How::kHold
                    : mode_ == Sink::kDiscard ? How::kCount
                                              : How::kToFile;
    Room* room = mode_ == Sink::kStdout ? &order_room_ : nullptr;
    int window = 1;
    try {
      window = resolve_batch_size(args_.batch_size, g.fs->batch_size(), !is_local(*g.fs));
    } catch (...) {
      queue_.push(
          Delivery{Delivery::Kind::kGroupDone, index, Outcome<Fetched>(std::current_exception())});
      return;
    }
    auto sink = [this, &g](std::size_t i, Outcome<Fetched>&& o) {
      g.delivered[i] = 1;
      deliver(g.members[i], std::move(o));
    };
    Task<void> task =
        fetch_group(&g, how, args_.start, args_.end, room, &progress_, window, std::move(sink));
    start_on(g.fs->io(), std::move(task), [this, index](Outcome<void> o) {
      queue_.push(Delivery{Delivery::Kind::kGroupDone, index,
                           o.has_error() ? Outcome<Fetched>(o.error()) : Outcome<Fetched>()});
    });
  }

  // Runs on the IO thread: cheap work only, anything blocking is queued for the main thread.
  void deliver(std::size_t u, Outcome<Fetched>&& o) {
    if (o.has_value() && o.value().deferred) {
      // Done when its stream ends; nothing is held for it meanwhile.
      queue_.push(Delivery{Delivery::Kind::kResult, u, std::move(o)});
      return;
    }
    progress_.add_done(1);
    if (o.has_value()) {
      const bool streamed = mode_ != Sink::kStdout && !args_.start && !args_.end;
      // A streamed file counted its bytes on the bar as they came.
      if (!streamed) progress_.add_bytes(o.value().bytes);
      if (mode_ == Sink::kDiscard || streamed) {
        // Counted, or already on disk: nothing for the main thread to do.
        files_ok_.fetch_add(1, std::memory_order_relaxed);
        bytes_.fetch_add(o.value().bytes, std::memory_order_relaxed);
        return;
      }
      // Counted before the next fetch asks whether there is room.
      if (mode_ == Sink::kStdout) order_room_.add(o.value().data.size());
    }
    queue_.push(Delivery{Delivery::Kind::kResult, u, std::move(o)});
  }

  void handle(std::size_t u, Outcome<Fetched>&& o) {
    const Unique& item = uniques_[u];
    if (o.has_error()) {
      report_error(item.url, item.path, o.error());
      ++failed_;
      state_[u] = State::kFailed;
      if (mode_ == Sink::kStdout) flush_in_order();
      return;
    }
    switch (mode_) {
      case Sink::kDiscard:
        return;
      case Sink::kDirectory: {
        std::string error;
        if (!write_file(std::filesystem::path(args_.output_dir) / item.rel, o.value().data,
                        error)) {
          Console::instance().error(fmt::format("{}: {}", one_line(item.url), one_line(error)));
          ++failed_;
        } else {
          files_ok_.fetch_add(1);
        }
        return;
      }
      case Sink::kStdout:
        if (o.value().deferred) {
          state_[u] = State::kDeferred;
        } else {
          files_ok_.fetch_add(1);
          state_[u] = State::kReady;
          results_[u] = std::move(o.value().data);
        }
        flush_in_order();
        return;
    }
  }

  // The task of one filesystem ended: whatever it did not deliver failed with it (a bad
  // window, a loop shutting down) or was skipped, and is reported all the same.
  void group_done(std::size_t index, Outcome<Fetched>&& o) {
    --running_;
    Group& g = *groups_[index];
    for (std::size_t i = 0; i < g.members.size(); ++i) {
      if (g.delivered[i]) continue;
      const auto& item = uniques_[g.members[i]];
      auto error = o.has_error() ? o.error()
                                 : std::make_exception_ptr(Error(ErrorKind::kProtocol, item.path,
                                                                 "no result returned"));
      progress_.add_done(1);
      handle(g.members[i], Outcome<Fetched>(error));
    }
  }

  // Writes every output position whose file is ready, in order, and frees each file's bytes
  // after its last use. A deferred file at the head is streamed, and the rest waits for it.
  void flush_in_order() {
    while (!streaming_ && next_ < order_.size()) {
      const std::size_t u = order_[next_];
      if (state_[u] == State::kPending) break;
      if (state_[u] == State::kDeferred) {
        if (!stdout_broken_) {
          start_stream(u);
          return;
        }
        finish_position();
        continue;
      }
      if (state_[u] == State::kReady && !stdout_broken_ && !write_stdout(*results_[u])) {
        stdout_broken_ = true;
      }
      finish_position();
    }
    order_room_.set_head(next_);
  }

  void finish_position() {
    const std::size_t u = order_[next_++];
    if (--uniques_[u].uses == 0 && results_[u]) {
      order_room_.release(results_[u]->size());
      results_[u].reset();
    }
  }

  void start_stream(std::size_t u) {
    streaming_ = true;
    order_room_.set_head(next_);
    const Unique& item = uniques_[u];
    Task<Fetched> task = stream_in_turn(item.fs, item.path, u, &stream_room_, &queue_, &progress_);
    start_on(item.fs->io(), std::move(task), [this, u](Outcome<Fetched> o) {
      queue_.push(Delivery{Delivery::Kind::kStreamDone, u, std::move(o)});
    });
  }

  void write_chunk(const Bytes& data) {
    if (!stdout_broken_ && !write_stdout(data)) stdout_broken_ = true;
    stream_room_.release(data.size());
  }

  // A file that is output several times is streamed each time; it counts once.
  void stream_done(std::size_t u, Outcome<Fetched>&& o) {
    streaming_ = false;
    const Unique& item = uniques_[u];
    const bool first = !streamed_once_.contains(u);
    streamed_once_.insert(u);
    if (first) progress_.add_done(1);
    if (o.has_error()) {
      // Whatever was written of it stays written; the error line says it is incomplete.
      report_error(item.url, item.path, o.error());
      if (first) ++failed_;
    } else if (first) {
      files_ok_.fetch_add(1);
    }
    finish_position();
    flush_in_order();
  }

  const CatArgs& args_;
  Sink mode_;
  std::vector<Unique> uniques_;
  std::vector<std::size_t> order_;  ///< output positions → unique index (stdout mode)
  Progress& progress_;
  DeliveryQueue queue_;
  std::vector<std::unique_ptr<Group>> groups_;
  std::vector<State> state_;
  std::vector<std::optional<Bytes>> results_;
  Room order_room_;   ///< finished files held for their turn
  Room stream_room_;  ///< bytes of the file streamed in its turn not yet written
  std::set<std::size_t> streamed_once_;
  std::size_t next_ = 0;
  std::size_t running_ = 0;
  bool streaming_ = false;
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
    note_failure(kExitFailed);  // not a kind of remote failure: outranks a 404 or a 503
    rc = kExitFailed;
  }
  if (failed > 0) rc = kExitFailed;
  return rc;
}

}  // namespace asyncfs::cli
