// Registers firecrest:// with the conformance suite: one FirecREST emulator for the whole run
// (tests/support/firecrest_emulator.py), a fresh directory under the user's home per test.
// Seeding writes the emulator's directory on the local disk (out of band), so read tests do
// not depend on the backend's own writes.

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "asyncfs/backends/firecrest_fs.hpp"
#include "conformance/conformance.hpp"
#include "support/firecrest_emulator.hpp"

namespace asyncfs::conformance {
namespace {

testing::FirecrestEmulator& shared_emulator() {
  // Leaked on purpose: it must outlive every fixture, and its process ends with ours.
  static auto* emu = [] {
    auto* e = new testing::FirecrestEmulator({"--job-delay", "0"});
    // What a user sets: url_to_fs("firecrest://...") builds its filesystem from these.
    ::setenv("FIRECREST_URL", e->url().c_str(), 1);
    ::setenv("FIRECREST_CLIENT_ID", testing::FirecrestEmulator::kClientId, 1);
    ::setenv("FIRECREST_CLIENT_SECRET", testing::FirecrestEmulator::kClientSecret, 1);
    ::setenv("AUTH_TOKEN_URL", e->token_url().c_str(), 1);
    return e;
  }();
  return *emu;
}

class FirecrestFixture : public BackendFixture {
 public:
  FirecrestFixture() : emu_(shared_emulator()), fs_(make(false)) {
    static std::atomic<int> counter{0};
    rel_ = "/home/fireuser/conf-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    std::filesystem::create_directories(emu_.local("daint", rel_));
  }

  std::shared_ptr<AsyncFileSystem> fs() override { return fs_; }
  std::string root() override { return "daint" + rel_; }
  std::shared_ptr<AsyncFileSystem> make_asynchronous() override { return make(true); }

  void seed_file(const std::string& path, const std::string& data) override {
    const std::filesystem::path local = emu_.local("daint", remote_of(path));
    std::filesystem::create_directories(local.parent_path());
    std::ofstream(local, std::ios::binary) << data;
  }
  void seed_dir(const std::string& path) override {
    std::filesystem::create_directories(emu_.local("daint", remote_of(path)));
  }

 private:
  std::shared_ptr<AsyncFileSystem> make(bool asynchronous) {
    firecrest::FirecrestFsOptions o;
    o.client = emu_.options();
    o.base.io = o.client.io;
    o.base.asynchronous = asynchronous;
    return firecrest::make_filesystem(std::move(o));
  }
  /// "daint/home/fireuser/x" -> "/home/fireuser/x"
  static std::string remote_of(const std::string& path) { return path.substr(path.find('/')); }

  testing::FirecrestEmulator& emu_;
  std::shared_ptr<AsyncFileSystem> fs_;
  std::string rel_;
};

}  // namespace

ASYNCFS_CONFORMANCE_BACKEND(firecrest, [] { return std::make_unique<FirecrestFixture>(); });

}  // namespace asyncfs::conformance
