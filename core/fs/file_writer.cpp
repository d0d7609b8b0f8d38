#include "core/fs/file_writer.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace asyncfs::uvfs {
namespace {

// Buffers kept for reuse beyond the one being filled (the queue holds the rest).
constexpr std::size_t kMaxSpare = 2;

}  // namespace

void WriteLane::release() {
  busy_ = false;
  // Hand the lane to the first waiting writer that still has something to write.
  while (!busy_ && !waiting_.empty()) {
    std::shared_ptr<FileWriter> next = waiting_.front().lock();
    waiting_.pop_front();
    if (!next) continue;
    next->waits_for_lane_ = false;
    next->kick();
  }
}

FileWriter::FileWriter(uv_loop_t* loop, uv_file fd, std::size_t chunk, std::int64_t offset,
                       std::shared_ptr<WriteLane> lane)
    : loop_(loop),
      fd_(fd),
      chunk_(chunk),
      max_queued_(chunk * 4),
      next_offset_(offset),
      lane_(std::move(lane)) {}

void FileWriter::ensure_current() {
  if (current_) return;
  if (!spare_.empty()) {
    current_ = std::move(spare_.back());
    spare_.pop_back();
  } else {
    current_.reset(new char[chunk_]);  // uninitialised: every byte is written before use
  }
  current_size_ = 0;
}

std::span<char> FileWriter::room() {
  if (error_) return {};
  ensure_current();
  return {current_.get() + current_size_, chunk_ - current_size_};
}

bool FileWriter::push(std::string_view data) {
  if (error_) return false;
  while (!data.empty() && !error_) {
    ensure_current();
    char* end = current_.get() + current_size_;
    std::size_t n = std::min(data.size(), chunk_ - current_size_);
    // Bytes received into room() are in place already.
    if (data.data() != end) std::memcpy(end, data.data(), n);
    current_size_ += n;
    data.remove_prefix(n);
    if (current_size_ == chunk_) enqueue();
  }
  return error_ == 0;
}

void FileWriter::finish() {
  if (current_ && current_size_ > 0) enqueue();
}

void FileWriter::abandon() {
  current_size_ = 0;
  const std::size_t keep = in_flight_ ? 1u : 0u;  // the request owns its buffer
  std::int64_t first_dropped = next_offset_;
  if (queue_.size() > keep) first_dropped = queue_[keep].offset;
  hole_ = std::min(hole_.value_or(first_dropped), first_dropped);
  while (queue_.size() > (in_flight_ ? 1u : 0u)) {
    queued_ -= queue_.back().size - queue_.back().done;
    queue_.pop_back();
  }
}

void FileWriter::enqueue() {
  Item item{std::move(current_), current_size_, next_offset_};
  current_size_ = 0;
  next_offset_ += static_cast<std::int64_t>(item.size);
  if (queued_ + item.size > max_queued_) {
    write_now(item);
    recycle(std::move(item.data));
    return;
  }
  queued_ += item.size;
  queue_.push_back(std::move(item));
  kick();
}

void FileWriter::write_now(Item& item) {
  while (!error_ && item.done < item.size) {
    uv_fs_t req;
    uv_buf_t buf =
        uv_buf_init(item.data.get() + item.done, static_cast<unsigned>(item.size - item.done));
    const int rc = uv_fs_write(nullptr, &req, fd_, &buf, 1,
                               item.offset + static_cast<std::int64_t>(item.done), nullptr);
    uv_fs_req_cleanup(&req);
    if (rc <= 0) {
      error_ = rc < 0 ? rc : UV_EIO;
      break;
    }
    item.done += static_cast<std::size_t>(rc);
    written_ += static_cast<std::uint64_t>(rc);
  }
}

void FileWriter::recycle(Buffer buffer) {
  if (buffer && spare_.size() < kMaxSpare) spare_.push_back(std::move(buffer));
}

void FileWriter::kick() {
  if (in_flight_ || error_ || queue_.empty()) {
    wake();  // an abandoned writer handed the lane may have a waiter
    return;
  }
  if (lane_ && !holds_lane_) {
    if (lane_->busy_) {
      if (!waits_for_lane_) {
        waits_for_lane_ = true;
        lane_->waiting_.push_back(weak_from_this());
      }
      return;
    }
    lane_->busy_ = true;
    holds_lane_ = true;
  }
  Item& front = queue_.front();
  buf_ = uv_buf_init(front.data.get() + front.done, static_cast<unsigned>(front.size - front.done));
  req_.data = this;
  const int rc = uv_fs_write(loop_, &req_, fd_, &buf_, 1,
                             front.offset + static_cast<std::int64_t>(front.done), &on_write);
  if (rc < 0) {
    error_ = rc;
    release_lane();
    wake();
    return;
  }
  in_flight_ = true;
  self_ = shared_from_this();  // the request must not outlive its buffer
}

void FileWriter::on_write(uv_fs_t* req) {
  auto* w = static_cast<FileWriter*>(req->data);
  auto keep = std::move(w->self_);
  const ssize_t res = req->result;
  uv_fs_req_cleanup(req);
  w->in_flight_ = false;
  if (res <= 0) {
    w->error_ = res < 0 ? static_cast<int>(res) : UV_EIO;
  } else if (!w->queue_.empty()) {
    Item& front = w->queue_.front();
    front.done += static_cast<std::size_t>(res);
    w->written_ += static_cast<std::uint64_t>(res);
    if (front.done == front.size) {
      w->queued_ -= front.size;
      w->recycle(std::move(front.data));
      w->queue_.pop_front();
    }
  }
  // Other writers of the lane go first; this one queues again behind them.
  w->release_lane();
  if (w->error_ || w->queue_.empty()) {
    w->wake();
  } else {
    w->kick();
  }
}

void FileWriter::release_lane() {
  if (!holds_lane_) return;
  holds_lane_ = false;
  lane_->release();
}

void FileWriter::wake() {
  if (waiter_ && !in_flight_) std::exchange(waiter_, {}).resume();
}

}  // namespace asyncfs::uvfs
