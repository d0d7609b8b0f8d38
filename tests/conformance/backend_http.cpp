// Registers http:// with the conformance suite: each test gets a fresh directory under the
// shared nginx's document root; data is seeded on disk (out of band) and written by PUT.
//
// Opt-in for now (ASYNCFS_CONFORMANCE_HTTP=1): the suite assumes conventions that HTTP does
// not share, so 26 of its 237 http cases fail for reasons the suite has to decide, not the
// backend: (1) listing names of directories carry no trailing "/" and strip_protocol removes
// it, while an HTTP directory URL keeps it (the index may 404 without it; issue #3);
// (2) ls() entries have sizes (an HTML index gives none: size_always_known is false);
// (3) a NotFound has http_status 0 (HTTP reports 404); (4) names with spaces or raw UTF-8
// round-trip through listings, while index pages return percent-encoded hrefs; (5) a PUT
// below a file is NotADirectory (nginx answers 500). The other 170 pass and 41 are skipped.

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "asyncfs/backends/http.hpp"
#include "conformance/conformance.hpp"
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
  const char* on = std::getenv("ASYNCFS_CONFORMANCE_HTTP");
  if (!on || std::string(on) != "1") return false;
  return register_backend("http", [] { return std::make_unique<HttpFixture>(); });
}
[[maybe_unused]] const bool http_registered = register_http();
}  // namespace

}  // namespace asyncfs::conformance
