#pragma once
// FirecREST JSON → typed models, tolerant of the response variants still deployed (2.3.x to
// 2.5.x): camelCase and snake_case keys, integer or string job ids, a string or a list for a
// job state, sizes as decimal strings. A missing field or a wrong type throws ProtocolError
// naming the field and `what` (the request), never crashes.

#include <simdjson.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "asyncfs/backends/firecrest.hpp"

namespace asyncfs::firecrest::model {

using simdjson::dom::element;
using simdjson::dom::object;

/// The first of `keys` present in `obj` (null values count as absent).
std::optional<element> field(const object& obj, std::initializer_list<std::string_view> keys);

/// Reading context: names the request in every error.
struct Reader {
  std::string what;  ///< e.g. "firecrest://daint/home/u (ls)"

  [[noreturn]] void fail(std::string_view field, std::string_view problem) const;
  object as_object(const element& e, std::string_view name) const;
  /// Required / optional string.
  std::string str(const object& o, std::initializer_list<std::string_view> keys) const;
  std::string opt_str(const object& o, std::initializer_list<std::string_view> keys) const;
  /// An integer given as a number or a decimal string.
  std::int64_t integer(const object& o, std::initializer_list<std::string_view> keys) const;
  std::optional<std::int64_t> opt_integer(const object& o,
                                          std::initializer_list<std::string_view> keys) const;
  /// A job id: a string or an integer, returned as a string.
  std::string id(const object& o, std::initializer_list<std::string_view> keys) const;
  /// One value already found (one pass over an object's fields, for the hot converters).
  std::string text_of(const element& e, std::string_view name) const;
  std::optional<std::int64_t> int_of(const element& e, std::string_view name) const;
  /// The "output" member of a response body.
  element output(const element& doc) const;
};

System system(const Reader& r, const element& e);
std::vector<System> systems(const Reader& r, const element& doc);
UserInfo userinfo(const Reader& r, const element& doc);
RemoteFile remote_file(const Reader& r, const element& e);
std::vector<RemoteFile> files(const Reader& r, const element& doc);
/// {"output": File} (mkdir, chmod, chown, symlink).
RemoteFile output_file(const Reader& r, const element& doc);
/// {"output": "text"} (view, file).
std::string output_text(const Reader& r, const element& doc);
StatResult stat(const Reader& r, const element& doc);
HeadTailResult head_tail(const Reader& r, const element& doc);
Checksum checksum(const Reader& r, const element& doc);
/// `keep_json` = false leaves Job::json empty (polling thousands of jobs needs their states,
/// not a copy of every record).
Job job(const Reader& r, const element& e, bool keep_json = true);
/// {"jobs": [...] | null}
std::vector<Job> jobs(const Reader& r, const element& doc);
JobMetadata job_metadata(const Reader& r, const element& doc);
/// {"jobId": ...}
std::string submitted_id(const Reader& r, const element& doc);
TransferJob transfer_job(const Reader& r, const element& doc);

/// The transfer directives of a staged transfer, wherever the server version put them.
struct Directives {
  std::string download_url;
  std::vector<std::string> parts_upload_urls;
  std::string complete_upload_url;
  std::optional<std::uint64_t> max_part_size;
};
Directives directives(const Reader& r, const element& doc);

/// \brief The records of `wanted` ids in a job list (`{"jobs": [...]}`), read On-Demand in one
/// forward pass (no DOM: a list of 10,000 jobs costs about its own size). `body` may be grown
/// by simdjson's padding. Records carry no raw JSON.
std::map<std::string, Job> wanted_jobs(const Reader& r, std::string& body,
                                       const std::unordered_set<std::string_view>& wanted,
                                       simdjson::ondemand::parser& parser);

/// "message" of an ApiResponseError body (or "detail"/"error"), "" if none.
std::string error_message(std::string_view body);

}  // namespace asyncfs::firecrest::model
