// firecrest::Client: uploads and downloads. Small files go through ops/upload and
// ops/download; larger ones are staged through S3: an upload PUTs presigned parts in parallel,
// completes the multipart upload and waits for the job that moves the object onto the
// cluster; a download waits for the job that stages the file and then fetches it in parallel
// ranges into a temporary file renamed into place.
//
// Presigned URLs are secrets (anyone holding one reads or writes the object): errors name the
// remote path and the part, never the URL.

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <utility>

#include "asyncfs/errors.hpp"
#include "asyncfs/gather.hpp"
#include "asyncfs/path.hpp"
#include "backends/firecrest/client_impl.hpp"
#include "core/fs/temp_file.hpp"
#include "core/fs/uv_fs.hpp"
#include "core/http/ranges.hpp"
#include "core/http/status.hpp"
#include "core/json_writer.hpp"

namespace asyncfs::firecrest {
namespace {

/// Ranged GETs of a staged download: this many bytes each, `s3_connections` at a time (so
/// 8 connections hold 32 MiB of bodies at most).
constexpr std::uint64_t kDownloadChunk = 4ull << 20;

/// Forwards a part's byte counts (which restart at 0 on a retry) to the whole transfer's
/// callback.
class PartProgress final : public Callback {
 public:
  explicit PartProgress(Callback* total) : total_(total) {}

 protected:
  void on_change() override {
    const std::uint64_t v = value();
    if (v >= last_) {
      total_->relative_update(v - last_);
    } else {
      total_->absolute_update(total_->value() - std::min(total_->value(), last_ - v));
    }
    last_ = v;
  }

 private:
  Callback* total_;
  std::uint64_t last_ = 0;
};

/// Sends a presigned request; any failure is rethrown naming `what`, never the URL.
Task<http::Response> presigned(http::Client& s3, http::RequestSpec spec, std::string what) {
  spec.authenticate = false;
  spec.service = "s3";
  const std::string url = spec.url;
  std::optional<Error> failed;
  try {
    http::Response r = co_await s3.send(std::move(spec));
    co_return r;
  } catch (const Error& e) {
    failed = e;
  }
  rethrow_without_url(*failed, url, what);
}

std::string multipart_body(const std::string& boundary, const std::string& filename,
                           std::string_view data) {
  std::string body;
  body.reserve(data.size() + 256);
  body += "--" + boundary + "\r\n";
  body += "Content-Disposition: form-data; name=\"file\"; filename=\"" + filename + "\"\r\n";
  body += "Content-Type: application/octet-stream\r\n\r\n";
  body.append(data);
  body += "\r\n--" + boundary + "--\r\n";
  return body;
}

std::string random_boundary() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string b = "asyncfs-";
  for (int i = 0; i < 24; ++i) b += kAlphabet[rng() % 36];
  return b;
}

Task<std::uint64_t> local_size(IoThread& io, std::string path) {
  uv_stat_t st = co_await uvfs::stat(io.loop(), path);
  if (S_ISDIR(st.st_mode)) throw IsADirectory(path, "upload needs a file, not a directory");
  co_return st.st_size;
}

/// Writes `data` to `target` atomically (temp file, rename).
Task<void> write_local(IoThread& io, std::string target, Bytes data) {
  uv_loop_t* loop = io.loop();
  auto fill = [loop, target, data = std::move(data)](uv_file fd) {
    return uvfs::write_all(loop, fd, data.data(), data.size(), 0, 1 << 20, target);
  };
  co_await uvfs::write_atomically(loop, target, std::move(fill));
}

std::string strip_file_scheme(std::string p) {
  if (p.starts_with("file://")) p.erase(0, 7);
  return p;
}

/// One ranged GET of the staged object: exactly [first, first + length) of an object of
/// `total` bytes. A different total means the file changed between the stat and the staging
/// job: the copy is not the file that was asked for.
Task<Bytes> get_range(Client::Impl* impl, std::string url, std::uint64_t first,
                      std::uint64_t length, std::uint64_t total, std::string what) {
  http::RequestSpec spec;
  spec.url = std::move(url);
  spec.headers.emplace_back(
      "Range", "bytes=" + std::to_string(first) + "-" + std::to_string(first + length - 1));
  spec.max_bytes = std::max<std::uint64_t>(length, total) + 1;
  http::Response r = co_await presigned(*impl->s3, std::move(spec), what);
  const auto changed = [&](std::uint64_t now) { return staged_copy_changed(what, total, now); };
  if (r.status == 416) {
    std::optional<http::ContentRange> cr;
    if (auto v = r.header("content-range")) cr = http::parse_content_range(*v);
    throw changed(cr && cr->total ? *cr->total : 0);
  }
  if (!http::is_success(r.status)) throw_s3(r, what, "staged download");
  if (r.status == 200) {
    // A server that ignores Range sends the whole object.
    if (r.body.size() != total) throw changed(r.body.size());
    co_return first == 0 && length == total ? std::move(r.body) : r.body.substr(first, length);
  }
  if (r.status != 206) throw ProtocolError(what, "unexpected status " + std::to_string(r.status));
  std::optional<http::ContentRange> cr;
  if (auto v = r.header("content-range")) cr = http::parse_content_range(*v);
  if (!cr || !cr->first) throw ProtocolError(what, "the staging area sent no valid Content-Range");
  if (cr->total && *cr->total != total) throw changed(*cr->total);
  if (*cr->first != first || *cr->last + 1 < first + length) {
    throw ProtocolError(what, "the staging area answered another byte range");
  }
  if (r.body.size() < length) {
    throw NetworkError(what, "the staging area sent " + std::to_string(r.body.size()) + " of " +
                                 std::to_string(length) + " bytes");
  }
  r.body.resize(length);
  co_return std::move(r.body);
}

Task<void> fetch_into(Client::Impl* impl, std::string url, char* dst, std::uint64_t first,
                      std::uint64_t length, std::uint64_t total, std::string what) {
  Bytes data = co_await get_range(impl, std::move(url), first, length, total, std::move(what));
  std::memcpy(dst, data.data(), data.size());
}

}  // namespace

