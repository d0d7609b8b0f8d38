#pragma once
// Streams a response body into a local file without blocking the loop (the get_file of network
// backends).

#include <uv.h>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace asyncfs::uvfs {

class FileWriter;

/// \brief One write at a time to a file that several FileWriters fill at different offsets
/// (the parallel ranges of one download). Concurrent pwrite()s to one file serialise on the
/// inode's lock in the kernel, where waiting writers spin: measured, eight of them spent three
/// times the CPU of one for the same bytes. Writers take turns, in the order they asked.
class WriteLane {
 private:
  friend class FileWriter;
  void release();

  bool busy_ = false;
  std::deque<std::weak_ptr<FileWriter>> waiting_;
};

/// \brief Writes a streamed body to a file: bytes gather in fixed chunks that chained
/// uv_fs_write requests write in order. When the disk falls behind by more than four chunks,
/// the next chunk is written synchronously, which bounds memory at the cost of briefly
/// stalling the loop (only ever with a disk slower than the network).
///
/// room() lets a transport receive straight into the current chunk; push() of bytes that
/// already sit there then only counts them. Chunk buffers are recycled, so a large download
/// reuses a few warm buffers instead of faulting in fresh memory for every chunk.
class FileWriter : public std::enable_shared_from_this<FileWriter> {
 public:
  /// Writes from `offset` on; with a `lane`, only one request of all the lane's writers is in
  /// flight at a time.
  FileWriter(uv_loop_t* loop, uv_file fd, std::size_t chunk, std::int64_t offset = 0,
             std::shared_ptr<WriteLane> lane = nullptr);

  /// Sink callback: false stops the transfer after a write error.
  bool push(std::string_view data);
  /// Free space at the end of the current chunk (empty after an error).
  std::span<char> room();
  /// Queues what is left; call before awaiting drained().
  void finish();
  /// Drops what is not yet written (after a failed transfer).
  void abandon();
  int error() const { return error_; }
  std::uint64_t written() const { return written_; }
  /// \brief After drained(): every byte from the start offset up to this offset is on disk.
  /// Not start + written(): when the disk falls behind, a chunk is written synchronously
  /// ahead of the queued ones, which abandon() may then drop.
  std::int64_t contiguous_end() const { return hole_.value_or(next_offset_); }

  struct Drained {
    FileWriter* w;
    bool await_ready() const noexcept {
      return !w->in_flight_ && (w->queue_.empty() || w->error_ != 0);
    }
    void await_suspend(std::coroutine_handle<> h) noexcept { w->waiter_ = h; }
    void await_resume() const noexcept {}
  };
  /// Completes when the queue is written (or writing stopped at an error) and no write is in
  /// flight.
  Drained drained() { return Drained{this}; }

 private:
  friend class WriteLane;
  using Buffer = std::unique_ptr<char[]>;
  struct Item {
    Buffer data;
    std::size_t size = 0;
    std::int64_t offset = 0;
    std::size_t done = 0;
  };

  void ensure_current();
  void enqueue();
  void write_now(Item& item);
  void recycle(Buffer buffer);
  void kick();
  void release_lane();
  static void on_write(uv_fs_t* req);
  void wake();

  uv_loop_t* loop_;
  uv_file fd_;
  std::size_t chunk_;
  std::size_t max_queued_;
  Buffer current_;
  std::size_t current_size_ = 0;
  std::vector<Buffer> spare_;
  std::deque<Item> queue_;
  std::size_t queued_ = 0;
  std::int64_t next_offset_ = 0;
  std::optional<std::int64_t> hole_;  ///< first byte abandon() dropped
  std::uint64_t written_ = 0;
  int error_ = 0;
  bool in_flight_ = false;
  uv_fs_t req_{};
  uv_buf_t buf_{};
  std::coroutine_handle<> waiter_;
  std::shared_ptr<FileWriter> self_;
  std::shared_ptr<WriteLane> lane_;
  bool holds_lane_ = false;
  bool waits_for_lane_ = false;
};

}  // namespace asyncfs::uvfs
