// Read caches: none, readahead, blockcache, bytes, all (see include/asyncfs/caching.hpp).
//
// Every cache keeps its data in immutable shared buffers. A read takes a snapshot (a few
// shared_ptr copies), awaits its fetches, and only then installs what it built. So a read
// that fails leaves the cache exactly as it was, and two reads interleaving on the loop cannot
// see a half-updated buffer: the last one to finish wins.

#include "asyncfs/caching.hpp"

#include <algorithm>
#include <limits>
#include <list>
#include <unordered_map>
#include <utility>

#include "asyncfs/errors.hpp"
#include "asyncfs/path.hpp"

namespace asyncfs {

namespace {

using Buffer = std::shared_ptr<const Bytes>;

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  return a > max - b ? max : a + b;
}

// Up to `len` bytes of `b` from `offset`; "" when offset is past the end (substr would throw).
Bytes slice(const Bytes& b, std::uint64_t offset, std::uint64_t len) {
  if (offset >= b.size()) return Bytes{};
  return b.substr(static_cast<std::size_t>(offset), static_cast<std::size_t>(len));
}

Buffer share(Bytes data) { return std::make_shared<const Bytes>(std::move(data)); }

// --- none ----------------------------------------------------------------------------------------

class NoCache final : public ReadCache {
 public:
  NoCache(std::size_t blocksize, std::uint64_t size, Fetcher fetcher)
      : ReadCache("none", blocksize, size, std::move(fetcher)) {}

  Task<Bytes> read(std::uint64_t start, std::uint64_t end) override {
    const Span r = clamp(start, end);
    if (r.empty()) co_return Bytes{};
    ++stats_.misses;
    Bytes got = co_await fetch(r.start, r.end);
    co_return got;
  }

  void clear() override {}
  std::uint64_t cached_bytes() const override { return 0; }
};

// --- readahead -----------------------------------------------------------------------------------

// One window [start_, start_ + window_->size()). Sequential small reads hit it; any miss
// replaces it with [read start, read end + blocksize), reusing the overlapping part so that a
// read crossing the window's end fetches only what is new.
class ReadAheadCache final : public ReadCache {
 public:
  ReadAheadCache(std::size_t blocksize, std::uint64_t size, Fetcher fetcher)
      : ReadCache("readahead", blocksize, size, std::move(fetcher)) {}

  Task<Bytes> read(std::uint64_t start, std::uint64_t end) override {
    const Span r = clamp(start, end);
    if (r.empty()) co_return Bytes{};
    const Buffer win = window_;
    const std::uint64_t win_start = start_;
    const std::uint64_t win_end = win ? win_start + win->size() : win_start;
    if (win && r.start >= win_start && r.end <= win_end) {
      ++stats_.hits;
      co_return win->substr(static_cast<std::size_t>(r.start - win_start),
                            static_cast<std::size_t>(r.length()));
    }
    ++stats_.misses;
    Bytes fresh;
    std::uint64_t fetch_from = r.start;
    if (win && r.start >= win_start && r.start < win_end) {
      // Not a hit, so the read runs past the window: keep the overlap, fetch from its end.
      fresh = win->substr(static_cast<std::size_t>(r.start - win_start));
      fetch_from = win_end;
    }
    const std::uint64_t fetch_to = std::min(size(), saturating_add(r.end, blocksize()));
    Bytes got = co_await fetch(fetch_from, fetch_to);
    fresh += got;
    got = Bytes();
    Bytes out = slice(fresh, 0, r.length());
    window_ = share(std::move(fresh));
    start_ = r.start;
    co_return out;
  }

  void clear() override { window_.reset(); }
  std::uint64_t cached_bytes() const override { return window_ ? window_->size() : 0; }

 private:
  Buffer window_;
  std::uint64_t start_ = 0;
};

// --- blockcache ----------------------------------------------------------------------------------

// Blocks [i * blocksize, (i + 1) * blocksize) in an LRU of maxblocks. A read first pins every
// block it touches (cached ones by pointer), then fetches each run of missing blocks in one
// request. Pinning first is what keeps a read wider than maxblocks from evicting, and then
// fetching again, a block it needs itself.
class BlockCache final : public ReadCache {
 public:
  BlockCache(std::size_t blocksize, std::uint64_t size, Fetcher fetcher, std::size_t maxblocks)
      : ReadCache("blockcache", blocksize, size, std::move(fetcher)), maxblocks_(maxblocks) {}

