// http:// and https:// — the HTTP filesystem's hooks (reads, listings, writes, removal).
//
// Decisions worth knowing (the public header documents the user-visible ones):
// - info() asks HEAD with identity encoding, and falls back to a one-byte ranged GET when HEAD
//   is refused (405/403/501) or gives no usable size. A URL whose (final) path ends in "/" is a
//   directory; everything else is a file. Sizes are never guessed.
// - A ranged read is trusted only when the 206's Content-Range covers what was asked; a 200
//   (Range ignored) is sliced locally up to max_ignored_range_body bytes, else TooLarge.
// - A 416 reads as b"" (Python slicing past the end), unless the server's own total says the
//   start was inside the file, which is a server inconsistency (RangeNotSatisfiable).
// - ls() of an HTML page lists its direct children; a non-HTML URL (or an HTML page without a
//   trailing "/" and without child links) lists itself as a file, like ls() of a local file.

#include "backends/http/http_fs.hpp"

#include <uv.h>

#include <algorithm>
#include <coroutine>
#include <deque>
#include <limits>
#include <utility>

#include "asyncfs/errors.hpp"
#include "asyncfs/path.hpp"
#include "backends/http/html_links.hpp"
#include "backends/http/url_norm.hpp"
#include "core/fs/file_writer.hpp"
#include "core/fs/temp_file.hpp"
#include "core/fs/uv_fs.hpp"
#include "core/http/header_util.hpp"
#include "core/http/ranges.hpp"

