#pragma once
// Progress bar on stderr for long work (bulk cat, get/put/cp/mv, rm).
//
// The numbers are atomics: library callbacks run on the IO thread and must stay cheap, so they
// only add to counters. A separate drawing thread reads them and redraws at most 10 times per
// second; the final state is drawn once more by finish().

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "args.hpp"
#include "asyncfs/callback.hpp"

namespace asyncfs::cli {

/// True when bars should be drawn: forced on/off, or stderr is a terminal.
bool progress_wanted(ProgressMode mode);

class Progress {
 public:
  /// A disabled Progress keeps counting but never draws.
  /// `unit` names what done/total count ("files", "paths").
  Progress(bool enabled, std::string label, std::string unit = "files");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Thread-safe counters; cheap enough for the IO thread.
  void set_total(std::uint64_t total);
  void add_done(std::uint64_t n = 1);
  void add_bytes(std::uint64_t n);

  std::uint64_t done() const { return counters_->done.load(std::memory_order_relaxed); }
  std::uint64_t bytes() const { return counters_->bytes.load(std::memory_order_relaxed); }

  /// A library Callback that feeds this bar: set_size/relative_update count files, branch()
  /// returns per-file children that count bytes. Owned by this object.
  Callback* callback() { return callback_.get(); }

  /// Starts the drawing thread (no-op when disabled).
  void start();
  /// Stops drawing and leaves the final state on its own line. Idempotent.
  void finish();

  /// The bar as text (exposed for tests and the final line).
  std::string render() const;

 private:
  struct Counters {
    std::atomic<std::uint64_t> done{0};
    std::atomic<std::uint64_t> total{0};
    std::atomic<bool> total_known{false};
    std::atomic<std::uint64_t> bytes{0};
    /// Sum of the sizes the files being moved reported, and how many reported one: when
    /// every file did, the bar counts bytes (a single large file shows percent and ETA).
    std::atomic<std::uint64_t> bytes_total{0};
    std::atomic<std::uint64_t> sized_files{0};
  };
  class FileCallback;
  class ByteCallback;

  void draw_loop(std::stop_token stop);

  bool enabled_;
  std::string label_;
  std::string unit_;
  std::shared_ptr<Counters> counters_;
  std::unique_ptr<Callback> callback_;
  std::chrono::steady_clock::time_point started_;
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::jthread drawer_;
  bool finished_ = false;
};

/// "1.5 MiB" style sizes (binary units, one decimal).
std::string human_bytes(double bytes);

}  // namespace asyncfs::cli
