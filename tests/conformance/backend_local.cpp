// Registers file:// with the conformance suite: each test gets its own mkdtemp directory.

#include "asyncfs/backends/local.hpp"
#include "conformance/conformance.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::conformance {
namespace {

class LocalFixture : public BackendFixture {
 public:
  LocalFixture() : fs_(make()) {}

  std::shared_ptr<AsyncFileSystem> fs() override { return fs_; }
  std::string root() override { return temp_.path(); }
  std::shared_ptr<AsyncFileSystem> make_asynchronous() override {
    local::LocalOptions opts;
    opts.base.asynchronous = true;
    return local::make_filesystem(std::move(opts));
  }

 private:
  static std::shared_ptr<AsyncFileSystem> make() {
    local::LocalOptions opts;
    // fsspec's own local conformance fixture uses auto_mkdir=True: copying to "a file in a
    // new directory" must create that directory.
    opts.auto_mkdir = true;
    // Small chunks, so the transfer tests' multi-block file really streams in several pieces.
    opts.block_size = 4096;
    return local::make_filesystem(std::move(opts));
  }

  testing::TempDir temp_{"asyncfs-conf"};
  std::shared_ptr<AsyncFileSystem> fs_;
};

}  // namespace

ASYNCFS_CONFORMANCE_BACKEND(local, [] { return std::make_unique<LocalFixture>(); });

}  // namespace asyncfs::conformance
