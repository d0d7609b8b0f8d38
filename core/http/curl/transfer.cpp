// One libcurl transfer: its curl callbacks (which never call the multi handle and never
// resume a coroutine), its setup from a Request, and the mapping of its result to typed errors.

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "asyncfs/errors.hpp"
#include "core/http/body_buffer.hpp"
#include "core/http/curl/multi_internal.hpp"
#include "core/http/header_util.hpp"
#include "core/http/redact.hpp"
#include "core/http/redirect.hpp"
#include "core/log.hpp"

namespace asyncfs::http {
namespace {

// Largest local-file read done inside curl's read callback (see Transfer::on_read).
constexpr std::size_t kMaxUploadChunk = 64 * 1024;

/// CURLOPT_DEBUGFUNCTION: curl's verbose trace on stderr with the values of Authorization,
/// Proxy-Authorization, Cookie and Set-Cookie replaced; bodies are not printed.
int redacted_trace(CURL*, curl_infotype type, char* data, size_t size, void*) {
  const char* prefix = type == CURLINFO_TEXT         ? "* "
                       : type == CURLINFO_HEADER_IN  ? "< "
                       : type == CURLINFO_HEADER_OUT ? "> "
                                                     : nullptr;
  if (!prefix || !log::enabled(LogLevel::kTrace)) return 0;
  // A libcurl callback: nothing may escape it.
  try {
    std::string_view text(data, size);
    while (!text.empty()) {
      const std::size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      const std::size_t colon = line.find(':');
      const std::size_t space = line.find(' ');
      if (type != CURLINFO_TEXT && colon != std::string_view::npos &&
          (space == std::string_view::npos || colon < space)) {
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        log::trace("curl", "{}{}", prefix, loggable_header(line.substr(0, colon), value));
      } else if (type == CURLINFO_HEADER_OUT && space != std::string_view::npos) {
        // The request line: its target may carry a signature in the query.
        const std::size_t end = line.find(' ', space + 1);
        log::trace("curl", "{}{} {}{}", prefix, line.substr(0, space),
                   redact_url(line.substr(space + 1, end - space - 1)),
                   end == std::string_view::npos ? std::string_view() : line.substr(end));
      } else {
        log::trace("curl", "{}{}", prefix, line);
      }
    }
  } catch (...) {
  }
  return 0;
}

}  // namespace

// --- per-transfer curl callbacks (no curl multi calls, no resumption in here) -----------------

size_t Transfer::on_header(char* data, size_t size, size_t n, void* self) {
  auto* t = static_cast<Transfer*>(self);
  // A libcurl callback: nothing may escape it (std::terminate). Whatever the header handling
  // throws (an allocation, the sink's on_head) fails this one transfer.
  try {
    return t->header_line(std::string_view(data, size * n));
  } catch (...) {
    t->sink_error = std::current_exception();
    t->sink_stop = SinkStop::kThrew;
    t->abort = Abort::kSink;
    return 0;
  }
}

size_t Transfer::header_line(std::string_view line) {
  Transfer* t = this;
  // What the native parser refuses, refused here too: both transports answer alike.
  auto refuse = [t](std::string problem) -> size_t {
    t->abort = Abort::kProtocol;
    t->protocol_problem = std::move(problem);
    return 0;  // curl fails the transfer with CURLE_WRITE_ERROR
  };
  if (line.starts_with("HTTP/2 ")) {
    // HTTP/2 only over TLS (CURL_HTTP_VERSION_2TLS), and a followed redirect may have changed
    // the scheme: judged by the URL of this hop.
    char* url = nullptr;
    curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url);
    t->head_check.h2_possible = t->options.http2 && url && std::string_view(url).size() >= 6 &&
                                iequals(std::string_view(url, 6), "https:");
  }
  // Checks the line and keeps response.headers as the native parser keeps its own.
  if (std::string problem = t->head_check.line(line, t->response.headers); !problem.empty()) {
    return refuse(std::move(problem));
  }
  if (t->head_check.kind() == HeadCheck::Line::kStatus) {
    // A new response (redirect hop, 100 Continue, proxy CONNECT): the last one's headers win.
    t->decoder.reset();
    t->response.status = t->head_check.status();
    return line.size();
  }
  if (t->head_check.kind() == HeadCheck::Line::kEnd) {
    // Blank line: end of this response's headers.
    const bool final_head =
        t->response.status >= 200 && !(t->response.status >= 300 && t->response.status < 400);
    if (final_head && !t->request.accept_encoding.empty()) {
      // Throws ProtocolError for a coding we never asked for (caught in on_header).
      if (auto coding = t->response.header("content-encoding")) {
        t->decoder = ContentDecoder::for_encoding(*coding, t->request.url);
      }
    }
    if (final_head && t->request.progress && !t->uploading) {
      t->request.progress->set_size(t->head_check.content_length());
    }
    if (final_head && t->request.sink.on_head) {
      t->request.sink.on_head(t->response.status, t->response.headers);
    }
  }
  return line.size();
}

