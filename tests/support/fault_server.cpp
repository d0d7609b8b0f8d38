#include "support/fault_server.hpp"

#include <unistd.h>

#include <chrono>
#include <stdexcept>

#ifndef ASYNCFS_TEST_SUPPORT_DIR
#error "ASYNCFS_TEST_SUPPORT_DIR must be defined (tests/CMakeLists.txt)"
#endif

namespace asyncfs::testing {
namespace {

std::string strip_slash(const std::string& path) {
  return path.starts_with('/') ? path.substr(1) : path;
}

}  // namespace

std::string FaultServer::script_path() {
  return std::string(ASYNCFS_TEST_SUPPORT_DIR) + "/fault_server.py";
}

FaultServer::FaultServer(int startup_timeout_ms) {
  dir_ = std::make_unique<TempDir>("asyncfs-faults");
  PythonServer s = start_python_server("FaultServer", script_path(), {"0"}, *dir_ / "server.log",
                                       std::chrono::milliseconds(startup_timeout_ms));
  process_ = std::move(s.process);
  port_ = s.port;
}

FaultServer::~FaultServer() {
  if (process_) process_->stop(std::chrono::seconds(5));
}

FaultServer& FaultServer::shared() {
  static FaultServer server;
  return server;
}

std::string FaultServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/" + strip_slash(path);
}

std::string FaultServer::other_host_url(const std::string& path) const {
  return "http://localhost:" + std::to_string(port_) + "/" + strip_slash(path);
}

std::string FaultServer::log() const {
  const std::string p = *dir_ / "server.log";
  try {
    return local_exists(p) ? read_local_file(p) : std::string();
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace asyncfs::testing
