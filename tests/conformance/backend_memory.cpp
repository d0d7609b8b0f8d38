// Registers memory:// with the conformance suite: a brand-new store per test, so tests never
// see each other's files even when they run in one process.

#include "asyncfs/backends/memory.hpp"
#include "conformance/conformance.hpp"

namespace asyncfs::conformance {
namespace {

class MemoryFixture : public BackendFixture {
 public:
  MemoryFixture() : fs_(memory::make_filesystem(memory::MemoryOptions{})) {}

  std::shared_ptr<AsyncFileSystem> fs() override { return fs_; }

  std::shared_ptr<AsyncFileSystem> make_asynchronous() override {
    memory::MemoryOptions opts;
    opts.base.asynchronous = true;
    return memory::make_filesystem(std::move(opts));
  }

  std::string root() override {
    // A directory below the root marker rather than "/" itself: tests that list or walk the
    // root would otherwise depend on how the backend presents "/".
    if (root_.empty()) {
      root_ = "/conformance";
      fs_->makedirs(root_, /*exist_ok=*/true);
    }
    return root_;
  }

 private:
  std::shared_ptr<AsyncFileSystem> fs_;
  std::string root_;
};

}  // namespace

ASYNCFS_CONFORMANCE_BACKEND(memory, [] { return std::make_unique<MemoryFixture>(); });

}  // namespace asyncfs::conformance