size_t Transfer::on_write(char* data, size_t size, size_t n, void* self) {
  auto* t = static_cast<Transfer*>(self);
  const size_t len = size * n;
  if (t->abort != Abort::kNone) return 0;
  // A redirect that fetch() follows itself: its body is not the answer.
  if (t->manual_redirects && is_followed_redirect(t->response.status)) return len;
  BodySink& sink = t->request.sink;
  if (t->decoder) {
    // Progress counts the decoded bytes the sink receives, as without compression.
    Callback* progress = t->uploading ? nullptr : t->request.progress;
    std::string problem;
    try {
      problem = t->decoder->feed(
          std::string_view(data, len), t->options, [t, progress](std::string_view decoded) {
            t->sink_stop = deliver_body(t->request, t->response, decoded, progress, t->sink_error);
            return t->sink_stop == SinkStop::kNone;
          });
    } catch (const std::bad_alloc&) {
      t->sink_error = std::make_exception_ptr(OutOfMemory(t->request.url, "decoding the body"));
      t->sink_stop = SinkStop::kThrew;
    }
    if (t->sink_stop != SinkStop::kNone) {
      t->abort = Abort::kSink;
      return 0;  // curl fails the transfer with CURLE_WRITE_ERROR
    }
    if (!problem.empty()) {
      t->abort = t->decoder->too_large() ? Abort::kDecodedTooLarge : Abort::kProtocol;
      t->protocol_problem = std::move(problem);
      return 0;
    }
    if (sink.gate && sink.gate->pause_wanted && !t->paused) t->pause_receiving();
    return len;
  }
  if (!sink.on_data && t->response.body.empty() && t->head_check.content_length()) {
    reserve_body(t->response.body, *t->head_check.content_length(), sink.max_bytes);
  }
  // Progress counts the upload while one runs, not the response to it.
  Callback* progress = t->uploading ? nullptr : t->request.progress;
  t->sink_stop =
      deliver_body(t->request, t->response, std::string_view(data, len), progress, t->sink_error);
  if (t->sink_stop != SinkStop::kNone) {
    t->abort = Abort::kSink;
    return 0;  // curl fails the transfer with CURLE_WRITE_ERROR
  }
  if (sink.gate && sink.gate->pause_wanted && !t->paused) t->pause_receiving();
  return len;
}

