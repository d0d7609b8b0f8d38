// firecrest::Client: a staged object into a local file, in parallel ranged GETs of its
// presigned URL. Each range streams into its own offsets (a FileWriter per attempt, all of them
// taking turns on one WriteLane), so memory holds a few buffers per connection, never a body.
// A connection that drops mid-range resumes from the first byte not yet on disk.
//
// The presigned URL is a secret: every error leaving this file names the remote path and the
// range, never the URL (rethrow_without_url).

#include <algorithm>
#include <charconv>
#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include "asyncfs/gather.hpp"
#include "backends/firecrest/client_impl.hpp"
#include "core/fs/file_writer.hpp"
#include "core/http/ranges.hpp"
#include "core/http/status.hpp"

namespace asyncfs::firecrest {
namespace {

/// Bytes per ranged GET. With the body streamed to disk the size no longer bounds memory; it
/// balances the connections near the end of the object and bounds what a dropped range costs.
constexpr std::uint64_t kRangeBytes = 8ull << 20;
/// Write buffer per attempt (four of them may queue before a write blocks the loop).
constexpr std::size_t kWriteChunk = 256 << 10;
/// Start of an error answer kept for its S3 error code.
constexpr std::size_t kErrorBodyMax = 4096;
/// A failed attempt that saved any bytes starts a fresh retry budget: the transfer progresses,
/// so the drops are not one fault repeating. How much an attempt saves is not ours to choose
/// (a reset discards what the server had not yet sent, more of it the slower we read), so any
/// progress counts, and this many renewals per range bound a server that trickles and drops.
constexpr int kMaxResumes = 64;

/// What one attempt's callbacks saw. They run inside the transport's callbacks, so they
/// record and never throw.
struct AttemptState {
  std::shared_ptr<uvfs::FileWriter> writer;
  std::uint64_t from = 0;  ///< first byte this attempt asked for
  std::uint64_t want = 0;  ///< bytes still to take from the body
  std::uint64_t skip = 0;  ///< body bytes before `from` (a server that ignored Range)
  bool accepted = false;   ///< the head answers the range: body bytes go to the file
  std::optional<ProtocolError> problem;
  std::string error_body;  ///< start of a non-success body
  std::uint64_t pushed = 0;
};

/// Judges the head of the answer to `bytes=from-last` of an object of `size` bytes.
void judge_head(AttemptState& s, long status, const http::Headers& headers, std::uint64_t size,
                const std::string& what) {
  auto header = [&headers](std::string_view name) -> std::optional<std::string> {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return std::nullopt;
  };
  if (status == 206) {
    std::optional<http::ContentRange> cr;
    if (auto v = header("content-range")) cr = http::parse_content_range(*v);
    if (!cr || !cr->first) {
      s.problem.emplace(what, "the staging area sent no valid Content-Range");
    } else if (cr->total && *cr->total != size) {
      s.problem = staged_copy_changed(what, size, *cr->total);
    } else if (*cr->first != s.from || *cr->last + 1 < s.from + s.want) {
      s.problem.emplace(what, "the staging area answered another byte range");
    } else {
      s.accepted = true;
    }
  } else if (status == 200) {
    // Range ignored: the whole object follows; its length must still be the file's.
    std::optional<std::uint64_t> length;
    if (auto v = header("content-length")) {
      std::uint64_t n = 0;
      const char* end = v->data() + v->size();
      if (std::from_chars(v->data(), end, n).ptr == end) length = n;
    }
    if (length && *length != size) {
      s.problem = staged_copy_changed(what, size, *length);
    } else {
      s.accepted = true;
      s.skip = s.from;
    }
  } else if (status == 416) {
    std::optional<http::ContentRange> cr;
    if (auto v = header("content-range")) cr = http::parse_content_range(*v);
    s.problem = staged_copy_changed(what, size, cr && cr->total ? *cr->total : 0);
  }
}

/// Body bytes of an accepted answer into the file; false once the range is complete (the
/// rest of an ignored-Range body is not wanted).
bool take(AttemptState& s, std::string_view data, Callback* progress) {
  if (!s.accepted) {
    if (s.problem) return false;
    const std::size_t n = std::min(data.size(), kErrorBodyMax - s.error_body.size());
    s.error_body.append(data.substr(0, n));
    return true;
  }
  if (s.skip > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(s.skip, data.size()));
    s.skip -= n;
    data.remove_prefix(n);
  }
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(s.want, data.size()));
  if (n > 0) {
    if (!s.writer->push(data.substr(0, n))) return false;
    s.want -= n;
    s.pushed += n;
    if (progress) progress->relative_update(n);
  }
  return s.want > 0;
}