  Task<Bytes> read(std::uint64_t start, std::uint64_t end) override {
    const Span r = clamp(start, end);
    if (r.empty()) co_return Bytes{};
    const std::uint64_t bs = blocksize();
    const std::uint64_t first = r.start / bs;
    const std::uint64_t count = (r.end - 1) / bs - first + 1;

    std::vector<Buffer> parts(static_cast<std::size_t>(count));
    for (std::size_t i = 0; i < parts.size(); ++i) {
      parts[i] = lookup(first + i);
      if (parts[i]) {
        ++stats_.hits;
      } else {
        ++stats_.misses;
      }
    }

    std::size_t i = 0;
    while (i < parts.size()) {
      if (parts[i]) {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < parts.size() && !parts[j]) ++j;
      const std::uint64_t from = (first + i) * bs;
      const std::uint64_t to = std::min(size(), (first + j) * bs);
      Bytes got = co_await fetch(from, to);
      for (std::size_t k = i; k < j; ++k) {
        const std::uint64_t block_start = (first + k) * bs;
        const std::uint64_t full = std::min(bs, size() - block_start);
        Buffer block = share(slice(got, block_start - from, bs));
        // A short block means the file shrank under us: serve it, but do not keep it.
        if (block->size() == full) insert(first + k, block);
        parts[k] = std::move(block);
      }
      i = j;
    }

    Bytes out;
    out.reserve(static_cast<std::size_t>(r.length()));
    for (std::size_t k = 0; k < parts.size(); ++k) {
      const std::uint64_t block_start = (first + k) * bs;
      const std::uint64_t lo = k == 0 ? r.start - block_start : 0;
      const std::uint64_t hi = std::min(bs, r.end - block_start);
      const Bytes& b = *parts[k];
      if (lo >= b.size()) break;
      const std::uint64_t avail = std::min<std::uint64_t>(hi, b.size());
      out.append(b, static_cast<std::size_t>(lo), static_cast<std::size_t>(avail - lo));
      if (avail < hi) break;  // data ends early; what follows would leave a hole
    }
    co_return out;
  }

  void clear() override {
    blocks_.clear();
    lru_.clear();
  }

  std::uint64_t cached_bytes() const override {
    std::uint64_t n = 0;
    for (const auto& [index, entry] : blocks_) n += entry.data->size();
    return n;
  }

 private:
  struct Entry {
    Buffer data;
    std::list<std::uint64_t>::iterator pos;
  };

  // The block, marked most recently used; nullptr when absent.
  Buffer lookup(std::uint64_t index) {
    auto it = blocks_.find(index);
    if (it == blocks_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second.pos);
    return it->second.data;
  }

  void insert(std::uint64_t index, Buffer data) {
    auto it = blocks_.find(index);
    if (it != blocks_.end()) {
      // Another read fetched it meanwhile; the contents are the same file range.
      it->second.data = std::move(data);
      lru_.splice(lru_.begin(), lru_, it->second.pos);
      return;
    }
    lru_.push_front(index);
    blocks_.emplace(index, Entry{std::move(data), lru_.begin()});
    while (blocks_.size() > maxblocks_) {
      blocks_.erase(lru_.back());
      lru_.pop_back();
      ++stats_.evictions;
    }
  }

  std::size_t maxblocks_;
  std::unordered_map<std::uint64_t, Entry> blocks_;
  std::list<std::uint64_t> lru_;  // front: most recently used
};

// --- bytes ---------------------------------------------------------------------------------------

// One contiguous buffer [start_, start_ + buffer_->size()). A miss close to the buffer (the
// buffer would reach at most a blocksize past the read) extends it with just the missing bytes;
// anything farther replaces it. Forward reads fetch one blocksize ahead. With trim, the front
// is cut so the buffer starts at most a blocksize before the latest read, which bounds memory
// during a forward scan; backward growth is bounded by the closeness rule itself.
class BytesCache final : public ReadCache {
 public:
  BytesCache(std::size_t blocksize, std::uint64_t size, Fetcher fetcher, bool trim)
      : ReadCache("bytes", blocksize, size, std::move(fetcher)), trim_(trim) {}

  Task<Bytes> read(std::uint64_t start, std::uint64_t end) override {
    const Span r = clamp(start, end);
    if (r.empty()) co_return Bytes{};
    const Buffer cur = buffer_;
    const std::uint64_t cur_start = start_;
    const std::uint64_t cur_end = cur ? cur_start + cur->size() : cur_start;
    const bool have = cur && !cur->empty();
    if (have && r.start >= cur_start && r.end <= cur_end) {
      ++stats_.hits;
      co_return cur->substr(static_cast<std::size_t>(r.start - cur_start),
                            static_cast<std::size_t>(r.length()));
    }
    ++stats_.misses;
    const std::uint64_t bs = blocksize();
    const std::uint64_t ahead = std::min(size(), saturating_add(r.end, bs));
    Bytes merged;
    std::uint64_t merged_start = r.start;
    if (have && r.start < cur_start && r.end <= cur_end && cur_end - r.end <= bs) {
      // Backward: fetch only the bytes in front of the buffer.
      Bytes got = co_await fetch(r.start, cur_start);
      const bool complete = got.size() == cur_start - r.start;
      merged = std::move(got);
      // A short answer means the file shrank; gluing it to the old buffer would leave a hole.
      if (complete) merged += *cur;
    } else if (have && r.start >= cur_start && r.end > cur_end && r.end - cur_end <= bs) {
      // Forward: fetch from the buffer's end (including a small gap) plus the read-ahead.
      Bytes got = co_await fetch(cur_end, ahead);
      merged.reserve(cur->size() + got.size());
      merged.append(*cur);
      merged.append(got);
      merged_start = cur_start;
    } else {
      Bytes got = co_await fetch(r.start, ahead);
      merged = std::move(got);
    }
    Bytes out = slice(merged, r.start - merged_start, r.length());
    if (trim_ && r.start - merged_start > bs) {
      const std::uint64_t drop =
          std::min<std::uint64_t>(r.start - bs - merged_start, merged.size());
      merged.erase(0, static_cast<std::size_t>(drop));
      merged_start += drop;
    }
    buffer_ = share(std::move(merged));
    start_ = merged_start;
    co_return out;
  }