void Transfer::pause_receiving() {
  // Allowed inside the write callback. curl's low-speed check skips paused transfers.
  if (curl_easy_pause(easy, CURLPAUSE_RECV) != CURLE_OK) return;
  paused = true;
  request.sink.gate->resume = [io = impl->io, weak = weak_from_this()] {
    // Posted: the consumer calls this from a coroutine, and unpausing may run callbacks.
    io->post([weak] {
      auto t = weak.lock();
      if (!t || !t->attached || !t->paused) return;
      t->paused = false;
      curl_easy_pause(t->easy, CURLPAUSE_CONT);
      // Unpausing under multi_socket can miss its wake-up (cpp-anchors d6): run curl's
      // timeout handling once so it looks at the transfer again.
      int running = 0;
      curl_multi_socket_action(t->impl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
      t->impl->drain();
    });
  };
}

size_t Transfer::on_read(char* data, size_t size, size_t n, void* self) {
  auto* t = static_cast<Transfer*>(self);
  const std::uint64_t remaining = t->upload_size - std::min(t->upload_offset, t->upload_size);
  std::size_t want = std::min<std::uint64_t>(size * n, remaining);
  if (want == 0) return 0;
  std::size_t got = 0;
  if (t->upload_fd >= 0) {
    // A bounded pread on the loop thread. Deliberate: the alternatives are worse here — curl's
    // pause/unpause under multi_socket has a history of lost wake-ups (cpp-anchors d6), and a
    // thread-pool prefetch would need exactly that pause. A 64 KiB read of a file being
    // uploaded is normally a page-cache hit; a cold disk stalls the loop for one seek per
    // chunk at worst.
    want = std::min(want, kMaxUploadChunk);
    ssize_t r;
    do {
      r = ::pread(t->upload_fd, data, want, static_cast<off_t>(t->upload_base + t->upload_offset));
    } while (r < 0 && errno == EINTR);
    if (r <= 0) {
      // A short file (truncated while uploading) would make the Content-Length a lie.
      t->upload_errno = r < 0 ? errno : EIO;
      t->abort = Abort::kUploadRead;
      return CURL_READFUNC_ABORT;
    }
    got = static_cast<std::size_t>(r);
  } else {
    std::memcpy(data, t->request.body->data() + t->upload_offset, want);
    got = want;
  }
  t->upload_offset += got;
  if (t->request.progress) t->request.progress->relative_update(got);
  return got;
}

int Transfer::on_seek(void* self, curl_off_t offset, int origin) {
  // curl rewinds the request body when it has to resend it (redirect, auth, reused
  // connection that died).
  auto* t = static_cast<Transfer*>(self);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > t->upload_size) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  if (t->request.progress && t->upload_offset != static_cast<std::uint64_t>(offset)) {
    t->request.progress->absolute_update(static_cast<std::uint64_t>(offset));
  }
  t->upload_offset = static_cast<std::uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

// --- request setup and result mapping -----------------------------------------------------------

namespace {

constexpr long kReceiveBufferSize = 256L << 10;

std::string cause_of(const Transfer& t);

}  // namespace

void configure_easy(Transfer& t) {
  CURL* e = t.easy;
  const Request& rq = t.request;
  const TransportOptions& op = t.options;
  auto set = [&](CURLoption opt, auto value) {
    if (CURLcode rc = curl_easy_setopt(e, opt, value); rc != CURLE_OK) {
      throw InvalidArgument(rq.url, "cannot configure the request",
                            ErrorDetails{0, std::string(curl_easy_strerror(rc)) + " (option " +
                                                std::to_string(static_cast<int>(opt)) + ")"});
    }
  };
  set(CURLOPT_PRIVATE, static_cast<void*>(&t));
  set(CURLOPT_URL, rq.url.c_str());
  // curl's default 16 KiB receive buffer costs one recv and one write callback per 16 KiB; a
  // larger one cuts both for big bodies. Pages of it that small responses never touch cost no
  // RSS, and pooled handles keep the buffer between transfers.
  // Best effort: curl 7.88 refuses the option (BAD_FUNCTION_ARGUMENT) on a pooled handle that
  // still holds its receive buffer, as one that carried an HTTP/2 stream does; that handle
  // then keeps the buffer it has.
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, kReceiveBufferSize);
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_ERRORBUFFER, t.error_buffer);
  // Only the web: a redirect must not take us to file:// or another scheme.
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  set(CURLOPT_HEADERDATA, static_cast<void*>(&t));
  set(CURLOPT_WRITEFUNCTION, &Transfer::on_write);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&t));
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  static const bool verbose = std::getenv("ASYNCFS_CURL_VERBOSE") != nullptr;
  if (verbose && log::enabled(LogLevel::kTrace)) {
    // libcurl's own trace (connections, TLS) into the log, through a filter that redacts.
    set(CURLOPT_DEBUGFUNCTION, &redacted_trace);
    set(CURLOPT_VERBOSE, 1L);
  }

  // curl 7.88 does not always rewind a request body for a 307/308 it follows (seen: the
  // response came before the upload finished, the next hop sent headers, then nothing), so a
  // request with a body follows its redirects in fetch(), where the body restarts at 0.
  set(CURLOPT_FOLLOWLOCATION, rq.follow_redirects && !t.manual_redirects ? 1L : 0L);
  t.head_check.follows_redirects = rq.follow_redirects && !t.manual_redirects;
  set(CURLOPT_MAXREDIRS, static_cast<long>(op.max_redirects));
  // Default, but stated: credentials never follow a redirect to another host. curl >= 7.83
  // also strips a custom Authorization header then (tested in http_engine_test).
  set(CURLOPT_UNRESTRICTED_AUTH, 0L);

  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(op.connect_timeout.count()));
  if (op.low_speed_limit > 0 && op.low_speed_time.count() > 0) {
    // curl counts this in whole seconds.
    const long secs = static_cast<long>((op.low_speed_time.count() + 999) / 1000);
    set(CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(op.low_speed_limit));
    set(CURLOPT_LOW_SPEED_TIME, std::max(1L, secs));
  }
  if (op.total_timeout) set(CURLOPT_TIMEOUT_MS, static_cast<long>(op.total_timeout->count()));
  set(CURLOPT_SSL_VERIFYPEER, op.verify_tls ? 1L : 0L);
  set(CURLOPT_SSL_VERIFYHOST, op.verify_tls ? 2L : 0L);
  if (!op.ca_path.empty()) set(CURLOPT_CAINFO, op.ca_path.c_str());
  if (!op.proxy.empty()) set(CURLOPT_PROXY, op.proxy.c_str());
  if (op.http2) {
    set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    // Wait for the first connection's ALPN instead of opening one per queued transfer. Only
    // for TLS: on plain HTTP there is no h2 and PIPEWAIT would only serialize the first burst.
    if (rq.url.starts_with("https:") || rq.url.starts_with("HTTPS:")) set(CURLOPT_PIPEWAIT, 1L);
  } else {
    set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  }

  // "" = identity, said explicitly: a server compressing unasked would break lengths/ranges.
  if (!rq.accept_encoding.empty()) {
    set(CURLOPT_ACCEPT_ENCODING, rq.accept_encoding.c_str());
    // Asked for, but decoded by ContentDecoder: libcurl 7.88 reports success for a truncated
    // or corrupt compressed stream, handing over whatever it inflated to.
    set(CURLOPT_HTTP_CONTENT_DECODING, 0L);
  }
  curl_slist* list = nullptr;
  auto append = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (!next) {
      curl_slist_free_all(list);
      throw std::bad_alloc();
    }
    list = next;
  };
  for (const auto& [name, value] : rq.headers) {
    // "Name;" is curl's spelling of a header with an empty value.
    append(value.empty() ? name + ";" : name + ": " + value);
  }
  if (rq.accept_encoding.empty() && !has_header(rq.headers, "accept-encoding")) {
    append("Accept-Encoding: identity");
  }

  const bool has_body = rq.body.has_value() || !rq.upload_path.empty();
  if (has_body && !has_header(rq.headers, "expect")) {
    // No "Expect: 100-continue" round trip (curl adds it for large uploads).
    append("Expect:");
  }
  t.header_list = list;
  if (list) set(CURLOPT_HTTPHEADER, list);

  if (rq.method == "HEAD") {
    set(CURLOPT_NOBODY, 1L);
  } else if (has_body) {
    t.uploading = true;
    t.upload_size = rq.body ? rq.body->size() : t.upload_size;  // file size set by the caller
    if (rq.method == "POST") {
      // A real POST (not a custom method on an upload) so curl applies POST redirect rules.
      set(CURLOPT_POST, 1L);
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.upload_size));
    } else {
      set(CURLOPT_UPLOAD, 1L);
      set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(t.upload_size));
      if (rq.method != "PUT") set(CURLOPT_CUSTOMREQUEST, rq.method.c_str());
    }
    set(CURLOPT_READFUNCTION, &Transfer::on_read);
    set(CURLOPT_READDATA, static_cast<void*>(&t));
    set(CURLOPT_SEEKFUNCTION, &Transfer::on_seek);
    set(CURLOPT_SEEKDATA, static_cast<void*>(&t));
    if (rq.progress) {
      rq.progress->set_size(t.upload_size);
      rq.progress->absolute_update(0);
    }
  } else if (rq.method == "GET") {
    set(CURLOPT_HTTPGET, 1L);
  } else if (rq.method == "POST") {
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
    set(CURLOPT_POSTFIELDS, "");
  } else {
    set(CURLOPT_CUSTOMREQUEST, rq.method.c_str());
  }
}