/// [first, first + length) of the object into `fd`, resuming after dropped connections.
Task<void> download_range(Client::Impl* impl, uv_loop_t* loop, std::string url, uv_file fd,
                          std::uint64_t first, std::uint64_t length, std::uint64_t size,
                          std::shared_ptr<uvfs::WriteLane> lane, std::string target,
                          Callback* progress, std::string what) {
  http::RequestSpec spec;
  spec.url = url;
  spec.authenticate = false;
  spec.service = "s3";
  http::Engine& engine = http::Engine::of(impl->s3->io());
  std::uint64_t done = 0;
  int resumes = 0;
  auto attempts = std::make_unique<http::Attempts>(*impl->s3, spec);
  while (done < length) {
    const std::uint64_t from = first + done;
    auto state = std::make_shared<AttemptState>();
    state->writer = std::make_shared<uvfs::FileWriter>(loop, fd, kWriteChunk,
                                                       static_cast<std::int64_t>(from), lane);
    state->from = from;
    state->want = length - done;
    http::Request req = co_await attempts->start();
    req.headers.emplace_back(
        "Range", "bytes=" + std::to_string(from) + "-" + std::to_string(first + length - 1));
    req.sink.on_head = [state, size, what](long status, const http::Headers& headers) {
      judge_head(*state, status, headers, size, what);
    };
    req.sink.on_data = [state, progress](std::string_view data) {
      return take(*state, data, progress);
    };
    req.sink.room = [state]() -> std::span<char> {
      if (!state->accepted || state->skip > 0) return {};
      std::span<char> r = state->writer->room();
      return r.first(static_cast<std::size_t>(std::min<std::uint64_t>(r.size(), state->want)));
    };
    http::Response resp;
    std::exception_ptr err;
    bool got = false;
    try {
      resp = co_await engine.fetch(std::move(req), attempts->transport());
      got = true;
    } catch (...) {
      err = std::current_exception();
    }
    // Stopping the body once the range is complete is not a failure.
    const bool complete = state->accepted && state->want == 0 && !state->problem;
    // Bytes received before a failure are the object's own (the head was checked): all of
    // them are written, so the next attempt starts where this one stopped.
    uvfs::FileWriter& writer = *state->writer;
    writer.finish();
    co_await writer.drained();
    if (writer.error() != 0) throw_uv_error(writer.error(), target, "write");
    if (complete) {
      done = length;
      continue;
    }
    // What reached the disk counts; what was dropped is fetched again.
    const std::uint64_t kept = static_cast<std::uint64_t>(writer.contiguous_end()) - from;
    done += kept;
    if (progress && state->pushed > kept) {
      const std::uint64_t back = state->pushed - kept;
      progress->absolute_update(progress->value() - std::min(progress->value(), back));
    }
    if (state->problem) throw *state->problem;
    if (got && state->accepted) {
      // A clean end before the range was complete: a truncated answer, worth another try.
      err = std::make_exception_ptr(NetworkError(what, "the staging area ended the range early"));
      got = false;
    }
    if (kept > 0 && resumes < kMaxResumes) {
      ++resumes;
      attempts = std::make_unique<http::Attempts>(*impl->s3, spec);
      continue;
    }
    if (got) resp.body = std::move(state->error_body);
    const bool again = co_await attempts->retry(got ? &resp : nullptr, err);
    if (again) continue;
    if (!got) std::rethrow_exception(err);
    if (!http::is_success(resp.status)) throw_s3(resp, what, "staged download");
    throw ProtocolError(what, "unexpected status " + std::to_string(resp.status));
  }
}

/// download_range with every failure named by `what` and scrubbed of the URL.
Task<void> download_range_scrubbed(Client::Impl* impl, uv_loop_t* loop, std::string url, uv_file fd,
                                   std::uint64_t first, std::uint64_t length, std::uint64_t size,
                                   std::shared_ptr<uvfs::WriteLane> lane, std::string target,
                                   Callback* progress, std::string what) {
  std::optional<Error> failed;
  try {
    co_await download_range(impl, loop, url, fd, first, length, size, std::move(lane), target,
                            progress, what);
    co_return;
  } catch (const Error& e) {
    failed = e;
  }
  rethrow_without_url(*failed, url, what);
}

}  // namespace

Task<void> download_ranges(Client::Impl* impl, uv_loop_t* loop, std::string url, uv_file fd,
                           std::uint64_t size, std::string target, Callback* progress,
                           std::string what) {
  const std::size_t ranges = static_cast<std::size_t>((size + kRangeBytes - 1) / kRangeBytes);
  auto lane = std::make_shared<uvfs::WriteLane>();
  auto fetch = [&](std::size_t i) -> Task<void> {
    const std::uint64_t first = i * kRangeBytes;
    return download_range_scrubbed(impl, loop, url, fd, first, std::min(kRangeBytes, size - first),
                                   size, lane, target, progress, range_what(what, i, ranges));
  };
  GatherOptions gopts;
  gopts.batch_size = static_cast<int>(impl->opts.s3_connections);
  gopts.policy = GatherPolicy::kCancelOnFirstError;
  auto ignore = [](std::size_t, Outcome<void>&&) {};  // failures rethrown by the policy
  co_await gather_each<void>(ranges, fetch, ignore, gopts);
}

}  // namespace asyncfs::firecrest