  void clear() override { buffer_.reset(); }
  std::uint64_t cached_bytes() const override { return buffer_ ? buffer_->size() : 0; }

 private:
  bool trim_;
  Buffer buffer_;
  std::uint64_t start_ = 0;
};

// --- all -----------------------------------------------------------------------------------------

// The whole file, fetched by the first read that needs data (a constructor cannot await).
class AllBytesCache final : public ReadCache {
 public:
  AllBytesCache(std::size_t blocksize, std::uint64_t size, Fetcher fetcher)
      : ReadCache("all", blocksize, size, std::move(fetcher)) {}

  Task<Bytes> read(std::uint64_t start, std::uint64_t end) override {
    const Span r = clamp(start, end);
    if (r.empty()) co_return Bytes{};
    Buffer data = data_;
    if (data) {
      ++stats_.hits;
    } else {
      ++stats_.misses;
      Bytes got = co_await fetch(0, size());
      data = share(std::move(got));
      data_ = data;
    }
    co_return slice(*data, r.start, r.length());
  }

  void clear() override { data_.reset(); }
  std::uint64_t cached_bytes() const override { return data_ ? data_->size() : 0; }

 private:
  Buffer data_;
};

std::string joined_cache_types() {
  std::string out;
  for (const std::string& name : cache_types()) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace

// --- ReadCache -----------------------------------------------------------------------------------

ReadCache::ReadCache(std::string_view name, std::size_t blocksize, std::uint64_t size,
                     Fetcher fetcher)
    : name_(name), blocksize_(blocksize), size_(size), fetcher_(std::move(fetcher)) {}

ReadCache::Span ReadCache::clamp(std::uint64_t start, std::uint64_t end) {
  end = std::min(end, size_);
  if (start >= end) return Span{start, start};
  stats_.requested_bytes += end - start;
  return Span{start, end};
}

Task<Bytes> ReadCache::fetch(std::uint64_t start, std::uint64_t end) {
  ++stats_.fetches;
  Task<Bytes> pending = fetcher_(start, end);
  Bytes got = co_await std::move(pending);
  // The contract says never more than asked; a fetcher that ignores its end (a server that
  // sent the whole file) must not shift every offset after it.
  if (got.size() > end - start) got.resize(static_cast<std::size_t>(end - start));
  stats_.fetched_bytes += got.size();
  co_return got;
}

// --- factory -------------------------------------------------------------------------------------

std::vector<std::string> cache_types() {
  return {"none", "readahead", "blockcache", "bytes", "all"};
}

std::unique_ptr<ReadCache> make_cache(std::string_view name, std::size_t blocksize,
                                      std::uint64_t size, Fetcher fetcher, CacheOptions opts) {
  if (!fetcher) throw InvalidArgument("", "make_cache needs a fetcher");
  if (name == "none") return std::make_unique<NoCache>(blocksize, size, std::move(fetcher));
  if (name == "readahead") {
    return std::make_unique<ReadAheadCache>(blocksize, size, std::move(fetcher));
  }
  if (name == "blockcache") {
    if (blocksize == 0) throw InvalidArgument("", "cache type blockcache needs a blocksize > 0");
    if (opts.maxblocks == 0) throw InvalidArgument("", "cache option maxblocks must be >= 1");
    return std::make_unique<BlockCache>(blocksize, size, std::move(fetcher), opts.maxblocks);
  }
  if (name == "bytes") {
    return std::make_unique<BytesCache>(blocksize, size, std::move(fetcher), opts.trim);
  }
  if (name == "all") return std::make_unique<AllBytesCache>(blocksize, size, std::move(fetcher));
  throw InvalidArgument("", "unknown cache type '" + path::escape_for_message(name) +
                                "' (known: " + joined_cache_types() + ")");
}

}  // namespace asyncfs
