#include "progress.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

#include "common.hpp"

namespace asyncfs::cli {

namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);  // at most ~10 redraws/s
constexpr int kBarWidth = 24;

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 99 * 3600) return "--:--";
  const auto s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

int terminal_width() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
  return 80;
}

}  // namespace

bool progress_wanted(ProgressMode mode) {
  switch (mode) {
    case ProgressMode::kOn:
      return true;
    case ProgressMode::kOff:
      return false;
    case ProgressMode::kAuto:
      break;
  }
  return ::isatty(STDERR_FILENO) == 1;
}

std::string human_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 5) {
    bytes /= 1024;
    ++unit;
  }
  if (unit == 0) return fmt::format("{:.0f} B", bytes);
  return fmt::format("{:.1f} {}", bytes, kUnits[unit]);
}

// Bytes of one file of a bulk transfer: forwards increments to the shared byte counter.
class Progress::ByteCallback final : public Callback {
 public:
  explicit ByteCallback(std::shared_ptr<Counters> counters) : counters_(std::move(counters)) {}

 protected:
  void on_change() override {
    // absolute_update may move backwards (a retried transfer); only progress is counted.
    const std::uint64_t v = value();
    if (v > last_) counters_->bytes.fetch_add(v - last_, std::memory_order_relaxed);
    last_ = v;
    // A size may be reported again (each attempt of a retried download): count it once, as
    // the latest value.
    if (const auto s = size(); s && s != counted_size_) {
      if (counted_size_) {
        counters_->bytes_total.fetch_sub(*counted_size_, std::memory_order_relaxed);
      } else {
        counters_->sized_files.fetch_add(1, std::memory_order_relaxed);
      }
      counters_->bytes_total.fetch_add(*s, std::memory_order_relaxed);
      counted_size_ = s;
    }
  }

 private:
  std::shared_ptr<Counters> counters_;
  std::uint64_t last_ = 0;
  std::optional<std::uint64_t> counted_size_;
};

// Files of a bulk call: set_size = number of files, one tick per finished file.
class Progress::FileCallback final : public Callback {
 public:
  explicit FileCallback(std::shared_ptr<Counters> counters) : counters_(std::move(counters)) {}
  std::unique_ptr<Callback> branch(const std::string&, const std::string&) override {
    return std::make_unique<ByteCallback>(counters_);
  }

 protected:
  void on_change() override {
    if (const auto s = size()) {
      counters_->total.store(*s, std::memory_order_relaxed);
      counters_->total_known.store(true, std::memory_order_relaxed);
    }
    counters_->done.store(value(), std::memory_order_relaxed);
  }

 private:
  std::shared_ptr<Counters> counters_;
};

Progress::Progress(bool enabled, std::string label, std::string unit)
    : enabled_(enabled),
      label_(std::move(label)),
      unit_(std::move(unit)),
      counters_(std::make_shared<Counters>()),
      callback_(std::make_unique<FileCallback>(counters_)),
      started_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { finish(); }

void Progress::set_total(std::uint64_t total) {
  counters_->total.store(total, std::memory_order_relaxed);
  counters_->total_known.store(true, std::memory_order_relaxed);
}

void Progress::add_done(std::uint64_t n) {
  counters_->done.fetch_add(n, std::memory_order_relaxed);
}

void Progress::add_bytes(std::uint64_t n) {
  counters_->bytes.fetch_add(n, std::memory_order_relaxed);
}

void Progress::start() {
  started_ = std::chrono::steady_clock::now();
  if (!enabled_) return;
  drawer_ = std::jthread([this](std::stop_token stop) { draw_loop(std::move(stop)); });
}

void Progress::draw_loop(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  // The first frame waits one interval too, so quick commands do not flash a bar.
  while (!wake_.wait_for(lock, stop, kRedrawInterval, [] { return false; })) {
    if (stop.stop_requested()) break;
    lock.unlock();
    Console::instance().status(render());
    lock.lock();
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  if (drawer_.joinable()) {
    drawer_.request_stop();
    drawer_.join();
  }
  Console::instance().finish_status(render());
}

std::string Progress::render() const {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const std::uint64_t done = counters_->done.load(std::memory_order_relaxed);
  const std::uint64_t bytes = counters_->bytes.load(std::memory_order_relaxed);
  const bool known = counters_->total_known.load(std::memory_order_relaxed);
  const std::uint64_t total = std::max(done, counters_->total.load(std::memory_order_relaxed));

  std::string line = label_;
  const auto bar = [](double frac) {
    const int fill = static_cast<int>(std::clamp(frac, 0.0, 1.0) * kBarWidth);
    return std::string(static_cast<std::size_t>(fill), '#') +
           std::string(static_cast<std::size_t>(kBarWidth - fill), '.');
  };
  const std::uint64_t bytes_total = counters_->bytes_total.load(std::memory_order_relaxed);
  const bool by_bytes = known && total > 0 && bytes_total > 0 &&
                        counters_->sized_files.load(std::memory_order_relaxed) >= total;
  if (by_bytes) {
    // Every file's size is known: bytes done of bytes total, so even one large file moves.
    const std::uint64_t shown = std::min(bytes, bytes_total);
    const double frac = static_cast<double>(shown) / static_cast<double>(bytes_total);
    line += fmt::format(" [{}] {}/{} {:.0f}%", bar(frac), human_bytes(static_cast<double>(shown)),
                        human_bytes(static_cast<double>(bytes_total)), frac * 100);
    if (total > 1) line += fmt::format("  {}/{} {}", done, total, unit_);
    if (elapsed > 0)
      line += fmt::format("  {}/s", human_bytes(static_cast<double>(bytes) / elapsed));
    if (shown < bytes_total && shown > 0) {
      const double eta =
          elapsed * static_cast<double>(bytes_total - shown) / static_cast<double>(shown);
      line += fmt::format("  ETA {}", format_duration(eta));
    } else {
      line += fmt::format("  {}", format_duration(elapsed));
    }
  } else {
    if (known) {
      const double frac = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
      line += fmt::format(" [{}] {}/{} {}", bar(frac), done, total, unit_);
    } else {
      // No total reported (yet): a moving marker shows liveness.
      const int pos = static_cast<int>(elapsed * 10) % kBarWidth;
      std::string marker(kBarWidth, ' ');
      marker[static_cast<std::size_t>(pos)] = '*';
      line += fmt::format(" [{}] {} {}", marker, done, unit_);
    }
    if (bytes > 0) line += fmt::format("  {}", human_bytes(static_cast<double>(bytes)));
    if (elapsed > 0) {
      if (bytes > 0) {
        line += fmt::format("  {}/s", human_bytes(static_cast<double>(bytes) / elapsed));
      } else {
        line += fmt::format("  {:.1f} {}/s", static_cast<double>(done) / elapsed, unit_);
      }
    }
    if (known && done < total && done > 0) {
      const double eta = elapsed * static_cast<double>(total - done) / static_cast<double>(done);
      line += fmt::format("  ETA {}", format_duration(eta));
    } else {
      line += fmt::format("  {}", format_duration(elapsed));
    }
  }
  const auto width = static_cast<std::size_t>(terminal_width() - 1);
  if (line.size() > width) line.resize(width);
  return line;
}

}  // namespace asyncfs::cli