[[noreturn]] void rethrow_without_url(const Error& e, const std::string& url,
                                      const std::string& what) {
  auto scrub = [&url](std::string s) {
    for (std::size_t at; (at = s.find(url)) != std::string::npos;)
      s.replace(at, url.size(), "<presigned URL>");
    const std::string head = url.substr(0, url.find('?'));
    for (std::size_t at; (at = s.find(head)) != std::string::npos;)
      s.replace(at, head.size(), "<staging area>");
    return s;
  };
  throw_error(e.kind(), what, scrub(e.message()), ErrorDetails{e.http_status(), scrub(e.cause())});
}

[[noreturn]] void throw_s3(const http::Response& r, const std::string& what, std::string_view op) {
  // S3 answers with an XML <Error><Code>..</Code><Message>..</Message>: keep its code only
  // (the message may quote the request).
  std::string code;
  const auto a = r.body.find("<Code>");
  const auto b = r.body.find("</Code>");
  if (a != std::string::npos && b != std::string::npos && b > a)
    code = r.body.substr(a + 6, b - a - 6);
  http::throw_status(r.status, what, op, code.empty() ? "staging area error" : "S3 " + code);
}

std::string range_what(const std::string& what, std::size_t i, std::size_t n) {
  return what + " (range " + std::to_string(i + 1) + " of " + std::to_string(n) + ")";
}

ProtocolError staged_copy_changed(const std::string& what, std::uint64_t expected,
                                  std::uint64_t now) {
  return ProtocolError(what, "the file changed while it was staged: it had " +
                                 std::to_string(expected) + " bytes, the staged copy has " +
                                 std::to_string(now));
}

// --- direct ----------------------------------------------------------------------------------

Task<Bytes> Client::_download_bytes(std::string system, std::string path) {
  check_path(system, path);
  Call c;
  c.path = "/filesystem/" + check_system(system) + "/ops/download";
  c.query = {{"path", path}};
  c.service = "filesystem";
  c.what = display(system, path);
  c.op = "download";
  c.max_bytes = 256ull << 20;
  http::Response r = co_await impl_->send(std::move(c));
  co_return std::move(r.body);
}