namespace asyncfs::http {
namespace {

using std::chrono::milliseconds;

/// Index pages larger than this are not parsed (a "listing" of a huge file is the file).
constexpr std::uint64_t kMaxIndexBytes = 64ull << 20;
/// A ranged probe GET of info() reads at most this much of a server that ignores Range.
constexpr std::uint64_t kMaxProbeBytes = 1ull << 20;

std::optional<std::uint64_t> parse_size(const std::optional<std::string>& v) {
  if (!v || v->empty() || v->size() > 19) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : *v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

bool identity_encoding(const Response& r) {
  auto enc = r.header("content-encoding");
  return !enc || enc->empty() || *enc == "identity";
}

std::string url_path(std::string_view url) {
  auto parts = parse_url(url);
  return parts ? parts->path : std::string();
}

std::string with_slash(std::string url) {
  if (!url.ends_with('/')) url += '/';
  return url;
}

std::string local_path(std::string p) {
  if (p.starts_with("file://")) p.erase(0, 7);
  if (p.starts_with("local://")) p.erase(0, 8);
  return p;
}

std::string local_dir_of(const std::string& p) {
  const auto slash = p.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}

/// The system temp directory as libuv finds it: $TMPDIR, $TMP, $TEMP, $TEMPDIR, else /tmp.
std::string system_temp_dir() {
  std::string buf(4096, '\0');
  std::size_t size = buf.size();
  if (uv_os_tmpdir(buf.data(), &size) != 0) return "/tmp";
  buf.resize(size);
  return buf;
}

}  // namespace

// --- construction, paths, requests ---------------------------------------------------------

HttpFileSystem::HttpFileSystem(HttpOptions options)
    : AsyncFileSystem(options.base), options_(std::move(options)) {
  ClientOptions c;
  TransportOptions& t = c.transport;
  t.connect_timeout = options_.connect_timeout;
  t.low_speed_limit = options_.low_speed_limit;
  t.low_speed_time = options_.low_speed_time;
  t.total_timeout = options_.timeout;
  t.verify_tls = !options_.insecure;
  t.ca_path = options_.ca_path;
  t.proxy = options_.proxy;
  t.max_host_connections = options_.max_connections_per_host;
  t.native_http1 = options_.transport != "curl";
  t.max_decoded_bytes = options_.max_decoded_bytes;
  t.max_decoded_ratio = options_.max_decoded_ratio;
  t.circuit_failures = options_.circuit_failures;
  t.circuit_cooldown = options_.circuit_cooldown;
  c.redirect_safe_headers = options_.redirect_safe_headers;
  c.retry.retries = options_.retries;
  c.retry.rate_limited_retries = options_.retries;  // "retries" counts 429s too
  c.retry.backoff = options_.retry_backoff;
  c.retry.max_wait = options_.retry_max_wait;
  for (const auto& [k, v] : options_.headers) c.headers.emplace_back(k, v);
  if (!options_.token.empty()) {
    c.auth = static_auth("Bearer " + options_.token);
  } else if (!options_.username.empty()) {
    c.auth = static_auth(basic_authorization(options_.username, options_.password));
  }
  c.origin_auth = [creds = url_credentials_](std::string_view url) -> std::string {
    std::lock_guard lock(creds->mutex);
    if (creds->by_origin.empty()) return {};
    auto it = creds->by_origin.find(origin_of(url));
    return it == creds->by_origin.end() ? std::string() : it->second;
  };
  client_ = std::make_unique<Client>(io(), std::move(c));
}

Capabilities HttpFileSystem::capabilities() const {
  Capabilities caps;
  caps.list = true;
  caps.read = true;
  caps.range_read = true;
  caps.write = true;
  caps.remove = true;
  caps.mkdir = true;  // MKCOL (WebDAV); plain servers refuse it with a typed error
  caps.real_directories = false;
  caps.rename = false;
  caps.copy = false;
  caps.modified_time = false;
  caps.size_always_known = false;
  caps.dir_names_keep_trailing_slash = true;  // the index may 404 without it
  caps.listing_sizes_known = false;           // an HTML index carries no reliable sizes
  caps.names_are_urls = true;
  caps.question_mark_is_wildcard = false;  // it starts the query string
  caps.errors_carry_http_status = true;
  return caps;
}

std::string HttpFileSystem::strip_protocol(std::string_view path) const {
  // Runs for every request: the escaped form for messages is built only on failure.
  if (path.empty()) throw InvalidArgument("", "empty URL");
  if (!path::is_valid_utf8(path)) {
    throw InvalidArgument(path::escape_for_message(path), "URL is not valid UTF-8");
  }
  std::string without;
  if (auto userinfo = split_userinfo(path, &without)) {
    // Remembered for the origin, never kept in the URL: the message below names `without`.
    if (!parse_url(without)) {
      throw InvalidArgument(path::escape_for_message(without),
                            "not an http(s) URL with a host and a valid port");
    }
    const std::size_t colon = userinfo->find(':');
    const std::string user = percent_decode(userinfo->substr(0, colon));
    const std::string pass =
        colon == std::string::npos ? std::string() : percent_decode(userinfo->substr(colon + 1));
    std::lock_guard lock(url_credentials_->mutex);
    url_credentials_->by_origin[origin_of(without)] = basic_authorization(user, pass);
    return canonical_escapes(without);
  }
  if (!parse_url(path)) {
    throw InvalidArgument(path::escape_for_message(path),
                          "not an http(s) URL with a host and a valid port (and without spaces)");
  }
  return canonical_escapes(path);
}

// --- info, ls, isdir, glob -------------------------------------------------------------------

Task<FileInfo> HttpFileSystem::_info(std::string path) {
  const std::string url = strip_protocol(path);
  RequestSpec head;
  head.method = "HEAD";
  head.url = url;
  Response r = co_await send(head);

  std::optional<std::uint64_t> size;
  bool have_response = is_success(r.status);
  if (have_response && identity_encoding(r)) size = parse_size(r.header("content-length"));
  const bool refused = r.status == 405 || r.status == 403 || r.status == 501;
  if (!have_response && !refused) throw_status(r, url, "HEAD");
  if (refused || (!size && identity_encoding(r))) {
    // A one-byte ranged GET: its Content-Range carries the total even when HEAD is refused
    // (presigned URLs) or answered without a length (chunked).
    RequestSpec probe;
    probe.url = url;
    probe.headers.emplace_back("Range", "bytes=0-0");
    probe.max_bytes = kMaxProbeBytes;
    std::optional<Response> got;
    std::exception_ptr too_large;
    try {
      got = co_await send(probe);
    } catch (const TooLarge&) {
      too_large = std::current_exception();  // Range ignored on a large body: size unknown
    }
    if (got) {
      if (got->status == 206) {
        if (auto cr = parse_content_range(got->header("content-range").value_or(""))) {
          size = cr->total;
        }
        r = std::move(*got);
      } else if (is_success(got->status)) {
        if (identity_encoding(*got)) {
          size = parse_size(got->header("content-length"));
          if (!size) size = got->body_bytes;
        }
        r = std::move(*got);
      } else if (got->status == 416) {
        size = 0;  // nothing to satisfy even byte 0: an empty file
        if (auto cr = parse_content_range(got->header("content-range").value_or(""))) {
          size = cr->total;
        }
        r = std::move(*got);
      } else if (!have_response) {
        throw_status(*got, url, "GET");
      }
    } else if (!have_response) {
      std::rethrow_exception(too_large);
    }
  }

  FileInfo info;
  info.name = url;
  info.size = size;
  const bool dir = url_path(url).ends_with('/') ||
                   (!r.effective_url.empty() && url_path(r.effective_url).ends_with('/'));
  info.type = dir ? FileType::kDirectory : FileType::kFile;
  if (auto v = r.header("etag")) info.etag = *v;
  if (auto v = r.header("content-type")) {
    std::string m = v->substr(0, v->find(';'));
    while (!m.empty() && m.back() == ' ') m.pop_back();
    info.extra["mimetype"] = m;
  }
  if (!r.effective_url.empty()) info.extra["url"] = r.effective_url;
  if (auto v = r.header("last-modified")) info.extra["last_modified"] = *v;
  if (auto v = r.header("content-encoding")) info.extra["content_encoding"] = *v;
  if (auto v = r.header("accept-ranges")) info.extra["accept_ranges"] = *v;
  co_return info;
}

Task<std::vector<FileInfo>> HttpFileSystem::_ls(std::string path) {
  const std::string url = strip_protocol(path);
  RequestSpec get;
  get.url = url;
  get.accept_encoding = kDecodedEncodings;
  get.max_bytes = kMaxIndexBytes;
  std::optional<Response> r;
  try {
    r = co_await send(get);
  } catch (const TooLarge&) {
    // Far too large for an index page: it is a file; list it as itself below.
  }
  if (r && (r->status == 404 || r->status == 410) && url.ends_with('/') && url.size() > 1) {
    // Some servers serve an index only without the slash (fsspec retries the same way).
    RequestSpec again = get;
    again.url = url.substr(0, url.size() - 1);
    Response second = co_await send(again);
    if (is_success(second.status)) {
      if (second.effective_url.empty() || second.effective_url == again.url) {
        second.effective_url = url;  // resolve links against the directory form
      }
      r = std::move(second);
    }
  }
  std::vector<FileInfo> out;
  if (r && !is_success(r->status)) throw_status(*r, url, "GET (listing)");
  const bool html = r && is_html_content_type(r->header("content-type").value_or(""));
  if (html) {
    const std::string base = r->effective_url.empty() ? url : r->effective_url;
    for (auto& link : child_links(r->body, base, options_.same_scheme)) {
      FileInfo info;
      info.type = url_path(link).ends_with('/') ? FileType::kDirectory : FileType::kFile;
      info.name = canonical_escapes(link);
      out.push_back(std::move(info));
    }
  }
  const bool dir_url =
      url_path(url).ends_with('/') || (r && url_path(r->effective_url).ends_with('/'));
  if (out.empty() && !(html && dir_url)) {
    FileInfo self;
    self.name = url;
    if (r && identity_encoding(*r)) self.size = r->body_bytes;
    out.push_back(std::move(self));
  }
  co_return out;
}

Task<bool> HttpFileSystem::_isdir(std::string path) {
  const std::string url = strip_protocol(path);
  std::optional<FileInfo> info;
  try {
    info = co_await _info(url);
  } catch (const NotFound&) {
  }
  if (!info) co_return false;
  if (info->is_dir()) co_return true;
  // Only an HTML page can be an index: never download a file to look for links in it.
  auto mt = info->extra.find("mimetype");
  if (mt != info->extra.end() && !is_html_content_type(mt->second)) co_return false;
  auto entries = co_await _ls(url);
  const bool self_only = entries.size() == 1 && entries[0].name == url && entries[0].is_file();
  co_return !entries.empty() && !self_only;
}

std::size_t HttpFileSystem::find_magic(std::string_view path) const {
  std::size_t from = 0;
  if (const auto scheme = path.find("://"); scheme != std::string_view::npos) {
    from = path.find('/', scheme + 3);  // the authority ends at the path's first '/'
    if (from == std::string_view::npos) return std::string_view::npos;
  }
  return path.find_first_of("*[", from);
}

Task<std::map<std::string, FileInfo>> HttpFileSystem::_glob(std::string pattern, GlobOptions opts) {
  // Only '*' and '[' are wildcards in URLs: '?' starts a query string. Escape it as "[?]" for
  // the generic matcher, and take a URL without '*' or '[' (past its host) literally.
  const std::string url = strip_protocol(pattern);
  if (!has_magic(url)) {
    std::map<std::string, FileInfo> out;
    try {
      FileInfo info = co_await _info(url);
      if (opts.withdirs || !info.is_dir()) out.emplace(url, std::move(info));
    } catch (const NotFound&) {
    }
    co_return out;
  }
  if (url.ends_with('/')) {
    // "dir*/" keeps directories only. Our directory names end in "/" themselves, so match the
    // pattern without it and keep what is a directory (the generic matcher would compare
    // "dir1/" with a pattern that lost its slash and find nothing).
    std::string bare = url.substr(0, url.size() - 1);
    GlobOptions dirs = opts;
    dirs.withdirs = true;
    auto all = co_await _glob(std::move(bare), std::move(dirs));
    std::map<std::string, FileInfo> out;
    for (auto& [name, info] : all) {
      if (info.is_dir()) out.emplace(name, std::move(info));
    }
    co_return out;
  }
  std::string escaped;
  for (char c : url) {
    if (c == '?') {
      escaped += "[?]";
    } else {
      escaped += c;
    }
  }
  co_return co_await AsyncFileSystem::_glob(std::move(escaped), std::move(opts));
}

// --- reads -----------------------------------------------------------------------------------

Task<Bytes> HttpFileSystem::_cat_file(std::string path, std::optional<std::int64_t> start,
                                      std::optional<std::int64_t> end) {
  const std::string url = strip_protocol(path);
  SlicePlan plan = plan_slice(start, end);
  if (plan.kind == SlicePlan::kNeedSize) {
    FileInfo info = co_await _info(url);
    if (!info.size) {
      throw InvalidArgument(url,
                            "a negative end (or a negative start with an end) needs the "
                            "file size, which the server does not report");
    }
    plan = plan_slice(start, end, info.size);
  }
  if (plan.kind == SlicePlan::kEmpty) co_return Bytes();

  RequestSpec get;
  get.url = url;
  if (plan.kind == SlicePlan::kWhole) {
    get.accept_encoding = kDecodedEncodings;
    Response r = co_await send(get);
    if (r.status != 200 && r.status != 203) throw_status(r, url, "GET");
    co_return std::move(r.body);
  }

  get.headers.emplace_back("Range", range_header(plan));
  std::uint64_t cap = options_.max_ignored_range_body;
  if (plan.kind == SlicePlan::kBounded) {
    cap = std::max(cap, plan.last - plan.first + 1);
  } else {
    cap = std::numeric_limits<std::uint64_t>::max();  // a legitimate 206 may be this large
  }
  get.max_bytes = cap;
  Response r;
  try {
    r = co_await send(get);
  } catch (const TooLarge& e) {
    ErrorDetails d;
    d.cause = e.what();
    throw TooLarge(url,
                   "the server ignored the Range header and sent more than "
                   "max_ignored_range_body bytes",
                   d);
  }
  if (r.status == 206) {
    if (!identity_encoding(r)) {
      throw ProtocolError(url, "ranged response with Content-Encoding '" +
                                   r.header("content-encoding").value_or("") + "'");
    }
    RangeCheck check = check_partial(plan, r.header("content-range"), r.body.size());
    if (!check.ok) {
      if (check.truncated) throw NetworkError(url, "truncated ranged response: " + check.problem);
      throw ProtocolError(url, "invalid ranged response: " + check.problem);
    }
    if (check.offset == 0 && check.length == r.body.size()) co_return std::move(r.body);
    co_return r.body.substr(check.offset, check.length);
  }
  if (r.status == 200) {
    // Range ignored: the body is the whole file. Slice it locally (Python semantics on the
    // real length), after decoding if the server insisted on an encoding.
    if (!identity_encoding(r)) {
      RequestSpec whole;
      whole.url = url;
      whole.accept_encoding = kDecodedEncodings;
      whole.max_bytes = options_.max_ignored_range_body;
      r = co_await send(whole);
      if (r.status != 200) throw_status(r, url, "GET");
    }
    auto [s, e] = slice_bounds(r.body.size(), start, end);
    co_return r.body.substr(s, e - s);
  }
  if (r.status == 416) {
    // Reading at or past the end is an empty slice, as in Python; a 416 whose own total says
    // the start lies inside the file is a server inconsistency.
    auto cr = parse_content_range(r.header("content-range").value_or(""));
    if (cr && cr->total && plan.kind != SlicePlan::kSuffix && plan.first < *cr->total) {
      throw_status(r, url, "GET");
    }
    co_return Bytes();
  }
  throw_status(r, url, "GET");
}

Task<void> HttpFileSystem::_get_file(std::string rpath, std::string lpath, Callback* progress) {
  const std::string url = strip_protocol(rpath);
  const std::string target = local_path(std::move(lpath));
  uv_loop_t* loop = io().loop();
  co_await uvfs::make_dirs(loop, local_dir_of(target));
  // 1 MiB writes keep the disk busy; with at most 4 queued the download holds ~5 MiB.
  const std::size_t chunk = std::clamp<std::size_t>(options_.block_size, 64 << 10, 1 << 20);

  RequestSpec spec;
  spec.url = url;
  spec.accept_encoding = kDecodedEncodings;
  spec.progress = progress;
  Attempts attempts(*client_, std::move(spec));
  for (;;) {
    uvfs::TempFile tmp = co_await uvfs::create_temp(loop, target);
    auto writer = std::make_shared<uvfs::FileWriter>(loop, tmp.fd, chunk);
    auto head = std::make_shared<std::string>();  // start of an error body, for the message
    Request req = co_await attempts.start();
    req.sink.on_data = [writer, head](std::string_view data) {
      if (head->size() < 256) head->append(data.substr(0, 256 - head->size()));
      return writer->push(data);
    };
    req.sink.room = [writer] { return writer->room(); };
    std::exception_ptr err;
    Response resp;
    bool got = false;
    try {
      Engine& engine = Engine::of(io());
      resp = co_await engine.fetch(std::move(req), attempts.transport());
      got = true;
    } catch (...) {
      err = std::current_exception();
    }
    if (got && resp.status == 200) {
      writer->finish();
    } else {
      writer->abandon();
    }
    co_await writer->drained();
    if (got && resp.status == 200 && writer->error() == 0) {
      try {
        co_await uvfs::close(loop, std::exchange(tmp.fd, -1), target);
        co_await uvfs::commit_temp(loop, tmp.path, target, WriteMode::kOverwrite);
        co_return;
      } catch (...) {
        err = std::current_exception();
      }
      co_await uvfs::discard_temp(loop, std::move(tmp));
      std::rethrow_exception(err);
    }
    co_await uvfs::discard_temp(loop, std::move(tmp));
    if (writer->error() != 0 && got) throw_uv_error(writer->error(), target, "write");
    if (got) resp.body = *head;
    const bool again = co_await attempts.retry(got ? &resp : nullptr, err);
    if (!again) {
      if (!got) std::rethrow_exception(err);
      throw_status(resp, url, "GET");
    }
    if (progress) progress->absolute_update(0);
  }
}

namespace {

/// What one attempt of _stream_file saw; its callbacks run inside the transport's callbacks.
struct StreamAttempt {
  long status = 0;
  std::uint64_t skip = 0;  ///< bytes an earlier attempt delivered
  bool changed = false;    ///< length or ETag differ from the first answer's
  bool sink_threw = false;
  std::string error_body;  ///< start of a non-200 body, for the message
};

/// Length and ETag of the first 200: a retry must find the same file.
struct StreamIdentity {
  bool known = false;
  std::optional<std::uint64_t> length;
  std::string etag;
};

}  // namespace

Task<std::uint64_t> HttpFileSystem::_stream_file(std::string path,
                                                 UniqueFunction<void(std::string_view)> on_data) {
  const std::string url = strip_protocol(path);
  RequestSpec spec;
  spec.url = url;
  // Decoded bodies have no offsets to resume at, so a retry starts over and skips what was
  // delivered (a Range would not save those bytes on a compressed answer either).
  spec.accept_encoding = kDecodedEncodings;
  Attempts attempts(*client_, spec);
  std::uint64_t delivered = 0;
  StreamIdentity first;
  for (;;) {
    auto a = std::make_shared<StreamAttempt>();
    a->skip = delivered;
    Request req = co_await attempts.start();
    req.sink.on_head = [a, &first](long status, const Headers& headers) {
      a->status = status;
      if (status != 200 && status != 203) return;
      std::optional<std::uint64_t> length;
      std::string etag;
      for (const auto& [name, value] : headers) {
        if (name == "content-length") length = parse_content_length(value);
        if (name == "etag") etag = value;
      }
      if (!first.known) {
        first = StreamIdentity{true, length, std::move(etag)};
      } else {
        a->changed = length != first.length || etag != first.etag;
      }
    };
    req.sink.on_data = [a, &on_data, &delivered, &url](std::string_view data) {
      if (a->status != 200 && a->status != 203) {
        const std::size_t keep = std::min<std::size_t>(data.size(), 256 - a->error_body.size());
        a->error_body.append(data.substr(0, keep));
        return true;
      }
      if (a->changed) {
        a->sink_threw = true;
        throw IoError(url, "the file changed while it was read (length or ETag differ)");
      }
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(a->skip, data.size()));
      a->skip -= n;
      data.remove_prefix(n);
      if (data.empty()) return true;
      a->sink_threw = true;  // until on_data returns
      on_data(data);
      a->sink_threw = false;
      delivered += data.size();
      return true;
    };
    Response resp;
    std::exception_ptr err;
    bool got = false;
    try {
      resp = co_await Engine::of(io()).fetch(std::move(req), attempts.transport());
      got = true;
    } catch (...) {
      err = std::current_exception();
    }
    if (got && (resp.status == 200 || resp.status == 203)) co_return delivered;
    if (a->sink_threw) std::rethrow_exception(err);
    if (got) resp.body = std::move(a->error_body);
    const bool again = co_await attempts.retry(got ? &resp : nullptr, err);
    if (!again) {
      if (!got) std::rethrow_exception(err);
      throw_status(resp, url, "GET");
    }
  }
}

Task<std::size_t> HttpFileSystem::_cat_each(
    Paths paths, UniqueFunction<void(const std::string&, Outcome<Bytes>&&)> sink, CatOptions opts) {
  if (!opts.recursive) {
    co_return co_await AsyncFileSystem::_cat_each(std::move(paths), std::move(sink), opts);
  }
  // A GET of a directory URL succeeds with its index page, so the generic code (which drops
  // IsADirectory failures) would return index HTML as if it were a file. Drop directories
  // from the expansion instead: names ending in "/", and names with entries below them (a
  // root given without its slash).
  std::vector<std::string> names = co_await _expand_path(paths, true, std::nullopt);
  std::vector<std::string> files;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string& n = names[i];
    if (n.ends_with('/')) continue;
    const std::string below = n + "/";
    const bool has_children =
        std::any_of(names.begin(), names.end(),
                    [&below](const std::string& o) { return o.starts_with(below); });
    if (!has_children) files.push_back(n);
  }
  CatOptions flat = opts;
  flat.recursive = false;
  Paths literal(std::move(files));
  co_return co_await AsyncFileSystem::_cat_each(std::move(literal), std::move(sink), flat);
}

