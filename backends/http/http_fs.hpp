#pragma once
// The HTTP filesystem class (private): shared by http_fs.cpp (hooks) and http_file.cpp (_open).

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "asyncfs/backends/http.hpp"
#include "asyncfs/filesystem.hpp"
#include "core/http/client.hpp"
#include "core/http/engine.hpp"
#include "core/http/status.hpp"

namespace asyncfs::http {

/// What a whole-body GET asks for: the engine returns the decoded bytes, so callers see the
/// stored ones.
inline constexpr std::string_view kDecodedEncodings = "gzip, deflate";

class HttpFileSystem final : public AsyncFileSystem {
 public:
  explicit HttpFileSystem(HttpOptions options);

  std::string protocol() const override { return "http"; }
  Capabilities capabilities() const override;
  std::string root_marker() const override { return ""; }
  /// Validates the URL (http/https, a host, UTF-8, no spaces or control characters) and
  /// returns it unchanged: the trailing "/" of a directory URL is significant.
  std::string strip_protocol(std::string_view path) const override;
  /// '*' and '[' after the authority: '?' starts a query, and "[::1]" is a host.
  std::size_t find_magic(std::string_view path) const override;
  std::string unstrip_protocol(std::string_view path) const override {
    return strip_protocol(path);
  }

  Task<std::vector<FileInfo>> _ls(std::string path) override;
  Task<FileInfo> _info(std::string path) override;
  Task<Bytes> _cat_file(std::string path, std::optional<std::int64_t> start,
                        std::optional<std::int64_t> end) override;
  /// Recursive: reads the files of the expansion only (a directory URL would read as its
  /// index page).
  Task<std::size_t> _cat_each(Paths paths,
                              UniqueFunction<void(const std::string&, Outcome<Bytes>&&)> sink,
                              CatOptions opts) override;
  Task<void> _pipe_file(std::string path, Bytes data, WriteMode mode) override;
  Task<void> _get_file(std::string rpath, std::string lpath, Callback* progress) override;
  /// One GET whose chunks go to `on_data` as they arrive. A retry after a dropped connection
  /// asks for the whole body again and skips what was delivered, refusing a body whose
  /// length or ETag changed meanwhile.
  Task<std::uint64_t> _stream_file(std::string path,
                                   UniqueFunction<void(std::string_view)> on_data) override;
  Task<void> _put_file(std::string lpath, std::string rpath, Callback* progress,
                       WriteMode mode) override;
  /// Client-side copy (GET then PUT), whole file in memory.
  Task<void> _cp_file(std::string path1, std::string path2) override;
  Task<void> _rm_file(std::string path) override;
  Task<void> _mkdir(std::string path, bool create_parents) override;
  Task<void> _makedirs(std::string path, bool exist_ok) override;
  Task<void> _rmdir(std::string path) override;
  Task<bool> _isdir(std::string path) override;
  Task<std::map<std::string, FileInfo>> _glob(std::string pattern, GlobOptions opts) override;
  /// http_file.cpp: a buffered range-reading file when size and ranges allow, else a
  /// forward-only stream; write modes use the base's buffered file (PUT on close).
  Task<std::unique_ptr<AsyncFile>> _open(std::string path, std::string mode,
                                         OpenOptions opts) override;

  // --- used by the file objects ---------------------------------------------------------
  const HttpOptions& options() const noexcept { return options_; }
  /// Performs a request under the client's retry policy (core/http/client.hpp). Returns any
  /// status; callers map it with throw_status().
  Task<Response> send(RequestSpec spec) { return client_->send(std::move(spec)); }
  /// Starts a GET whose body is read chunk by chunk (Engine::stream), retried like send()
  /// until a response head arrives. Returns whatever status came; the caller checks it.
  Task<std::unique_ptr<BodyStream>> open_stream(RequestSpec spec, std::size_t high_water) {
    return client_->stream(std::move(spec), high_water);
  }

 private:
  Task<void> mkcol(std::string url, bool ok_if_exists);
  /// Throws the error for a failed upload; NotADirectory when an ancestor is a file.
  Task<void> throw_put_failure(Response resp, std::string url, std::string method);

  HttpOptions options_;
  /// Credentials given in URLs ("http://user:pass@host/"), by origin: strip_protocol() takes
  /// them out of every URL (so no name, error or log line carries them) and requests to that
  /// origin send them as Basic authorization. Shared with the client's origin_auth.
  struct UrlCredentials {
    std::mutex mutex;
    std::map<std::string, std::string> by_origin;  ///< "scheme://host[:port]" → header value
  };
  std::shared_ptr<UrlCredentials> url_credentials_ = std::make_shared<UrlCredentials>();
  std::unique_ptr<Client> client_;
};

}  // namespace asyncfs::http