Task<void> Client::_upload_bytes(std::string system, std::string path, Bytes data) {
  check_path(system, path);
  const std::string name(path.ends_with('/') ? std::string_view() : path::basename(path));
  if (name.empty()) throw IsADirectory(display(system, path), "upload needs a file name");
  if (name.find_first_of("\"\\") != std::string::npos) {
    // Form-data file names cannot carry these reliably; the staged path has no such limit.
    throw InvalidArgument(display(system, path),
                          "a direct upload cannot name a file with '\"' or '\\'");
  }
  const std::string boundary = random_boundary();
  Call c;
  c.method = "POST";
  c.path = "/filesystem/" + check_system(system) + "/ops/upload";
  c.query = {{"path", path::parent(path)}};
  c.service = "filesystem";
  c.idempotent = true;  // the same bytes to the same name: repeating is harmless
  c.what = display(system, path);
  c.op = "upload";
  c.content_type = "multipart/form-data; boundary=" + boundary;
  c.body = multipart_body(boundary, name, data);
  co_await impl_->send(std::move(c));
}

// --- staged ----------------------------------------------------------------------------------

namespace {

Task<std::uint64_t> direct_limit(Client& client, std::string system) {
  System s = co_await client._system(system);
  const std::uint64_t cap = s.max_ops_file_size / 4 * 3;
  co_return std::min<std::uint64_t>(client.options().direct_transfer_limit, cap);
}

}  // namespace

