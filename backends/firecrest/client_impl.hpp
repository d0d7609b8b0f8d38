#pragma once
// Private state of firecrest::Client, shared by client.cpp (status and direct operations),
// jobs.cpp (compute) and transfers.cpp (uploads, downloads, staged transfers).

#include <simdjson.h>
#include <uv.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "asyncfs/backends/firecrest.hpp"
#include "asyncfs/errors.hpp"
#include "backends/firecrest/models.hpp"
#include "core/http/client.hpp"

namespace asyncfs::firecrest {

using Clock = std::chrono::steady_clock;
using Query = std::vector<std::pair<std::string, std::string>>;

/// One API call as the client methods describe it.
struct Call {
  std::string method = "GET";
  std::string path;  ///< below the base URL, e.g. "/filesystem/daint/ops/ls"
  Query query;
  std::optional<std::string> json;  ///< request body (application/json)
  std::optional<std::string> body;  ///< any other body (with content_type)
  std::string content_type;
  std::string service;  ///< rate-limiter key: status, filesystem, transfer, compute
  std::optional<bool> idempotent;
  std::string what;  ///< what errors name: "firecrest://daint/home/u" or the job
  std::string op;    ///< "ls", "submit", ...
  std::optional<std::uint64_t> max_bytes;
};

struct Client::Impl {
  FirecrestOptions opts;
  std::shared_ptr<IoThread> io;
  std::string base;  ///< opts.url without trailing '/'
  std::shared_ptr<http::AuthProvider> auth;
  std::unique_ptr<http::Client> api;
  std::unique_ptr<http::Client> s3;  ///< presigned URLs: no auth, own in-flight cap
  simdjson::dom::parser parser;      ///< loop thread; parse and convert without awaiting
  /// For the job list (thousands of records, polled): On-Demand reads it in one forward pass
  /// without building a DOM, so memory stays near the body's own size.
  simdjson::ondemand::parser stream_parser;
  std::optional<std::vector<System>> systems;
  /// Submit times of this client's jobs, for the not-found grace (pruned as they age out).
  std::map<std::string, Clock::time_point> submitted;
  /// F7T-AppVersion of the server (from the first response that carries it).
  std::string server_version;
  /// Servers before 2.4 take staged transfers in another request shape.
  bool pre_2_4() const {
    return server_version.starts_with("2.3") || server_version.starts_with("2.2");
  }

  explicit Impl(FirecrestOptions o);

  std::string url_of(const Call& c) const;
  /// Sends `c` and returns a 2xx response; anything else throws the typed error.
  Task<http::Response> send(Call c);
  /// The parsed body of a 2xx JSON response (valid until the next parse: convert at once).
  simdjson::dom::element parse(const http::Response& r, const std::string& what);
  /// send() then `convert` on the parsed body; errors name `c.what` and `c.op`.
  template <class T>
  Task<T> fetch(Call c, T (*convert)(const model::Reader&, const simdjson::dom::element&)) {
    model::Reader rd{c.what + " (" + c.op + ")"};
    http::Response r = co_await send(std::move(c));
    co_return convert(rd, parse(r, rd.what));
  }
  /// The known systems, for an unknown-system error ("" when they cannot be listed).
  Task<std::string> known_systems();
};

// --- argument checks (client.cpp) -----------------------------------------------------------

/// "firecrest://system/path" for messages (escaped).
std::string display(const std::string& system, std::string_view path);
/// A system name for the URL: [A-Za-z0-9._-]+, lower-cased (the server's paths are).
std::string check_system(const std::string& system);
/// An absolute path without NUL, newline or single quote (the server wraps paths in single
/// quotes in shell commands), valid UTF-8.
void check_path(const std::string& system, const std::string& path);
/// A job id the API accepts: ^[A-Za-z0-9]+$ (old integer ids included).
void check_job_id(const std::string& system, const std::string& id);

/// Throws the typed error for an unsuccessful API response.
[[noreturn]] void throw_api_error(const http::Response& r, const std::string& what,
                                  std::string_view op);

/// \brief Waits for a transfer job (mv, cp, rm, staged transfer) and checks its output log for
/// the server's success line; a failed job throws with its error log as the cause
/// (jobs.cpp).
Task<void> wait_transfer_job(std::shared_ptr<Client> client, std::string system, TransferJob job,
                             std::string what, std::string op);

/// One GET of the job list, filtered to `job_ids` (jobs.cpp): Client::_poll with the choice
/// of keeping each record's JSON.
Task<std::map<std::string, Job>> poll_jobs(Client::Impl* impl, std::string system,
                                           std::vector<std::string> job_ids, bool keep_json);

// --- staging area (transfers.cpp, range_download.cpp) ---------------------------------------

/// Rethrows `e` (the failure of a request to a presigned URL) naming `what`, with the URL
/// removed from its message and cause: a presigned URL is a secret.
[[noreturn]] void rethrow_without_url(const Error& e, const std::string& url,
                                      const std::string& what);
/// The typed error of an unsuccessful answer of the staging area (its S3 error code kept).
[[noreturn]] void throw_s3(const http::Response& r, const std::string& what, std::string_view op);
/// "`what` (range i+1 of n)": names one range of a staged transfer in errors.
std::string range_what(const std::string& what, std::size_t i, std::size_t n);
/// A staged copy whose size is not the file's: the file changed between stat and staging.
ProtocolError staged_copy_changed(const std::string& what, std::uint64_t expected,
                                  std::uint64_t now);
/// \brief The staged object of `size` bytes into `fd` (a new temporary file): parallel ranged
/// GETs, each streamed to its offsets through a shared write lane, so memory holds buffers,
/// not bodies. A dropped connection resumes its range where the file stops.
Task<void> download_ranges(Client::Impl* impl, uv_loop_t* loop, std::string url, uv_file fd,
                           std::uint64_t size, std::string target, Callback* progress,
                           std::string what);

/// The scheduler states that end a job.
bool terminal_state(std::string_view state);

}  // namespace asyncfs::firecrest
