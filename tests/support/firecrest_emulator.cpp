#include "support/firecrest_emulator.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#ifndef ASYNCFS_TEST_SUPPORT_DIR
#error "ASYNCFS_TEST_SUPPORT_DIR must be defined (tests/CMakeLists.txt)"
#endif

namespace asyncfs::testing {
namespace {

/// A minimal blocking HTTP/1.0-style exchange (Connection: close), bounded to 10 s: the test
/// controls must not depend on the client under test.
std::string exchange(int port, const std::string& method, const std::string& path,
                     const std::string& body, int* status) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("emulator control: socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("emulator control: connect failed");
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
  for (std::size_t sent = 0; sent < req.size();) {
    const ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("emulator control: send failed");
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string resp;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) < 0) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::close(fd);
      throw std::runtime_error("emulator control: no answer within 10 s");
    }
    if (!(p.revents & (POLLIN | POLLHUP))) continue;
    char buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto head_end = resp.find("\r\n\r\n");
  if (head_end == std::string::npos || resp.size() < 12) {
    throw std::runtime_error("emulator control: malformed response");
  }
  *status = std::stoi(resp.substr(9, 3));
  std::string out = resp.substr(head_end + 4);
  // Bodies of the controls are sent with Content-Length, never chunked.
  return out;
}

}  // namespace

std::string FirecrestEmulator::script_path() {
  return std::string(ASYNCFS_TEST_SUPPORT_DIR) + "/firecrest_emulator.py";
}

FirecrestEmulator::FirecrestEmulator(std::vector<std::string> args, int startup_timeout_ms) {
  dir_ = std::make_unique<TempDir>("asyncfs-firecrest");
  std::vector<std::string> argv = {"--root", dir_->path(), "--port", "0"};
  argv.insert(argv.end(), args.begin(), args.end());
  PythonServer s =
      start_python_server("FirecrestEmulator", script_path(), argv, *dir_ / "emulator.log",
                          std::chrono::milliseconds(startup_timeout_ms));
  process_ = std::move(s.process);
  port_ = s.port;
}

FirecrestEmulator::~FirecrestEmulator() {
  if (process_) process_->stop(std::chrono::seconds(5));
}

void FirecrestEmulator::kill() {
  if (process_ && process_->pid() > 0) ::kill(process_->pid(), SIGKILL);
}

std::string FirecrestEmulator::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string FirecrestEmulator::local(const std::string& system, const std::string& remote) const {
  return dir_->path() + "/" + system + remote;
}

firecrest::FirecrestOptions FirecrestEmulator::options() const {
  firecrest::FirecrestOptions o;
  // A loop of its own: the client's connections end with it, before the emulator and its
  // directory go (the default loop would keep them past the test).
  o.io = std::make_shared<IoThread>("firecrest-test");
  o.url = url();
  o.client_id = kClientId;
  o.client_secret = kClientSecret;
  o.token_url = token_url();
  o.poll_interval = std::chrono::milliseconds(50);
  o.poll_max_interval = std::chrono::milliseconds(500);
  o.retry_backoff = std::chrono::milliseconds(50);
  return o;
}

std::string FirecrestEmulator::request(const std::string& method, const std::string& path,
                                       const std::string& body) const {
  int status = 0;
  std::string out = exchange(port_, method, path, body, &status);
  if (status < 200 || status >= 300) {
    throw std::runtime_error("emulator " + method + " " + path + " -> " + std::to_string(status) +
                             ": " + out.substr(0, 300));
  }
  return out;
}

std::vector<FirecrestEmulator::LogEntry> FirecrestEmulator::log() const {
  const std::string body = request("GET", "/_emulator/log");
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(body);
  std::vector<LogEntry> out;
  for (simdjson::dom::element e : doc.get_array()) {
    LogEntry l;
    l.method = std::string(std::string_view(e["method"]));
    l.path = std::string(std::string_view(e["path"]));
    std::string_view svc;
    if (e["service"].get_string().get(svc) == simdjson::SUCCESS) l.service = std::string(svc);
    std::int64_t st = 0;
    if (e["status"].get_int64().get(st) == simdjson::SUCCESS) l.status = static_cast<int>(st);
    l.time = double(e["time"]);
    out.push_back(std::move(l));
  }
  return out;
}

std::string FirecrestEmulator::server_log() const {
  const std::string p = *dir_ / "emulator.log";
  try {
    return local_exists(p) ? read_local_file(p) : std::string();
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace asyncfs::testing
