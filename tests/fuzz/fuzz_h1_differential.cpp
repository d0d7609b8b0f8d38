// libFuzzer target, differential: the same response bytes go to the native HTTP/1.1 parser
// (core/http/h1/response_parser) and, through a local unix socket, to libcurl configured as
// core/http/curl/transfer.cpp configures it for a plain GET or HEAD, its head lines read by
// the transport's own header-callback code (HeadCheck, core/http/head_check.hpp). Both must
// agree: on success or failure, and when both succeed on the status, the header fields (names
// lower-cased, values trimmed, folds joined, as both transports store them) and the body
// bytes. A disagreement prints both results and traps. Only the verdict is compared, not the
// kind of error.
//
// Input: the first byte picks the method ('H' = HEAD, anything else GET); the rest is the raw
// response, written by the server in one go, after which it closes its side (so a body
// without framing ends there on both sides).
//
// Intentional divergences, not reported (keep this list short; each has its reason):
//  1. The native parser says transfer_coded() (a coding other than chunked: "gzip, chunked",
//     "chunked, gzip"): the native client never delivers that body; it hands the hop to
//     libcurl (h1/client.cpp, Exchange::on_head), so only libcurl's answer reaches a caller.
//  2. Junk after a chunk size ("1A/x" instead of "1A;x"): RFC 9112 §7.1 allows only ";"
//     extensions there and the parser refuses it; libcurl 7.88 skips whatever follows the hex
//     digits. Chunk lines never reach a libcurl callback, so our curl path cannot refuse it.
//  3. Verdicts on the trailer section, once both sides have the whole body (the last chunk
//     arrived): libcurl 7.88 parses trailers its own way (a bare LF does not end a trailer
//     line, a CR must be followed by LF, the close ends them in some states and not in
//     others) and only hands us complete lines, so our curl path cannot mirror it. Neither
//     transport keeps trailers; the native parser judges their syntax and accepts a trailer
//     section cut by the close.

#include <curl/curl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/http/curl/easy_reuse.hpp"
#include "core/http/h1/response_parser.hpp"
#include "core/http/head_check.hpp"
#include "core/http/header_util.hpp"

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;
using asyncfs::http::trim;

constexpr int kIoTimeoutMs = 2000;  // any socket wait of the server; curl gets the same bound

// --- the server: one thread, one connection at a time, the current input as the response ----

std::mutex g_mu;
std::string g_response;  // what the next connection gets
std::string g_socket_path;

/// Waits for `events` on fd; false on timeout or error.
bool wait_for(int fd, short events) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, kIoTimeoutMs) > 0;
}

void serve(int fd) {
  std::string response;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    response = g_response;
  }
  // Read the request head first: closing a unix socket with unread bytes resets the peer,
  // which would lose the response.
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos && wait_for(fd, POLLIN)) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    request.append(buf, static_cast<std::size_t>(n));
  }
  std::string_view out = response;
  while (!out.empty() && wait_for(fd, POLLOUT)) {
    const ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n <= 0) break;  // curl closed early (it refused the head, or had all it wanted)
    out.remove_prefix(static_cast<std::size_t>(n));
  }
  ::shutdown(fd, SHUT_WR);
  // Until curl closes (FORBID_REUSE: it does once the transfer ends), so nothing is left
  // unread when we close.
  while (wait_for(fd, POLLIN) && ::recv(fd, buf, sizeof buf, 0) > 0) {
  }
  ::close(fd);
}

void start_server() {
  char dir[] = "/tmp/asyncfs-difffuzz-XXXXXX";
  if (!::mkdtemp(dir)) std::abort();
  g_socket_path = std::string(dir) + "/s";
  const int lfd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (lfd < 0 || g_socket_path.size() >= sizeof addr.sun_path) std::abort();
  g_socket_path.copy(addr.sun_path, g_socket_path.size());
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, 8) != 0) {
    std::abort();
  }
  std::thread([lfd] {
    for (;;) {
      const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) serve(fd);
    }
  }).detach();
}

// --- the two sides ------------------------------------------------------------------------------

struct Outcome {
  bool ok = false;
  int status = 0;
  Headers headers;
  std::string body;
  std::string error;
};

/// What libcurl's header callback saw, read by the transport's own HeadCheck: its verdict, and
/// the header list the transport would have built.
struct CurlHead {
  asyncfs::http::HeadCheck check;
  std::string problem;  // set: the transport would have refused the response (callback returned 0)
  Headers headers;
};

size_t on_header(char* data, size_t size, size_t n, void* self) {
  auto* h = static_cast<CurlHead*>(self);
  const std::string_view line(data, size * n);
  if (std::string problem = h->check.line(line, h->headers); !problem.empty()) {
    h->problem = std::move(problem);
    return 0;
  }
  return line.size();
}

size_t on_body(char* data, size_t size, size_t n, void* self) {
  static_cast<std::string*>(self)->append(data, size * n);
  return size * n;
}

