// Bulk reads and writes (cat, cat_ranges, pipe, sizes) and the existence checks.

#include <exception>
#include <utility>

#include "asyncfs/errors.hpp"
#include "asyncfs/filesystem.hpp"
#include "asyncfs/gather.hpp"
#include "asyncfs/path.hpp"
#include "core/filesystem_detail.hpp"

namespace asyncfs {

Task<std::size_t> AsyncFileSystem::_cat_each(
    Paths paths, UniqueFunction<void(const std::string&, Outcome<Bytes>&&)> sink, CatOptions opts) {
  // Validate every input up front so a bad one is reported before any I/O starts.
  detail::strip_all(*this, paths);
  std::vector<std::string> names = co_await _expand_path(paths, opts.recursive, std::nullopt);

  std::size_t failed = 0;
  std::size_t first_error_at = names.size();
  std::exception_ptr first_error;
  if (opts.progress) opts.progress->set_size(names.size());

  GatherOptions gopts;
  gopts.batch_size = window(opts.batch_size, /*nofiles=*/true);
  gopts.progress = opts.progress;
  co_await gather_each<Bytes>(
      names.size(),
      [this, &names](std::size_t i) { return _cat_file(names[i], std::nullopt, std::nullopt); },
      [&](std::size_t i, Outcome<Bytes>&& out) {
        if (!out.has_value()) {
          // A recursive expansion lists directories too; they have no bytes to return.
          if (opts.recursive && detail::is_kind(out.error(), ErrorKind::kIsADirectory)) return;
          ++failed;
          if (opts.on_error == OnError::kRaise) {
            if (i < first_error_at) {
              first_error_at = i;
              first_error = out.has_error() ? out.error() : std::exception_ptr{};
            }
            return;
          }
          if (opts.on_error != OnError::kReturn) return;
        }
        sink(names[i], std::move(out));
      },
      gopts);
  if (opts.on_error == OnError::kRaise && failed > 0) {
    if (first_error) std::rethrow_exception(first_error);
    throw Cancelled(names[first_error_at], "cat did not run");
  }
  co_return failed;
}

Task<CatResult> AsyncFileSystem::_cat(Paths paths, CatOptions opts) {
  const std::vector<std::string> stripped = detail::strip_all(*this, paths);
  CatResult result;
  co_await _cat_each(
      paths,
      [&result](const std::string& name, Outcome<Bytes>&& out) {
        result.items.insert_or_assign(name, std::move(out));
      },
      opts);
  // fsspec returns plain bytes only for one literal path that expanded to itself.
  result.single = !paths.is_list && stripped.size() == 1 && !has_magic(stripped[0]) &&
                  !opts.recursive &&
                  (result.items.empty() ||
                   (result.items.size() == 1 && result.items.begin()->first == stripped[0]));
  co_return result;
}

Task<std::vector<Outcome<Bytes>>> AsyncFileSystem::_cat_ranges(
    std::vector<std::string> paths, std::vector<std::optional<std::int64_t>> starts,
    std::vector<std::optional<std::int64_t>> ends, std::optional<int> batch_size) {
  for (const auto& p : paths) detail::validate_path(p);
  const std::size_t n = paths.size();
  // Empty bounds mean "whole file" for every path.
  if (starts.empty()) starts.resize(n);
  if (ends.empty()) ends.resize(n);
  if (starts.size() != n || ends.size() != n) {
    throw InvalidArgument("", "cat_ranges: got " + std::to_string(n) + " paths, " +
                                  std::to_string(starts.size()) + " starts and " +
                                  std::to_string(ends.size()) + " ends");
  }
  GatherOptions gopts;
  gopts.batch_size = window(batch_size, /*nofiles=*/true);
  co_return co_await gather<Bytes>(
      n,
      [this, &paths, &starts, &ends](std::size_t i) {
        return _cat_file(paths[i], starts[i], ends[i]);
      },
      gopts);
}

Task<void> AsyncFileSystem::_pipe(std::map<std::string, Bytes> items,
                                  std::optional<int> batch_size) {
  // Reject bad names before anything is written.
  for (const auto& kv : items) detail::validate_path(kv.first);
  std::vector<std::pair<std::string, Bytes>> work;
  work.reserve(items.size());
  for (auto& kv : items) work.emplace_back(kv.first, std::move(kv.second));
  items.clear();
  GatherOptions gopts;
  gopts.batch_size = window(batch_size, /*nofiles=*/true);
  auto outs = co_await gather<void>(
      work.size(),
      [this, &work](std::size_t i) {
        return _pipe_file(work[i].first, std::move(work[i].second), WriteMode::kOverwrite);
      },
      gopts);
  detail::raise_first(outs);
}

Task<bool> AsyncFileSystem::_exists(std::string path) {
  try {
    co_await _info(std::move(path));
  } catch (const NotFound&) {
    co_return false;
  } catch (const NotADirectory&) {
    co_return false;  // "file/child": nothing can exist below a regular file
  }
  co_return true;
}

// A path below a regular file ("file/child") reports NotADirectory on POSIX; it is simply not
// there. Everything else (timeouts, 5xx, permissions) propagates instead of reading as false.
Task<bool> AsyncFileSystem::_isdir(std::string path) {
  try {
    co_return (co_await _info(std::move(path))).is_dir();
  } catch (const NotFound&) {
    co_return false;
  } catch (const NotADirectory&) {
    co_return false;
  }
}

Task<bool> AsyncFileSystem::_isfile(std::string path) {
  try {
    co_return (co_await _info(std::move(path))).is_file();
  } catch (const NotFound&) {
    co_return false;
  } catch (const NotADirectory&) {
    co_return false;
  }
}

Task<std::optional<std::uint64_t>> AsyncFileSystem::_size(std::string path) {
  co_return (co_await _info(std::move(path))).size;
}

Task<std::vector<std::optional<std::uint64_t>>> AsyncFileSystem::_sizes(
    std::vector<std::string> paths, std::optional<int> batch_size) {
  for (const auto& p : paths) detail::validate_path(p);
  GatherOptions gopts;
  gopts.batch_size = window(batch_size, /*nofiles=*/false);
  auto outs = co_await gather<std::optional<std::uint64_t>>(
      paths.size(), [this, &paths](std::size_t i) { return _size(paths[i]); }, gopts);
  std::vector<std::optional<std::uint64_t>> sizes;
  sizes.reserve(outs.size());
  for (auto& o : outs) sizes.push_back(std::move(o).value());
  co_return sizes;
}

}  // namespace asyncfs
