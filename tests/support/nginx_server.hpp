#pragma once
// A real nginx (Debian's /usr/sbin/nginx, nginx-light) on 127.0.0.1 for HTTP backend tests.
//
//   NginxServer nginx;                       // or NginxServer::shared() for one per process
//   nginx.write("dir/a.txt", "hello");       // into the document root
//   std::string u = nginx.url("dir/a.txt");  // http://127.0.0.1:<port>/dir/a.txt
//
// The whole document root is served read/write: GET/HEAD (Range -> 206), autoindex HTML
// listings for directories (URLs ending in '/'), WebDAV PUT/DELETE/MKCOL/COPY/MOVE with
// create_full_put_path. HTTP/1.1 with keep-alive, no gzip unless Options::gzip.
// Runs as a single process (master_process off), stopped by pid in the destructor.
//
// TLS mode (Options::tls, or NginxServer::shared_tls()): at construction a throwaway CA and a
// server certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1, DNS:localhost) are made with
// /usr/bin/openssl in the temp dir, and nginx listens `ssl http2` (ALPN h2 and http/1.1):
//
//   NginxServer::Options o;  o.tls = true;
//   NginxServer tls(o);
//   tls.url("a.txt");        // https://127.0.0.1:<port>/a.txt
//   tls.ca_path();           // PEM of the CA that signed the server certificate

#include <sys/types.h>

#include <memory>
#include <string>

#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::testing {

class NginxServer {
 public:
  struct Options {
    /// gzip on for every type (gzip_min_length 0), for Content-Encoding tests.
    bool gzip = false;
    /// Inserted verbatim inside `http { }` and inside `server { }`, e.g.
    /// `location /noranges/ { max_ranges 0; }` or `location /secret/ { return 403; }`.
    std::string extra_http_config;
    std::string extra_server_config;
    /// Bound on waiting for the port to accept connections.
    int startup_timeout_ms = 10000;
    /// HTTPS with HTTP/2 (`listen ... ssl http2`) and a fresh CA + server certificate made with
    /// the openssl CLI. Needs nginx built with the ssl and http_v2 modules (Debian's is; checked
    /// with `nginx -V` at construction).
    bool tls = false;
  };

  NginxServer();
  explicit NginxServer(Options options);
  ~NginxServer();
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  /// One server per process, started on first use and stopped at exit. Tests sharing it should
  /// use distinct subdirectories of root().
  static NginxServer& shared();
  /// The same for an Options::tls server (a separate process from shared()).
  static NginxServer& shared_tls();

  int port() const { return port_; }
  bool tls() const { return options_.tls; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  /// Document root (absolute, no trailing slash); readable and writable by the test.
  const std::string& root() const { return root_; }
  /// root() + "/" + rel
  std::string path(const std::string& rel) const;
  /// "http://127.0.0.1:<port>", or "https://127.0.0.1:<port>" in TLS mode (no trailing '/').
  std::string base_url() const;
  /// base_url() + "/" + rel (rel without leading '/'; a leading '/' is tolerated).
  std::string url(const std::string& rel = "") const;
  /// TLS mode: the PEM file of the throwaway CA (pass it as the client's CA bundle), the
  /// server's certificate and key. Empty in plain mode.
  const std::string& ca_path() const { return ca_path_; }
  const std::string& cert_path() const { return cert_path_; }
  const std::string& key_path() const { return key_path_; }
  /// Writes a file below root(), creating parent directories.
  void write(const std::string& rel, const std::string& data) const;
  /// Current contents of nginx's error and access logs (for failure messages).
  std::string error_log() const;
  std::string access_log() const;

 private:
  bool try_start(std::string& failure);
  std::string config() const;
  void make_certificates();
  /// TLS mode readiness: true when the server on port_ completes a handshake verified against
  /// our CA (so it holds our key: it is our nginx) and selects h2 by ALPN.
  bool tls_ready(std::string& failure) const;

  Options options_;
  std::unique_ptr<TempDir> dir_;
  std::string root_;
  int port_ = 0;
  std::string token_;  // answered by /__asyncfs_ready, proves the port is ours
  std::unique_ptr<ChildProcess> process_;
  std::string ca_path_;
  std::string cert_path_;
  std::string key_path_;
};

}  // namespace asyncfs::testing