Outcome run_curl(CURL* easy, bool head) {
  CurlHead h;
  Outcome out;
  curl_easy_reset(easy);
  // As configure_easy() sets a plain GET/HEAD; what frames the response is the same.
  curl_easy_setopt(easy, CURLOPT_URL, "http://fuzz.invalid/x");
  curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, g_socket_path.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_HTTP_CONTENT_DECODING, 0L);
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 256L << 10);
  curl_slist* list = curl_slist_append(nullptr, "Accept-Encoding: identity");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
  if (head) {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &h);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &out.body);
  // One connection per input, and bounded.
  curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(kIoTimeoutMs));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(kIoTimeoutMs));
  const CURLcode rc = curl_easy_perform(easy);
  curl_slist_free_all(list);
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  out.status = static_cast<int>(status);
  out.headers = std::move(h.headers);
  // As CurlMulti's fetch(): the callback's refusal, libcurl's error, then a head the close cut.
  out.ok = rc == CURLE_OK && h.problem.empty() && h.check.ended();
  if (!h.problem.empty()) {
    out.error = "refused by HeadCheck: " + h.problem;
  } else if (rc != CURLE_OK) {
    out.error =
        std::string(curl_easy_strerror(rc)) + " (" + std::to_string(static_cast<int>(rc)) + ")";
  } else if (!h.check.ended()) {
    out.error = "head cut short by the close (HeadCheck::ended())";
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    // The server always closes: a timeout is a hang somewhere, never a verdict.
    std::fprintf(stderr, "libcurl timed out on a response that ends\n");
    __builtin_trap();
  }
  return out;
}

Outcome run_native(std::string_view wire, bool head, bool& transfer_coded, bool& in_trailers) {
  asyncfs::http::h1::ResponseParser p;
  p.start(head);
  Outcome out;
  try {
    // As Conn::on_read: feed until the response is done or the bytes are used up.
    while (!wire.empty() && !p.done()) {
      const std::size_t used = p.feed(wire, [&out](std::string_view b) {
        out.body.append(b);
        return true;
      });
      wire.remove_prefix(used);
      if (used == 0) break;
    }
    in_trailers = p.in_trailers();
    out.ok = p.done() || p.on_eof();  // the server closed after the bytes
    if (!out.ok) out.error = "cut short by the close";
  } catch (const asyncfs::http::h1::ParseError& e) {
    out.error = std::string("ParseError: ") + e.what();
    in_trailers = p.in_trailers();
  }
  out.status = p.status();
  out.headers = p.headers();
  transfer_coded = p.head_complete() && p.transfer_coded();
  return out;
}

// --- comparison ---------------------------------------------------------------------------------

void print(const char* side, const Outcome& o) {
  std::fprintf(stderr, "%s: %s", side, o.ok ? "OK" : "FAILED");
  if (!o.ok) std::fprintf(stderr, " (%s)", o.error.c_str());
  std::fprintf(stderr, " status %d, %zu body bytes\n", o.status, o.body.size());
  for (const auto& [name, value] : o.headers) {
    std::fprintf(stderr, "  [%s] = [%s]\n", name.c_str(), value.c_str());
  }
  if (!o.body.empty()) {
    std::fprintf(stderr, "  body: [%.*s]\n",
                 static_cast<int>(std::min<std::size_t>(o.body.size(), 200)), o.body.data());
  }
}

[[noreturn]] void disagree(const char* what, std::string_view wire, bool head,
                           const Outcome& native, const Outcome& curl) {
  std::fprintf(stderr, "\n=== differential: %s (%s of %zu bytes)\n", what, head ? "HEAD" : "GET",
               wire.size());
  print("native ", native);
  print("libcurl", curl);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static CURL* easy = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    start_server();
    return curl_easy_init();
  }();
  if (!asyncfs::http::easy_handles_reusable()) {
    // As the transport's pool: a fresh handle per transfer where reuse is unsafe.
    curl_easy_cleanup(easy);
    easy = curl_easy_init();
  }
  if (size < 1 || size > 64 * 1024) return 0;
  const bool head = data[0] == 'H';
  const std::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_response.assign(wire);
  }
  bool transfer_coded = false;
  bool in_trailers = false;
  const Outcome native = run_native(wire, head, transfer_coded, in_trailers);
  const Outcome curl = run_curl(easy, head);
  if (transfer_coded) return 0;  // divergence 1
  if (!native.ok && curl.ok &&
      native.error.find("junk after the chunk size") != std::string::npos) {
    return 0;  // divergence 2
  }
  if (native.ok != curl.ok && in_trailers && native.body == curl.body) return 0;  // divergence 3
  if (native.ok != curl.ok) disagree("one accepts, the other refuses", wire, head, native, curl);
  if (!native.ok) return 0;
  if (native.status != curl.status) disagree("status", wire, head, native, curl);
  if (native.body != curl.body) disagree("body", wire, head, native, curl);
  if (native.headers != curl.headers) disagree("headers", wire, head, native, curl);
  return 0;
}
