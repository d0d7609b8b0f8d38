#pragma once
// Helpers shared by the base algorithms of AsyncFileSystem (core/filesystem*.cpp). Not public.

#include <cstddef>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "asyncfs/errors.hpp"
#include "asyncfs/filesystem.hpp"
#include "asyncfs/outcome.hpp"
#include "asyncfs/task.hpp"

namespace asyncfs::detail {

/// Expanded paths with the info the expansion already learnt (nullopt: not looked up).
using InfoMap = std::map<std::string, std::optional<FileInfo>>;

/// \throws InvalidArgument when maxdepth is set and < 1.
void check_maxdepth(std::optional<int> maxdepth, std::string_view op);

/// \throws InvalidArgument for an empty or non-UTF-8 path, naming it (escaped).
void validate_path(std::string_view p);

/// Validates every item, then strips it through `fs` (a backend's strip_protocol may not check).
std::vector<std::string> strip_all(const AsyncFileSystem& fs, const Paths& paths);

/// Readable rendering of a path argument for error messages.
std::string describe(const Paths& paths);

/// True when `e` is an asyncfs::Error of `kind`.
bool is_kind(const std::exception_ptr& e, ErrorKind kind);

/// fsspec's expand_path keeping the infos that globbing and finding produced.
/// `items` are already stripped. `literal`: never treat items as globs (names that came back
/// from a listing may contain `[` or `?`).
Task<InfoMap> expand_detail(AsyncFileSystem* fs, std::vector<std::string> items, bool recursive,
                            std::optional<int> maxdepth, bool literal);

/// Rethrows the first failure of `outs` (in input order), if any.
template <class T>
void raise_first(const std::vector<Outcome<T>>& outs) {
  for (const auto& o : outs) {
    if (o.has_error()) std::rethrow_exception(o.error());
    if (o.empty()) o.value();  // an item that never ran reports Cancelled
  }
}

/// Is `path` a directory, using `known` when the expansion already told us.
Task<bool> is_dir_known(AsyncFileSystem* fs, std::string path, std::optional<FileInfo> known);

}  // namespace asyncfs::detail
