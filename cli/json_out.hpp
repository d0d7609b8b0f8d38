#pragma once
// JSON output of FileInfo for `ls --json`, `info --json`, `find --json` and `glob --json`.

#include <string>
#include <string_view>

#include "asyncfs/file_info.hpp"

namespace asyncfs::cli {

/// \brief Appends `s` as a JSON string literal.
///
/// Quotes, backslashes and control characters are escaped; valid UTF-8 is copied as is; every
/// byte that is not part of a valid UTF-8 sequence becomes U+FFFD, because JSON text must be
/// Unicode and names on a local disk may be arbitrary bytes.
void append_json_string(std::string& out, std::string_view s);

/// \brief One info object: "name" (shown as `name`), "size" (null when unknown), "type", then
/// mtime, mode, link_target, etag and the backend's extra keys when present.
std::string info_to_json(const FileInfo& info, std::string_view name);

}  // namespace asyncfs::cli
