#pragma once
/// \file caching.hpp
/// \brief Read caches for random-access files, selected by name, and the cached read-mode file.
///
/// A cache sits between a file object and an asynchronous range fetcher (normally the
/// backend's `_cat_file`). Each strategy trades memory for fewer round trips in its own way:
///
/// | name         | behaviour                                                                 |
/// |--------------|---------------------------------------------------------------------------|
/// | `none`       | pass-through: one fetch per read                                          |
/// | `readahead`  | one window; a miss fetches [start, end + blocksize) and replaces it,      |
/// |              | keeping the part of the old window that the read overlaps                 |
/// | `blockcache` | fixed blocks of `blocksize`, LRU of `maxblocks`; whole blocks only; runs  |
/// |              | of consecutive missing blocks are fetched in one request                  |
/// | `bytes`      | one contiguous buffer that grows forward or backward by less than a       |
/// |              | blocksize, reads ahead one blocksize and trims its front when it lags     |
/// |              | more than a blocksize behind the reads                                    |
/// | `all`        | the whole file, fetched once on the first read                            |
///
/// Every cache clamps reads to the file size: reading past EOF returns what exists (possibly
/// nothing) and never throws, and an empty file never calls the fetcher. Caches run on one
/// IoThread, like the file that owns them; concurrent reads on one cache are allowed (each
/// read works on a snapshot and installs its result when its fetch completes), but they may
/// fetch the same bytes twice.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "asyncfs/file.hpp"
#include "asyncfs/filesystem.hpp"
#include "asyncfs/task.hpp"
#include "asyncfs/unique_function.hpp"

namespace asyncfs {

/// \brief Fetches bytes [start, end) of the file (end exclusive).
///
/// Never returns more than asked; may return less only at EOF (a cache treats a short answer
/// as the end of the data). Errors propagate to the reader unchanged.
using Fetcher = UniqueFunction<Task<Bytes>(std::uint64_t start, std::uint64_t end)>;

/// \brief Counters of one cache, for tests and tuning (fsspec's hit/miss counts).
///
/// The unit of `hits` and `misses` is a block for `blockcache` (a read touching five blocks
/// counts five) and a read() call for every other cache (a read that needed any fetch at all
/// is a miss, even when part of it came from memory).
struct CacheStats {
  std::uint64_t hits = 0;           ///< reads (blocks) served from memory alone
  std::uint64_t misses = 0;         ///< reads (blocks) that needed a fetch
  std::uint64_t fetches = 0;        ///< calls of the fetcher, including failed ones
  std::uint64_t fetched_bytes = 0;  ///< bytes the fetcher returned
  /// Bytes the callers asked for, after clamping to the file size. Compared with
  /// fetched_bytes it shows how much a strategy reads ahead (or saves).
  std::uint64_t requested_bytes = 0;
  std::uint64_t evictions = 0;  ///< blocks dropped by the LRU (`blockcache` only)
};

/// \brief Tuning knobs of the strategies; each cache reads only its own.
struct CacheOptions {
  /// `blockcache`: how many blocks stay in memory (>= 1; fsspec's default is 32).
  std::size_t maxblocks = 32;
  /// `bytes`: drop the front of the buffer once it lags more than a blocksize behind reads.
  /// Without it a forward scan keeps the whole file in memory.
  bool trim = true;
};

/// \brief A read cache over one file of known size. Use on one IoThread only.
class ReadCache {
 public:
  virtual ~ReadCache() = default;
  ReadCache(const ReadCache&) = delete;
  ReadCache& operator=(const ReadCache&) = delete;

  /// \brief Bytes [start, end) of the file, with `end` clamped to the file size.
  ///
  /// `start >= end` or `start >= size()` gives "" without fetching, so `read(a, UINT64_MAX)`
  /// reads to EOF. The result is shorter than asked only at EOF (or when the fetcher returned
  /// less because the file shrank). If the fetcher throws, the error propagates and the cache
  /// keeps only data it had before or that earlier fetches of this read returned intact.
  virtual Task<Bytes> read(std::uint64_t start, std::uint64_t end) = 0;