// --- writes ----------------------------------------------------------------------------------

Task<void> HttpFileSystem::_pipe_file(std::string path, Bytes data, WriteMode mode) {
  const std::string url = strip_protocol(path);
  if (url_path(url).ends_with('/')) throw IsADirectory(url, "cannot write to a directory URL");
  RequestSpec put;
  put.method = options_.method;
  put.url = url;
  put.body = std::move(data);
  if (mode == WriteMode::kCreate) {
    bool there = co_await _exists(url);
    if (there) throw AlreadyExists(url, "file exists");
    put.headers.emplace_back("If-None-Match", "*");
  }
  const std::string method = put.method;
  Response r = co_await send(std::move(put));
  if (r.status == 412 && mode == WriteMode::kCreate) throw AlreadyExists(url, "file exists");
  if (!is_success(r.status)) co_await throw_put_failure(std::move(r), url, method);
}

Task<void> HttpFileSystem::_put_file(std::string lpath, std::string rpath, Callback* progress,
                                     WriteMode mode) {
  const std::string url = strip_protocol(rpath);
  RequestSpec put;
  put.method = options_.method;
  put.url = url;
  put.upload_path = local_path(std::move(lpath));
  put.progress = progress;
  if (mode == WriteMode::kCreate) {
    bool there = co_await _exists(url);
    if (there) throw AlreadyExists(url, "file exists");
    put.headers.emplace_back("If-None-Match", "*");
  }
  Response r = co_await send(put);
  if (r.status == 412 && mode == WriteMode::kCreate) throw AlreadyExists(url, "file exists");
  if (!is_success(r.status)) co_await throw_put_failure(std::move(r), url, put.method);
}