namespace {

std::string cause_of(const Transfer& t) {
  std::string cause =
      t.error_buffer[0] ? std::string(t.error_buffer) : std::string(curl_easy_strerror(t.result));
  while (!cause.empty() && (cause.back() == '\n' || cause.back() == '\r')) cause.pop_back();
  return cause;
}

}  // namespace

[[noreturn]] void throw_transfer_error(Transfer& t) {
  const std::string& url = t.request.url;
  switch (t.abort) {
    case Abort::kSink:
      std::rethrow_exception(
          sink_stop_error(t.sink_stop, t.request, std::exchange(t.sink_error, nullptr)));
    case Abort::kUploadRead:
      throw IoError(t.request.upload_path, "reading the upload body of " + url + " failed",
                    ErrorDetails{0, std::strerror(t.upload_errno)});
    case Abort::kProtocol:
      throw ProtocolError(url, "invalid HTTP response", ErrorDetails{0, t.protocol_problem});
    case Abort::kDecodedTooLarge:
      throw TooLarge(url, t.protocol_problem);
    case Abort::kNone:
      break;
  }
  ErrorDetails details{0, cause_of(t)};
  switch (t.result) {
    case CURLE_OPERATION_TIMEDOUT:
      throw Timeout(url, "HTTP transfer timed out", std::move(details));
    case CURLE_UNSUPPORTED_PROTOCOL:
      // Also what curl says of a reply that is not HTTP at all ("Received HTTP/0.9 when not
      // allowed"): the server's fault, not the URL's.
      if (details.cause.find("HTTP/0.9") != std::string::npos) {
        throw ProtocolError(url, "invalid HTTP response", std::move(details));
      }
      // "Unsupported HTTP version in response": the server answered, in a version we do not
      // speak; the URL was fine.
      if (details.cause.find("HTTP version") != std::string::npos) {
        throw ProtocolError(url, "unsupported HTTP version", std::move(details));
      }
      throw InvalidArgument(url, "bad URL", std::move(details));
    case CURLE_URL_MALFORMAT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      throw InvalidArgument(url, "bad URL", std::move(details));
    case CURLE_TOO_MANY_REDIRECTS:
      throw ProtocolError(url, "too many redirects", std::move(details));
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_RANGE_ERROR:
      throw ProtocolError(url, "invalid HTTP response", std::move(details));
    case CURLE_PARTIAL_FILE:
      throw NetworkError(url, "truncated response body", std::move(details));
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      throw NetworkError(url, "cannot resolve host", std::move(details));
    case CURLE_COULDNT_CONNECT: {
      long os_errno = 0;
      curl_easy_getinfo(t.easy, CURLINFO_OS_ERRNO, &os_errno);
      if (os_errno == EMFILE || os_errno == ENFILE) {
        throw NetworkError(url, std::string(kTooManyOpenFiles), std::move(details));
      }
      throw NetworkError(url, "cannot connect", std::move(details));
    }
    case CURLE_SSL_CACERT_BADFILE:
      // The caller's ca_path is a bad argument; a system without a CA bundle (no
      // ca-certificates package) simply cannot verify anything.
      if (!t.options.ca_path.empty()) {
        throw InvalidArgument(url, "cannot use the CA bundle (ca_path)", std::move(details));
      }
      throw NetworkError(url, std::string(kTlsFailure), std::move(details));
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
      throw NetworkError(url, std::string(kTlsFailure), std::move(details));
    case CURLE_OUT_OF_MEMORY:
      throw OutOfMemory(url, "libcurl ran out of memory", std::move(details));
    default:
      // SEND/RECV_ERROR, GOT_NOTHING, HTTP2 stream errors...: the connection failed.
      throw NetworkError(url, "HTTP transfer failed", std::move(details));
  }
}

}  // namespace asyncfs::http