  /// Drops the cached data (a closed file releases its memory); counters are kept.
  virtual void clear() = 0;
  /// Bytes currently held in memory.
  virtual std::uint64_t cached_bytes() const = 0;

  /// The name this cache was made with ("readahead", "blockcache", ...).
  std::string_view name() const noexcept { return name_; }
  std::uint64_t size() const noexcept { return size_; }
  std::size_t blocksize() const noexcept { return blocksize_; }
  CacheStats stats() const noexcept { return stats_; }

 protected:
  ReadCache(std::string_view name, std::size_t blocksize, std::uint64_t size, Fetcher fetcher);

  /// The part of [start, end) inside the file; counts it in requested_bytes.
  struct Span {
    std::uint64_t start = 0;
    std::uint64_t end = 0;  ///< == start when there is nothing to read
    bool empty() const noexcept { return end <= start; }
    std::uint64_t length() const noexcept { return end - start; }
  };
  Span clamp(std::uint64_t start, std::uint64_t end);

  /// Calls the fetcher for [start, end) and counts it; cuts an over-long answer to size.
  Task<Bytes> fetch(std::uint64_t start, std::uint64_t end);

  CacheStats stats_;

 private:
  std::string name_;
  std::size_t blocksize_;
  std::uint64_t size_;
  Fetcher fetcher_;
};

/// Cache used when a caller asks for none in particular (fsspec's AbstractBufferedFile default).
inline constexpr std::string_view kDefaultCacheType = "readahead";

/// \brief Names make_cache() accepts, in a stable order.
std::vector<std::string> cache_types();

/// \brief Makes the cache called `name` over a file of `size` bytes.
/// \param[in] name one of cache_types()
/// \param[in] blocksize read-ahead or block size in bytes (`blockcache` needs it > 0)
/// \param[in] size the file size; reads are clamped to it
/// \param[in] fetcher the range reader, called on the IoThread that runs read()
/// \param[in] opts strategy knobs
/// \return the cache
/// \throws InvalidArgument for an unknown name (the message lists the known ones), a zero
///         blocksize with `blockcache`, maxblocks == 0 or an empty fetcher.
std::unique_ptr<ReadCache> make_cache(std::string_view name, std::size_t blocksize,
                                      std::uint64_t size, Fetcher fetcher, CacheOptions opts = {});

/// \brief A read-mode file ("rb") of known size whose reads go through a ReadCache.
///
/// Use only on the filesystem's loop thread (like every AsyncFile).
class CachedFile : public AsyncFile {
 public:
  /// The cache, for tests and tuning (its stats() survive close()).
  virtual const ReadCache& cache() const = 0;

 protected:
  using AsyncFile::AsyncFile;
};

/// \brief The default read-mode file: reads of `path` through `fs->_cat_file` and a cache.
///
/// Random access needs the size. A backend that cannot learn the size of a file (an HTTP
/// server without Content-Length) opens a forward-only streaming file instead; this function
/// does not guess.
/// \param[in] fs the filesystem whose `_cat_file` serves the ranges (kept alive by the file)
/// \param[in] path the path as `_cat_file` expects it (already stripped of its protocol)
/// \param[in] size the file size
/// \param[in] block_size the cache's block / read-ahead size
/// \param[in] cache_type a name of cache_types(); "" means kDefaultCacheType
/// \param[in] fetcher reads ranges instead of `fs->_cat_file` (a backend whose file objects
///            know more than a path: a staged copy, a whole small file fetched once)
/// \return an open file in mode "rb" positioned at 0
/// \throws InvalidArgument when `size` is unknown or the cache type / block size is invalid
std::unique_ptr<CachedFile> make_cached_file(std::shared_ptr<AsyncFileSystem> fs, std::string path,
                                             std::optional<std::uint64_t> size,
                                             std::size_t block_size, std::string cache_type,
                                             Fetcher fetcher = {});

}  // namespace asyncfs