Task<void> HttpFileSystem::throw_put_failure(Response resp, std::string url, std::string method) {
  // Servers answer a PUT below a regular file with 409 (WebDAV) or 500 (nginx: ENOTDIR),
  // which says nothing typed. The nearest existing ancestor tells: a file there makes it
  // NotADirectory, as on a local disk. Costs requests only on an already failed upload.
  if (resp.status == 409 || resp.status == 500) {
    auto parts = parse_url(url);
    if (parts) {
      const std::string origin = url.substr(0, url.find(parts->path, url.find("://") + 3));
      std::string dir = parts->path;
      while (dir.ends_with('/')) dir.pop_back();
      for (int level = 0; level < 16; ++level) {
        const std::size_t slash = dir.rfind('/');
        if (slash == std::string::npos || slash == 0) break;
        dir.resize(slash);
        const std::string ancestor = origin + dir;
        std::optional<FileInfo> info;
        bool missing = false;
        try {
          info = co_await _info(ancestor);
        } catch (const NotFound&) {
          missing = true;
        } catch (const Error&) {
          break;  // cannot tell: report the server's answer below
        }
        if (missing) continue;
        if (info && info->is_file()) {
          ErrorDetails d;
          d.http_status = static_cast<int>(resp.status);
          throw NotADirectory(url, "a parent is a file: " + ancestor, d);
        }
        break;
      }
    }
  }
  throw_status(resp, url, method);
}

