#include "support/nginx_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace asyncfs::testing {
namespace {

constexpr const char* kNginx = "/usr/sbin/nginx";
constexpr const char* kOpenssl = "/usr/bin/openssl";
constexpr int kStartAttempts = 5;
constexpr auto kToolTimeout = std::chrono::seconds(30);  // one openssl or `nginx -V` run

// Our own openssl config: independent of /etc/ssl/openssl.cnf (its defaults and presence).
// The CA is marked as one (keyCertSign); the server certificate is for 127.0.0.1 and localhost.
constexpr const char* kOpensslConfig = R"(
[req]
distinguished_name = dn
prompt = no
[dn]
CN = asyncfs test
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
)";

std::string read_if_exists(const std::string& path) {
  try {
    return local_exists(path) ? read_local_file(path) : std::string();
  } catch (const std::exception&) {
    return {};
  }
}

// One GET over a fresh connection with socket timeouts; returns the raw response ("" on any
// failure). Used to make sure the process answering on the port is *our* nginx.
std::string raw_get(int port, const std::string& target) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req =
        "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof buf, 0)) > 0) response.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return response;
}

std::string random_token() {
  std::random_device rd;
  return std::to_string(rd()) + std::to_string(rd());
}

std::string random_hex(int bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string out;
  for (int i = 0; i < bytes; ++i) {
    const unsigned v = rd() & 0xffu;
    out += kHex[v >> 4];
    out += kHex[v & 0xfu];
  }
  return out;
}

// Runs a tool to completion (bounded); throws with its stderr when it fails. Returns stdout.
std::string run_tool(const std::vector<std::string>& argv, const std::string& log_path) {
  RunResult r = run_process(argv, kToolTimeout, log_path);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    throw std::runtime_error("NginxServer: `" + cmd + "` " +
                             (r.timed_out ? "timed out" : "failed") + ":\n" +
                             read_if_exists(log_path));
  }
  return r.out;
}

}  // namespace

NginxServer::NginxServer() : NginxServer(Options{}) {}

NginxServer::NginxServer(Options options) : options_(std::move(options)) {
  if (access(kNginx, X_OK) != 0) {
    throw std::runtime_error(std::string("NginxServer: ") + kNginx +
                             " not found or not executable (apt-get install nginx-light)");
  }
  dir_ = std::make_unique<TempDir>("asyncfs-nginx");
  root_ = *dir_ / "www";
  for (const char* sub : {"www", "logs", "tmp"}) {
    std::filesystem::create_directories(*dir_ / sub);
  }
  if (options_.tls) make_certificates();
  std::string failure;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    if (try_start(failure)) return;
  }
  throw std::runtime_error("NginxServer: could not start nginx after " +
                           std::to_string(kStartAttempts) + " attempts: " + failure);
}

NginxServer::~NginxServer() {
  if (process_) process_->stop(std::chrono::seconds(5));
}

NginxServer& NginxServer::shared() {
  // Function-local static: constructed once (thread-safe), destroyed (nginx stopped) at exit.
  static NginxServer server;
  return server;
}

NginxServer& NginxServer::shared_tls() {
  static NginxServer server([] {
    Options o;
    o.tls = true;
    return o;
  }());
  return server;
}

std::string NginxServer::path(const std::string& rel) const {
  return root_ + "/" + (rel.starts_with('/') ? rel.substr(1) : rel);
}

