#pragma once
// Launches tests/support/fault_server.py (HTTP/1.1 misbehaviours nginx cannot show: redirects
// across hosts, flaky 429/503 with Retry-After, resets, truncation, slow drip, HEAD refused,
// tricky HTML indexes, upload sink, echo, ...). The route list is the docstring at the top of
// fault_server.py.
//
//   FaultServer faults;                                // or FaultServer::shared()
//   faults.url("flaky/503?fail=2&key=my-test");        // http://127.0.0.1:<port>/flaky/503?...
//
// Requires /usr/bin/python3 (standard library only; never the PATH python3, which may be a
// pyenv shim). Stopped by pid in the destructor; the script also exits if we die.

#include <sys/types.h>

#include <memory>
#include <string>

#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::testing {

class FaultServer {
 public:
  /// Throws std::runtime_error (with the script's stderr) if it does not report a port within
  /// `startup_timeout_ms`.
  explicit FaultServer(int startup_timeout_ms = 10000);
  ~FaultServer();
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  /// One server per process, started on first use and stopped at exit. Flaky counters and the
  /// upload sink are shared, so tests should use distinct `key=` values and sink names.
  static FaultServer& shared();

  /// Absolute path of fault_server.py.
  static std::string script_path();

  int port() const { return port_; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  /// "http://127.0.0.1:<port>/" + path (leading '/' optional; may carry a query).
  std::string url(const std::string& path = "") const;
  /// Same path on the "other host" name (localhost), for cross-host redirect tests.
  std::string other_host_url(const std::string& path = "") const;
  /// The server's request log (stderr), for failure messages.
  std::string log() const;

 private:
  std::unique_ptr<TempDir> dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace asyncfs::testing