Task<void> HttpFileSystem::_cp_file(std::string path1, std::string path2) {
  // No server-side copy over plain HTTP (capabilities().copy is false): download, then upload.
  // Through a temporary file rather than memory, so a copy of any size holds a few chunks.
  const std::string src = strip_protocol(path1);
  const std::string dst = strip_protocol(path2);
  if (url_path(dst).ends_with('/')) throw IsADirectory(dst, "cannot write to a directory URL");
  uv_loop_t* loop = io().loop();
  // O_EXCL reserves a unique name; _get_file streams into its own temporary beside it and
  // renames that over it, so its retries and error mapping apply unchanged.
  const std::string reserve_as = system_temp_dir() + "/http-cp";
  uvfs::TempFile tmp;
  bool reserved = false;
  ErrorDetails temp_failure;
  try {
    tmp = co_await uvfs::create_temp(loop, reserve_as);
    reserved = true;
  } catch (const Error& e) {
    temp_failure.cause = e.what();
  }
  if (!reserved) {
    // Not the local error's own kind: a NotFound (a missing temp directory) would read as a
    // missing source, which copy(on_error=ignore) skips.
    throw IoError(src, "copy needs a temporary file in " + local_dir_of(reserve_as), temp_failure);
  }
  std::exception_ptr err;
  try {
    co_await uvfs::close(loop, std::exchange(tmp.fd, -1), tmp.path);
    co_await _get_file(src, tmp.path, nullptr);
    co_await _put_file(tmp.path, dst, nullptr, WriteMode::kOverwrite);
  } catch (...) {
    err = std::current_exception();
  }
  // Success, failure or cancellation: the temporary goes (discard_temp never throws).
  co_await uvfs::discard_temp(loop, std::move(tmp));
  if (err) std::rethrow_exception(err);
}

