#pragma once
// Launches tests/support/firecrest_emulator.py (a FirecREST v2 server over a temp directory,
// with its token endpoint and presigned S3 staging area) and talks to its test controls
// (/_emulator/...: request log, faults, stats, live config). The route list is the docstring
// at the top of firecrest_emulator.py.
//
//   FirecrestEmulator emu({"--job-delay", "0.2"});
//   auto fc = firecrest::Client::create(emu.options());
//   emu.control("/_emulator/faults", R"({"match": "/status/systems", "status": 503})");

#include <memory>
#include <string>
#include <vector>

#include "asyncfs/backends/firecrest.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::testing {

class FirecrestEmulator {
 public:
  /// Extra command-line options for the emulator (e.g. {"--token-ttl", "40"}).
  explicit FirecrestEmulator(std::vector<std::string> args = {}, int startup_timeout_ms = 15000);
  ~FirecrestEmulator();
  FirecrestEmulator(const FirecrestEmulator&) = delete;
  FirecrestEmulator& operator=(const FirecrestEmulator&) = delete;

  static std::string script_path();

  int port() const { return port_; }
  /// http://127.0.0.1:<port>
  std::string url() const;
  std::string token_url() const { return url() + "/auth/token"; }
  static constexpr const char* kClientId = "asyncfs-client";
  static constexpr const char* kClientSecret = "asyncfs-secret";
  static constexpr const char* kUser = "fireuser";
  /// Where `remote` (absolute) of `system` lives on the local disk.
  std::string local(const std::string& system, const std::string& remote) const;

  /// Client options for this emulator: URL, client credentials, token URL, short polls, and
  /// an IoThread of its own.
  firecrest::FirecrestOptions options() const;

  /// One request to the emulator (test controls); returns the body, throws on non-2xx.
  std::string request(const std::string& method, const std::string& path,
                      const std::string& body = "") const;
  std::string control(const std::string& path, const std::string& json) const {
    return request("POST", path, json);
  }

  struct LogEntry {
    std::string method;
    std::string path;
    std::string service;
    int status = 0;
    double time = 0;  ///< monotonic seconds at arrival
  };
  std::vector<LogEntry> log() const;
  void clear_log() const { request("POST", "/_emulator/log/clear"); }
  /// SIGKILLs the emulator (a server dying mid-transfer); later requests fail to connect.
  void kill();
  /// The emulator's stderr, for failure messages.
  std::string server_log() const;

 private:
  std::unique_ptr<TempDir> dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace asyncfs::testing