std::string NginxServer::base_url() const {
  return std::string(options_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

std::string NginxServer::url(const std::string& rel) const {
  return base_url() + "/" + (rel.starts_with('/') ? rel.substr(1) : rel);
}

void NginxServer::make_certificates() {
  if (access(kOpenssl, X_OK) != 0) {
    throw std::runtime_error(std::string("NginxServer: ") + kOpenssl +
                             " not found or not executable (apt-get install openssl)");
  }
  // Fail early and clearly when this nginx cannot do what TLS mode configures.
  const std::string version_log = *dir_ / "logs/nginx-V.log";
  run_tool({kNginx, "-V"}, version_log);  // prints to stderr
  const std::string version = read_if_exists(version_log);
  for (const char* module : {"--with-http_ssl_module", "--with-http_v2_module"}) {
    if (version.find(module) == std::string::npos) {
      throw std::runtime_error(std::string("NginxServer: ") + kNginx + " was built without " +
                               module + " (needed for TLS mode); nginx -V:\n" + version);
    }
  }

  const std::string tls = *dir_ / "tls";
  std::filesystem::create_directories(tls);
  const std::string conf = tls + "/openssl.cnf";
  write_local_file(conf, kOpensslConfig);
  const std::string log = tls + "/openssl.log";
  ca_path_ = tls + "/ca.pem";
  cert_path_ = tls + "/server.pem";
  key_path_ = tls + "/server.key";
  // EC P-256 keys: generated in milliseconds, unlike RSA. Valid from now for 30 days.
  const std::vector<std::string> ec_key = {"-newkey", "ec", "-pkeyopt",
                                           "ec_paramgen_curve:prime256v1", "-nodes"};
  std::vector<std::string> ca = {kOpenssl, "req",         "-x509", "-config",
                                 conf,     "-extensions", "ca_ext"};
  ca.insert(ca.end(), ec_key.begin(), ec_key.end());
  ca.insert(ca.end(), {"-keyout", tls + "/ca.key", "-out", ca_path_, "-days", "30", "-subj",
                       "/CN=asyncfs throwaway test CA " + random_hex(4)});
  run_tool(ca, log);
  std::vector<std::string> csr = {kOpenssl, "req", "-new", "-config", conf};
  csr.insert(csr.end(), ec_key.begin(), ec_key.end());
  csr.insert(csr.end(),
             {"-keyout", key_path_, "-out", tls + "/server.csr", "-subj", "/CN=127.0.0.1"});
  run_tool(csr, log);
  run_tool({kOpenssl, "x509", "-req", "-in", tls + "/server.csr", "-CA", ca_path_, "-CAkey",
            tls + "/ca.key", "-set_serial", "0x" + random_hex(16), "-days", "30", "-extfile", conf,
            "-extensions", "server_ext", "-out", cert_path_},
           log);
}

bool NginxServer::tls_ready(std::string& failure) const {
  // A handshake verified against our fresh CA (and for the IP of the URL) proves the server
  // holds our key, i.e. it is our nginx; ALPN shows it offers HTTP/2. stdin is /dev/null, so
  // s_client ends right after the handshake.
  const std::string log = *dir_ / "logs/s_client.log";
  RunResult r = run_process(
      {kOpenssl, "s_client", "-connect", "127.0.0.1:" + std::to_string(port_), "-CAfile", ca_path_,
       "-verify_return_error", "-verify_ip", "127.0.0.1", "-alpn", "h2,http/1.1"},
      std::chrono::seconds(5), log);
  if (r.exit_code != 0 || r.out.find("Verify return code: 0 (ok)") == std::string::npos) {
    failure = "TLS handshake with 127.0.0.1:" + std::to_string(port_) + " failed (" +
              (r.timed_out ? "timed out" : "exit " + std::to_string(r.exit_code)) +
              "); openssl s_client:\n" + read_if_exists(log) + "\nnginx error log:\n" + error_log();
    return false;
  }
  if (r.out.find("ALPN protocol: h2") == std::string::npos) {
    throw std::runtime_error("NginxServer: nginx on 127.0.0.1:" + std::to_string(port_) +
                             " did not negotiate HTTP/2 (ALPN); s_client output:\n" + r.out);
  }
  return true;
}

void NginxServer::write(const std::string& rel, const std::string& data) const {
  write_local_file(path(rel), data);
}

std::string NginxServer::error_log() const { return read_if_exists(*dir_ / "logs/error.log"); }

std::string NginxServer::access_log() const { return read_if_exists(*dir_ / "logs/access.log"); }

std::string NginxServer::config() const {
  const std::string d = dir_->path();
  std::string c;
  // master_process off: one process that we own by pid, no privilege drop (so running as
  // root needs no `user` directive and the worker can read the 0700 temp dir).
  c += "daemon off;\nmaster_process off;\nworker_processes 1;\n";
  c += "pid " + d + "/nginx.pid;\n";
  c += "error_log " + d + "/logs/error.log info;\n";
  c += "events { worker_connections 512; }\n";
  c += "http {\n";
  // Own minimal types table: independent of /etc/nginx being present or edited.
  c += "  types { text/html html htm; text/plain txt; text/css css; application/json json;\n"
       "          application/javascript js; image/png png; application/octet-stream bin; }\n";
  c += "  default_type application/octet-stream;\n";
  c += "  access_log " + d + "/logs/access.log;\n";
  // Compiled-in temp paths point at /var/lib/nginx; keep everything inside our dir (PUT bodies
  // are renamed from client_body_temp_path into the root, so both must share a filesystem).
  for (const char* t : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
    c += std::string("  ") + t + "_temp_path " + d + "/tmp/" + t + ";\n";
  }
  c += "  sendfile on;\n  tcp_nodelay on;\n";
  c += "  keepalive_timeout 60s;\n  keepalive_requests 10000;\n";
  c += "  client_max_body_size 0;\n";
  if (options_.gzip) {
    c += "  gzip on;\n  gzip_min_length 0;\n  gzip_types *;\n  gzip_proxied any;\n";
  } else {
    c += "  gzip off;\n";
  }
  c += options_.extra_http_config + "\n";
  c += "  server {\n";
  if (options_.tls) {
    // nginx 1.22 syntax (`http2 on;` only exists from 1.25.1). h2 is chosen by ALPN; clients
    // without it get HTTP/1.1 on the same port. 128 concurrent streams per connection (default).
    c += "    listen 127.0.0.1:" + std::to_string(port_) + " ssl http2;\n";
    c += "    ssl_certificate " + cert_path_ + ";\n";
    c += "    ssl_certificate_key " + key_path_ + ";\n";
    c += "    ssl_protocols TLSv1.2 TLSv1.3;\n";
  } else {
    c += "    listen 127.0.0.1:" + std::to_string(port_) + ";\n";
  }
  c += "    server_name 127.0.0.1 localhost;\n";
  c += "    root " + root_ + ";\n";
  c += "    location = /__asyncfs_ready { default_type text/plain; return 200 \"" + token_ +
       "\"; }\n";
  c += "    location / {\n";
  c += "      autoindex on;\n";
  c += "      dav_methods PUT DELETE MKCOL COPY MOVE;\n";
  c += "      create_full_put_path on;\n";
  c += "      dav_access user:rw group:rw all:r;\n";
  c += "    }\n";
  c += options_.extra_server_config + "\n";
  c += "  }\n}\n";
  return c;
}

bool NginxServer::try_start(std::string& failure) {
  using Clock = std::chrono::steady_clock;
  port_ = pick_free_port();
  token_ = random_token();
  const std::string conf = *dir_ / "nginx.conf";
  write_local_file(conf, config());
  // Truncate the error log so a retry's diagnosis is not confused by the previous attempt.
  write_local_file(*dir_ / "logs/error.log", "");

  SpawnOptions spawn;
  spawn.argv = {kNginx, "-p", dir_->path() + "/", "-c", conf, "-e", *dir_ / "logs/error.log"};
  spawn.stdout_path = *dir_ / "logs/stdout.log";
  spawn.stderr_path = *dir_ / "logs/stderr.log";
  process_ = std::make_unique<ChildProcess>(spawn);

  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.startup_timeout_ms);
  while (Clock::now() < deadline) {
    if (!process_->running()) {
      const std::string log = error_log() + read_if_exists(*dir_ / "logs/stderr.log");
      process_.reset();
      failure = "nginx exited during startup; error log:\n" + log;
      if (log.find("Address already in use") != std::string::npos) return false;  // port race
      throw std::runtime_error("NginxServer: " + failure);
    }
    if (port_accepts(port_)) {
      if (options_.tls) {
        if (tls_ready(failure)) return true;
        // Not our server, or our TLS setup is broken: stop and let the caller retry (the last
        // failure, with s_client's and nginx's logs, is reported after the last attempt).
        process_->stop(std::chrono::seconds(2));
        process_.reset();
        return false;
      }
      const std::string response = raw_get(port_, "/__asyncfs_ready");
      if (response.find(token_) != std::string::npos) return true;
      // Someone else owns the port (bind race lost without nginx noticing yet): retry.
      if (!response.empty()) {
        process_->stop(std::chrono::seconds(2));
        process_.reset();
        failure = "port " + std::to_string(port_) + " answered by another server";
        return false;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  process_->stop(std::chrono::seconds(2));
  process_.reset();
  throw std::runtime_error(
      "NginxServer: nginx did not accept connections on 127.0.0.1:" + std::to_string(port_) +
      " within " + std::to_string(options_.startup_timeout_ms) + " ms; error log:\n" + error_log());
}

}  // namespace asyncfs::testing