Task<void> HttpFileSystem::_rm_file(std::string path) {
  const std::string url = strip_protocol(path);
  RequestSpec del;
  del.method = "DELETE";
  del.url = url;
  Response r = co_await send(del);
  if (!is_success(r.status)) throw_status(r, url, "DELETE");
}

Task<void> HttpFileSystem::mkcol(std::string url, bool ok_if_exists) {
  RequestSpec req;
  req.method = "MKCOL";
  req.url = with_slash(std::move(url));
  Response r = co_await send(req);
  if (is_success(r.status)) co_return;
  // 405 is WebDAV's "already exists" answer to MKCOL (and a plain server's "no MKCOL").
  if (r.status == 405) {
    bool there = co_await _isdir(req.url);
    if (there) {
      if (ok_if_exists) co_return;
      throw AlreadyExists(req.url, "directory exists");
    }
  }
  if (r.status == 409) throw NotFound(req.url, "parent collection does not exist");
  throw_status(r, req.url, "MKCOL");
}

Task<void> HttpFileSystem::_mkdir(std::string path, bool create_parents) {
  const std::string url = strip_protocol(path);
  if (create_parents) {
    co_await _makedirs(url, /*exist_ok=*/false);
    co_return;
  }
  co_await mkcol(url, /*ok_if_exists=*/false);
}

