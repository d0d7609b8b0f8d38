// Registers http:// with the conformance suite: each test gets a fresh directory under the
// shared nginx's document root; data is seeded on disk (out of band) and written by PUT.
//
// Runs by default. Where HTTP's conventions differ from a local disk, the suite reads them
// from capabilities() rather than from the backend's name: directory names keep their "/"
// (d()), listings carry no sizes, names are percent-encoded URLs (enc()), '?' is not a glob
// wildcard, and errors carry the HTTP status. docs/http.md lists what is checked and skipped.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "asyncfs/backends/http.hpp"
#include "conformance/conformance.hpp"
#include "support/http_transport.hpp"
#include "support/nginx_server.hpp"

namespace asyncfs::conformance {
namespace {

class HttpFixture : public BackendFixture {
 public:
  HttpFixture() : nginx_(testing::NginxServer::shared()), fs_(make(false)) {
    static std::atomic<int> counter{0};
    rel_ = "conf-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    std::filesystem::create_directories(nginx_.path(rel_));
  }

  std::shared_ptr<AsyncFileSystem> fs() override { return fs_; }
  std::string root() override { return nginx_.url(rel_); }
  std::shared_ptr<AsyncFileSystem> make_asynchronous() override { return make(true); }

  void seed_file(const std::string& path, const std::string& data) override {
    nginx_.write(rel_of(path), data);
  }
  void seed_dir(const std::string& path) override {
    std::filesystem::create_directories(nginx_.path(rel_of(path)));
  }

 private:
  static std::shared_ptr<AsyncFileSystem> make(bool asynchronous) {
    http::HttpOptions opts;
    opts.base.asynchronous = asynchronous;
    opts.retry_backoff = std::chrono::milliseconds(10);
    // Small blocks, so file reads really go through several ranged requests.
    opts.block_size = 4096;
    opts.transport = asyncfs::testing::test_http_transport();
    return http::make_filesystem(std::move(opts));
  }
  /// "http://127.0.0.1:port/conf-x/a/b" -> "conf-x/a/b"
  std::string rel_of(const std::string& url) const {
    const std::string base = nginx_.url("");
    std::string rel = url.starts_with(base) ? url.substr(base.size()) : url;
    while (rel.ends_with('/')) rel.pop_back();
    return rel;
  }

  testing::NginxServer& nginx_;
  std::shared_ptr<AsyncFileSystem> fs_;
  std::string rel_;
};

}  // namespace

namespace {
bool register_http() {
  return register_backend("http", [] { return std::make_unique<HttpFixture>(); });
}
[[maybe_unused]] const bool http_registered = register_http();
}  // namespace

}  // namespace asyncfs::conformance
