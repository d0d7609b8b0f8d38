#include "support/fault_server.hpp"

#include <unistd.h>

#include <chrono>
#include <stdexcept>

#ifndef ASYNCFS_TEST_SUPPORT_DIR
#error "ASYNCFS_TEST_SUPPORT_DIR must be defined (tests/CMakeLists.txt)"
#endif

namespace asyncfs::testing {
namespace {

constexpr const char* kPython = "/usr/bin/python3";

std::string strip_slash(const std::string& path) {
  return path.starts_with('/') ? path.substr(1) : path;
}

}  // namespace

std::string FaultServer::script_path() {
  return std::string(ASYNCFS_TEST_SUPPORT_DIR) + "/fault_server.py";
}

FaultServer::FaultServer(int startup_timeout_ms) {
  if (access(kPython, X_OK) != 0) {
    throw std::runtime_error(std::string("FaultServer: ") + kPython + " not found");
  }
  const std::string script = script_path();
  if (access(script.c_str(), R_OK) != 0) {
    throw std::runtime_error("FaultServer: cannot read " + script);
  }
  dir_ = std::make_unique<TempDir>("asyncfs-faults");
  SpawnOptions spawn;
  // -u: unbuffered, so the port line is not stuck in a pipe buffer; -I: ignore PYTHON* env and
  // user site-packages, the script needs only the standard library.
  spawn.argv = {kPython, "-u", "-I", script, "0"};
  spawn.pipe_stdout = true;
  spawn.stderr_path = *dir_ / "server.log";
  process_ = std::make_unique<ChildProcess>(spawn);

  auto line = read_line(process_->stdout_fd(), std::chrono::milliseconds(startup_timeout_ms));
  int port = 0;
  if (line) {
    try {
      port = std::stoi(*line);
    } catch (const std::exception&) {
      port = 0;
    }
  }
  if (port <= 0 || port > 65535) {
    process_->stop(std::chrono::seconds(2));
    process_.reset();
    throw std::runtime_error("FaultServer: " + script + " did not report a port within " +
                             std::to_string(startup_timeout_ms) + " ms (got '" +
                             line.value_or("<nothing>") + "'); stderr:\n" + log());
  }
  port_ = port;
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