Task<void> HttpFileSystem::_makedirs(std::string path, bool exist_ok) {
  const std::string url = strip_protocol(path);
  auto parts = parse_url(url);
  const std::string origin = url.substr(0, url.find(parts->path, url.find("://") + 3));
  // Every ancestor below the host root, then the directory itself.
  std::vector<std::string> chain;
  for (std::size_t i = 1; i < parts->path.size();) {
    std::size_t j = parts->path.find('/', i);
    if (j == std::string::npos) j = parts->path.size();
    if (j > i) chain.push_back(origin + parts->path.substr(0, j) + "/");
    i = j + 1;
  }
  for (std::size_t k = 0; k < chain.size(); ++k) {
    const bool last = k + 1 == chain.size();
    co_await mkcol(chain[k], /*ok_if_exists=*/!last || exist_ok);
  }
}

Task<void> HttpFileSystem::_rmdir(std::string path) {
  const std::string url = with_slash(strip_protocol(path));
  // DELETE of a WebDAV collection is recursive: refuse a non-empty one first, like rmdir(2).
  auto entries = co_await _ls(url);
  if (!entries.empty()) throw DirectoryNotEmpty(url, "directory not empty");
  RequestSpec del;
  del.method = "DELETE";
  del.url = url;
  Response r = co_await send(del);
  if (!is_success(r.status)) throw_status(r, url, "DELETE");
}

std::shared_ptr<AsyncFileSystem> make_filesystem(HttpOptions options) {
  return std::make_shared<HttpFileSystem>(std::move(options));
}

}  // namespace asyncfs::http