Task<Transfer> Client::_start_upload(std::string system, std::string local_path,
                                     std::string remote_path, Callback* progress) {
  check_path(system, remote_path);
  local_path = strip_file_scheme(std::move(local_path));
  const std::string what = display(system, remote_path);
  const std::uint64_t size = co_await local_size(io(), local_path);
  if (size == 0) throw InvalidArgument(what, "an empty file cannot be staged: upload it directly");
  co_await _system(system);  // also learns the server version, which picks the request shape
  Call c;
  c.method = "POST";
  c.path = "/filesystem/" + check_system(system) + "/transfer/upload";
  c.service = "transfer";
  c.idempotent = false;
  c.what = what;
  c.op = "upload (staged)";
  json::Writer w;
  if (impl_->pre_2_4()) {
    // 2.3: the target directory, the file name and the size at the top level.
    w.begin_object().field("sourcePath", path::parent(remote_path));
    w.field("fileName", path::basename(remote_path))
        .field("fileSize", static_cast<std::int64_t>(size));
  } else {
    w.begin_object().field("sourcePath", remote_path);
    w.key("transferDirectives").begin_object();
    w.field("transferMethod", "s3").field("fileSize", static_cast<std::int64_t>(size));
    w.end_object();
  }
  if (!impl_->opts.account.empty()) w.field("account", impl_->opts.account);
  w.end_object();
  c.json = w.take();
  http::Response r = co_await impl_->send(std::move(c));
  model::Reader rd{what + " (transfer/upload)"};
  simdjson::dom::element doc = impl_->parse(r, rd.what);
  TransferJob job = model::transfer_job(rd, doc);
  model::Directives dir = model::directives(rd, doc);
  if (dir.parts_upload_urls.empty() || dir.complete_upload_url.empty()) {
    rd.fail("transferDirectives", "has no presigned part or complete URLs");
  }
  const std::size_t parts = dir.parts_upload_urls.size();
  const std::uint64_t part_size = dir.max_part_size.value_or((size + parts - 1) / parts);
  if (part_size == 0 || (size + part_size - 1) / part_size != parts) {
    rd.fail("partsUploadUrls", "do not match the file size and maxPartSize");
  }

  if (progress) progress->set_size(size);
  std::vector<std::string> etags(parts);
  std::vector<std::unique_ptr<PartProgress>> part_progress(parts);
  auto upload_part = [&](std::size_t i) -> Task<void> {
    return [](Client::Impl* impl, std::string url, std::string lpath, std::uint64_t offset,
              std::uint64_t length, Callback* cb, std::string* etag, std::string part_what)
               -> Task<void> {
      http::RequestSpec spec;
      spec.method = "PUT";
      spec.url = std::move(url);
      spec.upload_path = std::move(lpath);
      spec.upload_offset = offset;
      spec.upload_length = length;
      spec.idempotent = true;
      spec.progress = cb;
      spec.max_bytes = 1 << 20;
      http::Response pr = co_await presigned(*impl->s3, std::move(spec), part_what);
      if (!http::is_success(pr.status)) throw_s3(pr, part_what, "part upload");
      auto tag = pr.header("etag");
      if (!tag || tag->empty()) throw ProtocolError(part_what, "the staging area sent no ETag");
      *etag = *tag;
    }(impl_.get(), dir.parts_upload_urls[i], local_path, i * part_size,
               std::min(part_size, size - i * part_size),
               progress ? (part_progress[i] = std::make_unique<PartProgress>(progress)).get()
                        : nullptr,
               &etags[i], what + " (part " + std::to_string(i + 1) + ")");
  };
  GatherOptions gopts;
  gopts.batch_size = static_cast<int>(impl_->opts.s3_connections);
  gopts.policy = GatherPolicy::kCancelOnFirstError;
  auto ignore = [](std::size_t, Outcome<void>&&) {};  // failures rethrown by the policy
  co_await gather_each<void>(parts, upload_part, ignore, gopts);

  // Parts in ascending order, ETags verbatim (quoted), as S3 requires.
  std::string xml =
      "<?xml version='1.0' encoding='utf-8'?>\n<CompleteMultipartUpload "
      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (std::size_t i = 0; i < parts; ++i) {
    xml += "<Part><ETag>" + etags[i] + "</ETag><PartNumber>" + std::to_string(i + 1) +
           "</PartNumber></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  http::RequestSpec done;
  done.method = "POST";
  done.url = dir.complete_upload_url;
  done.idempotent = true;  // completing twice with the same parts yields the same object
  done.body = std::move(xml);
  done.headers.emplace_back("Content-Type", "application/xml");
  done.max_bytes = 1 << 20;
  http::Response cr = co_await presigned(*impl_->s3, std::move(done), what + " (complete)");
  // S3 may answer 200 with an <Error> document.
  if (!http::is_success(cr.status) || cr.body.find("<Error>") != std::string::npos) {
    throw_s3(cr, what + " (complete)", "multipart upload");
  }

  Transfer t;
  t.client_ = shared_from_this();
  t.direction_ = Transfer::Direction::kUpload;
  t.system_ = system;
  t.remote_path_ = remote_path;
  t.job_ = std::move(job);
  t.size_ = size;
  co_return t;
}

Task<Transfer> Client::_start_download(std::string system, std::string remote_path) {
  check_path(system, remote_path);
  StatResult st = co_await _stat(system, remote_path, /*dereference=*/true);
  co_return co_await start_download_of(std::move(system), std::move(remote_path), st);
}

Task<Transfer> Client::start_download_of(std::string system, std::string remote_path,
                                         StatResult st) {
  const std::string what = display(system, remote_path);
  if (S_ISDIR(st.mode)) throw IsADirectory(what, "download needs a file, not a directory");
  Call c;
  c.method = "POST";
  c.path = "/filesystem/" + check_system(system) + "/transfer/download";
  c.service = "transfer";
  c.idempotent = false;
  c.what = what;
  c.op = "download (staged)";
  json::Writer w;
  w.begin_object().field("sourcePath", remote_path);
  if (!impl_->pre_2_4()) {
    w.key("transferDirectives").begin_object().field("transferMethod", "s3").end_object();
  }
  if (!impl_->opts.account.empty()) w.field("account", impl_->opts.account);
  w.end_object();
  c.json = w.take();
  http::Response r = co_await impl_->send(std::move(c));
  model::Reader rd{what + " (transfer/download)"};
  simdjson::dom::element doc = impl_->parse(r, rd.what);
  Transfer t;
  t.job_ = model::transfer_job(rd, doc);
  t.download_url_ = model::directives(rd, doc).download_url;
  if (t.download_url_.empty()) rd.fail("transferDirectives.downloadUrl", "is missing");
  t.client_ = shared_from_this();
  t.direction_ = Transfer::Direction::kDownload;
  t.system_ = system;
  t.remote_path_ = remote_path;
  t.size_ = st.size;
  co_return t;
}

Task<std::string> Transfer::_status() {
  Job j = co_await client_->_job_info(system_, job_.job_id);
  co_return j.status.state;
}

std::string Transfer::status() { return client_->run(_status()); }

void Transfer::finish(std::string local_path, Callback* progress) {
  client_->run(_finish(std::move(local_path), progress));
}

Task<void> Transfer::_wait() {
  if (waited_) co_return;
  const char* op = direction_ == Direction::kUpload ? "upload" : "download";
  co_await wait_transfer_job(client_, system_, job_, display(system_, remote_path_), op);
  waited_ = true;
}

void Transfer::wait() { client_->run(_wait()); }

Bytes Transfer::read(std::uint64_t start, std::uint64_t end) {
  return client_->run(_read(start, end));
}

Task<Bytes> Transfer::_read(std::uint64_t start, std::uint64_t end) {
  const std::string what = display(system_, remote_path_);
  if (direction_ != Direction::kDownload) throw InvalidArgument(what, "read() needs a download");
  const std::uint64_t size = size_.value_or(0);
  end = std::min(end, size);
  if (start >= end) co_return Bytes{};
  co_await _wait();
  Bytes out;
  out.resize(end - start);
  const std::size_t chunks =
      static_cast<std::size_t>((end - start + kDownloadChunk - 1) / kDownloadChunk);
  Client::Impl* impl = client_->impl_.get();
  auto fetch_chunk = [&](std::size_t i) -> Task<void> {
    const std::uint64_t first = start + i * kDownloadChunk;
    return fetch_into(impl, download_url_, out.data() + i * kDownloadChunk, first,
                      std::min(kDownloadChunk, end - first), size, range_what(what, i, chunks));
  };
  GatherOptions gopts;
  gopts.batch_size = static_cast<int>(impl->opts.s3_connections);
  gopts.policy = GatherPolicy::kCancelOnFirstError;
  auto ignore = [](std::size_t, Outcome<void>&&) {};
  co_await gather_each<void>(chunks, fetch_chunk, ignore, gopts);
  co_return out;
}

Task<void> Transfer::_finish(std::string local_path, Callback* progress) {
  const std::string what = display(system_, remote_path_);
  co_await _wait();
  if (direction_ == Direction::kUpload) co_return;
  if (local_path.empty()) throw InvalidArgument(what, "finish of a download needs a local path");
  local_path = strip_file_scheme(std::move(local_path));

  Client::Impl* impl = client_->impl_.get();
  uv_loop_t* loop = client_->io().loop();
  const std::uint64_t size = size_.value_or(0);
  if (progress) progress->set_size(size);
  auto fill = [impl, loop, url = download_url_, size, local_path, progress, what](uv_file fd) {
    return download_ranges(impl, loop, url, fd, size, local_path, progress, what);
  };
  co_await uvfs::write_atomically(loop, local_path, std::move(fill));
}

// --- whole transfers -------------------------------------------------------------------------

Task<void> Client::_upload(std::string system, std::string local_path, std::string remote_path,
                           Callback* progress) {
  check_path(system, remote_path);
  local_path = strip_file_scheme(std::move(local_path));
  const std::uint64_t size = co_await local_size(io(), local_path);
  const std::uint64_t limit = co_await direct_limit(*this, system);
  if (size <= limit) {
    Bytes data = co_await uvfs::read_file(io().loop(), local_path, size);
    if (progress) progress->set_size(size);
    co_await _upload_bytes(system, remote_path, std::move(data));
    if (progress) progress->relative_update(size);
    co_return;
  }
  Transfer t = co_await _start_upload(system, local_path, remote_path, progress);
  co_await t._finish();
}

Task<void> Client::_download(std::string system, std::string remote_path, std::string local_path,
                             Callback* progress) {
  check_path(system, remote_path);
  local_path = strip_file_scheme(std::move(local_path));
  StatResult st = co_await _stat(system, remote_path, /*dereference=*/true);
  if (S_ISDIR(st.mode)) {
    throw IsADirectory(display(system, remote_path), "download needs a file, not a directory");
  }
  const std::uint64_t limit = co_await direct_limit(*this, system);
  if (st.size <= limit) {
    if (progress) progress->set_size(st.size);
    Bytes data = co_await _download_bytes(system, remote_path);
    const std::uint64_t n = data.size();
    co_await write_local(io(), local_path, std::move(data));
    if (progress) progress->relative_update(n);
    co_return;
  }
  // The stat above already says what the staged download needs: no second one.
  Transfer t = co_await start_download_of(system, remote_path, st);
  co_await t._finish(local_path, progress);
}

}  // namespace asyncfs::firecrest
