#pragma once
/// \file backends/firecrest.hpp
/// \brief FirecREST v2: the REST API through which HPC centres expose their clusters' storage
/// and schedulers. `asyncfs::firecrest::Client` is the C++ twin of pyFirecREST's async v2
/// client (method names follow it); coroutines with blocking twins, like every API here.
///
/// \code
///   auto fc =
///   asyncfs::firecrest::Client::create(asyncfs::firecrest::FirecrestOptions::from_env()); for
///   (const auto& s : fc->systems()) std::cout << s.name << "\n"; std::string id =
///   fc->submit("daint", job);        // blocking twin of _submit asyncfs::firecrest::Job done =
///   fc->wait("daint", id);
/// \endcode
///
/// Requests go through the HTTP client layer of core/http: authentication with a single-flight
/// refresh, a cap on requests in flight, optional per-service spacing (pyFirecREST's
/// time_between_calls), 429/503 retried after Retry-After, network errors and 5xx retried only
/// for idempotent calls, and a deadline per call.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "asyncfs/bytes.hpp"
#include "asyncfs/callback.hpp"
#include "asyncfs/io_thread.hpp"
#include "asyncfs/options.hpp"
#include "asyncfs/sync.hpp"
#include "asyncfs/task.hpp"

namespace asyncfs::firecrest {

/// \brief Typed options of the client. String keys (for Options, config files and
/// `ASYNCFS_FIRECREST_<KEY>` variables) are in quotes; the environment variables FirecREST
/// users already set are read by from_env() / from().
struct FirecrestOptions {
  std::shared_ptr<IoThread> io;  ///< null = the default IoThread

  /// API base, e.g. https://api.cscs.ch/hpc/firecrest/v2 ("url", FIRECREST_URL).
  std::string url;
  /// OAuth2 client credentials ("client_id", "client_secret", "token_url";
  /// FIRECREST_CLIENT_ID, FIRECREST_CLIENT_SECRET, AUTH_TOKEN_URL).
  std::string client_id;
  std::string client_secret;
  std::string token_url;
  /// "client_secret_post" (default) or "client_secret_basic" ("client_auth_method").
  std::string client_auth_method = "client_secret_post";
  /// A fixed access token instead ("token", FIRECREST_TOKEN).
  std::string token;
  /// A command that prints an access token ("token_command", FIRECREST_TOKEN_COMMAND); its
  /// token is reused for token_command_max_age or until the server refuses it.
  std::string token_command;
  std::chrono::milliseconds token_command_max_age{60'000};
  /// Any other token source: a blocking function returning a bare token (run off the loop).
  std::function<std::string()> token_function;

  /// Requests in flight at once ("max_in_flight"; 0 = unlimited).
  std::size_t max_in_flight = 64;
  /// Minimum spacing between request starts per service ("time_between_calls": a JSON object
  /// of seconds, e.g. {"compute": 1, "filesystem": 0.1}; keys status, filesystem, transfer,
  /// compute, s3; "*" for every other). Off by default: pacing would serialise async work.
  std::map<std::string, std::chrono::milliseconds> time_between_calls;
  /// Retries of idempotent calls on network errors, 408 and 5xx ("retries"), waits from
  /// "retry_backoff" doubling up to "retry_max_wait" (seconds). 429s have their own budget
  /// ("rate_limit_retries") and wait what Retry-After says.
  int retries = 3;
  int rate_limit_retries = 20;
  std::chrono::milliseconds retry_backoff{500};
  std::chrono::milliseconds retry_max_wait{30'000};
  /// Budget of one call, retries included ("call_timeout", seconds; none by default).
  std::optional<std::chrono::milliseconds> call_timeout;
  std::chrono::milliseconds connect_timeout{30'000};  ///< "connect_timeout"
  std::string ca_path;                                ///< "ca_path"
  bool insecure = false;  ///< "insecure": no TLS verification (tests only)

  /// Files up to this size go through ops/upload and ops/download; larger ones are staged
  /// through S3 ("direct_transfer_limit", bytes; capped at 3/4 of the system's
  /// max_ops_file_size, because the server base64-encodes them).
  std::uint64_t direct_transfer_limit = 1 << 20;
  /// Concurrent part uploads / ranged downloads of one staged transfer ("s3_connections").
  std::size_t s3_connections = 8;
  /// Account for transfer jobs where the site requires one ("account").
  std::string account;
  /// Job polling: first wait, doubling up to the cap ("poll_interval", "poll_max_interval").
  std::chrono::milliseconds poll_interval{200};
  std::chrono::milliseconds poll_max_interval{60'000};
  /// A freshly submitted job may be unknown to the scheduler for a while ("job_not_found_grace").
  std::chrono::milliseconds job_not_found_grace{20'000};

  /// \brief From the environment: FIRECREST_URL, FIRECREST_CLIENT_ID, FIRECREST_CLIENT_SECRET,
  /// AUTH_TOKEN_URL, FIRECREST_TOKEN, FIRECREST_TOKEN_COMMAND.
  static FirecrestOptions from_env(std::shared_ptr<IoThread> io = nullptr);
  /// \brief String options over the environment (a key given here wins). Unknown keys and bad
  /// values throw InvalidArgument naming the key.
  static FirecrestOptions from(Options opts, std::shared_ptr<IoThread> io = nullptr);
  /// \brief from() with the project's configuration under `opts`: the "firecrest" options of
  /// `~/.config/asyncfs/*.json` (or `$ASYNCFS_CONFIG_DIR`) and `ASYNCFS_FIRECREST_<KEY>`
  /// variables. Precedence: `opts` > ASYNCFS configuration > FIRECREST_* variables.
  static FirecrestOptions from_config(Options opts = {}, std::shared_ptr<IoThread> io = nullptr);
  /// Throws InvalidArgument naming the missing variable or option when the URL or the
  /// credentials are missing.
  void validate() const;
};

// --- models (the API's JSON, typed; `json` keeps the object as the server sent it) -----------

struct FileSystemInfo {
  std::string path;
  std::string data_type;  ///< users, scratch, store, archive, apps, project
  bool default_work_dir = false;
};

struct System {
  std::string name;
  std::vector<FileSystemInfo> file_systems;
  std::string scheduler;  ///< "slurm", "pbs"
  /// dataOperation: direct transfers above this size are refused.
  std::uint64_t max_ops_file_size = 5 << 20;
  std::string transfer_service;  ///< "s3", "streamer", "wormhole" or ""
  std::optional<std::uint64_t> max_part_size;
  std::optional<std::int64_t> transfer_ttl;  ///< presigned URL lifetime, seconds
  bool healthy = true;  ///< every servicesHealth entry healthy (or none reported)
  std::string json;
};

struct IdName {
  std::string id;
  std::string name;
};

struct UserInfo {
  IdName user;
  IdName group;
  std::vector<IdName> groups;
  std::string json;
};

/// One `ls` entry (ops/ls): `size` is parsed from the server's decimal string.
struct RemoteFile {
  std::string name;
  char type = '-';  ///< '-' file, 'd' directory, 'l' symlink, or c b p s
  std::string link_target;
  std::string user;
  std::string group;
  std::string permissions;    ///< "rwxr-xr-x"
  std::string last_modified;  ///< "YYYY-MM-DDTHH:MM:SS", server-local time
  std::uint64_t size = 0;
};

struct StatResult {
  std::uint32_t mode = 0;  ///< full st_mode, type bits included
  std::uint64_t ino = 0, dev = 0, nlink = 0, uid = 0, gid = 0, size = 0;
  std::int64_t atime = 0, mtime = 0, ctime = 0;
};

struct ListOptions {
  bool show_hidden = false;
  bool recursive = false;  ///< names relative to the listed directory
  bool numeric_uid = false;
  bool dereference = false;
};

/// head / tail: `bytes` or `lines` (not both; neither = 10 lines).
struct HeadTailOptions {
  std::optional<std::int64_t> bytes;
  std::optional<std::int64_t> lines;
  /// head: all but the last N (`-N`); tail: from the N-th on (`+N`).
  bool exclude = false;
};

struct HeadTailResult {
  std::string content;
  std::string content_type;  ///< "lines" or "bytes"
  std::int64_t start_position = 0;
  std::int64_t end_position = 0;
};

struct Checksum {
  std::string algorithm;  ///< "SHA256"
  std::string checksum;   ///< hex
};

struct JobStatus {
  std::string state;  ///< a list of states is joined with ','
  std::string state_reason;
  std::optional<std::int64_t> exit_code;
  std::optional<std::int64_t> interrupt_signal;
};

struct Job {
  std::string job_id;  ///< a string even where old servers send an integer
  std::string name;
  JobStatus status;
  std::string user;
  std::string working_directory;
  std::string partition;
  std::string account;
  std::optional<std::int64_t> start_time, end_time;
  std::string json;
  /// Still queued or running (not one of the scheduler's terminal states).
  bool active() const;
  /// Terminal and COMPLETED with exit code 0 (or none reported).
  bool succeeded() const;
};

struct JobMetadata {
  std::string job_id;
  std::string script;
  std::string standard_input, standard_output, standard_error;
  std::string json;
};

/// What to submit: `script` text, a `local_script` file read here, or a `script_path` on the
/// cluster.
struct JobSpec {
  std::string script;
  std::string local_script;
  std::string script_path;
  std::string working_directory;  ///< required by the API
  std::map<std::string, std::string> env;
  std::string name;
  std::string account;
  std::string partition;
  std::string reservation;
  std::string constraints;
  std::string standard_input, standard_output, standard_error;
};

/// A scheduler job that runs a data operation (mv, cp, rm, staged transfer).
struct TransferJob {
  std::string job_id;
  std::string system;
  std::string working_directory;
  std::string output_log;
  std::string error_log;
};

/// Bytes moved so far and the total (where known).
using Progress = Callback;

class Client;

/// \brief A staged (S3) transfer started with start_upload() / start_download(): its job can
/// be watched and the transfer finished later (pyFirecREST's external_download(...).status and
/// finish_download()). Holds its client alive.
class Transfer {
 public:
  enum class Direction { kUpload, kDownload };
  Direction direction() const noexcept { return direction_; }
  const TransferJob& job() const noexcept { return job_; }
  /// Presigned GET URL of a staged download ("" for uploads). A secret: do not log it.
  const std::string& download_url() const noexcept { return download_url_; }

  /// The transfer job's scheduler state ("PENDING", "RUNNING", "COMPLETED", ...).
  Task<std::string> _status();
  std::string status();
  /// Waits for the job and checks its log: throws (with the job's error log) when it failed.
  /// A download then fetches the staged object into `local_path` (atomically, in parallel
  /// ranges); an upload is complete once this returns.
  Task<void> _finish(std::string local_path = {}, Callback* progress = nullptr);
  void finish(std::string local_path = {}, Callback* progress = nullptr);
  /// Waits for the job and checks its log, once (later calls return at once): throws with
  /// the job's error log when it failed.
  Task<void> _wait();
  void wait();
  /// \brief Bytes [start, end) of a staged download's object (waits for the job first), in
  /// parallel ranged GETs. Random access into a large remote file without fetching it all.
  /// \throws ProtocolError when the staged copy's size differs from the file's size when the
  ///         download started (the file changed meanwhile); PermissionDenied once the
  ///         presigned URL has expired.
  Task<Bytes> _read(std::uint64_t start, std::uint64_t end);
  Bytes read(std::uint64_t start, std::uint64_t end);
  /// The remote file's size when the transfer started (downloads), or the local one (uploads).
  std::optional<std::uint64_t> size() const noexcept { return size_; }

 private:
  friend class Client;
  std::shared_ptr<Client> client_;
  Direction direction_ = Direction::kDownload;
  std::string system_;
  std::string remote_path_;
  TransferJob job_;
  std::string download_url_;
  std::optional<std::uint64_t> size_;
  bool waited_ = false;
};

/// Request counters (tests, benchmarks).
struct ClientStats {
  std::uint64_t token_requests = 0;
};

/// \brief The FirecREST v2 client. Make it with create(); every coroutine (leading underscore)
/// runs on the client's IoThread, every blocking twin may be called from any other thread.
class Client : public std::enable_shared_from_this<Client> {
 public:
  /// Validates the options (missing URL or credentials throw InvalidArgument).
  static std::shared_ptr<Client> create(FirecrestOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  IoThread& io() const noexcept;
  const FirecrestOptions& options() const noexcept;
  ClientStats stats() const;

  // --- status -------------------------------------------------------------------------------
  Task<std::vector<System>> _systems();
  /// One system (cached after the first systems() call); NotFound lists the known ones.
  Task<System> _system(std::string name);
  Task<UserInfo> _userinfo(std::string system);

  // --- filesystem: direct operations --------------------------------------------------------
  Task<std::vector<RemoteFile>> _list_files(std::string system, std::string path,
                                            ListOptions opts = {});
  Task<StatResult> _stat(std::string system, std::string path, bool dereference = false);
  Task<HeadTailResult> _head(std::string system, std::string path, HeadTailOptions opts = {});
  Task<HeadTailResult> _tail(std::string system, std::string path, HeadTailOptions opts = {});
  /// Text of [offset, offset+size) (ops/view; invalid UTF-8 comes back replaced: use
  /// download_bytes for binary data). size 0 = half the system's max_ops_file_size.
  Task<std::string> _view(std::string system, std::string path, std::uint64_t offset = 0,
                          std::uint64_t size = 0);
  Task<Checksum> _checksum(std::string system, std::string path);
  Task<std::string> _file_type(std::string system, std::string path);
  Task<RemoteFile> _mkdir(std::string system, std::string path, bool parent = false);
  /// Recursive, as the server's rm always is. A removal that times out on the direct path
  /// (408) runs as a transfer job, awaited.
  Task<void> _rm(std::string system, std::string path);
  Task<RemoteFile> _chmod(std::string system, std::string path, std::string mode);
  Task<RemoteFile> _chown(std::string system, std::string path, std::string owner,
                          std::string group);
  Task<RemoteFile> _symlink(std::string system, std::string target, std::string link_path);
  /// Whole file through ops/download (binary-safe; up to the direct limit).
  Task<Bytes> _download_bytes(std::string system, std::string path);
  /// Writes `data` to `path` through ops/upload (overwrites; up to the direct limit).
  Task<void> _upload_bytes(std::string system, std::string path, Bytes data);

  // --- filesystem: job-backed operations (awaited unless blocking = false) ------------------
  Task<TransferJob> _mv(std::string system, std::string source, std::string target,
                        bool blocking = true);
  Task<TransferJob> _cp(std::string system, std::string source, std::string target,
                        bool blocking = true);

  // --- transfers ----------------------------------------------------------------------------
  /// Local file → remote file: direct up to the direct limit, else staged (S3 multipart in
  /// parallel parts, then the transfer job), returning once the file is on the cluster.
  Task<void> _upload(std::string system, std::string local_path, std::string remote_path,
                     Callback* progress = nullptr);
  /// Remote file → local file (atomically: no partial file on failure), direct or staged.
  Task<void> _download(std::string system, std::string remote_path, std::string local_path,
                       Callback* progress = nullptr);
  /// Starts a staged upload (the parts are uploaded before this returns); finish() waits for
  /// the cluster side.
  Task<Transfer> _start_upload(std::string system, std::string local_path, std::string remote_path,
                               Callback* progress = nullptr);
  /// Starts a staged download; finish(local_path) waits for the job and fetches the file.
  Task<Transfer> _start_download(std::string system, std::string remote_path);

  // --- compute --------------------------------------------------------------------------------
  /// Submits a job; returns its id.
  Task<std::string> _submit(std::string system, JobSpec job);
  /// Jobs of the user (all_users: everyone's).
  Task<std::vector<Job>> _jobs(std::string system, bool all_users = false);
  /// One job (NotFound: "Job not found").
  Task<Job> _job_info(std::string system, std::string job_id);
  Task<JobMetadata> _job_metadata(std::string system, std::string job_id);
  /// \brief The jobs of `job_ids` still active, in one request however many ids (the job list
  /// is fetched once and filtered). An id the scheduler does not list counts as active while
  /// within job_not_found_grace of this client's submit, else it is left out.
  /// Their `json` is left empty (thousands of records are polled for their states).
  Task<std::vector<Job>> _poll_active(std::string system, std::vector<std::string> job_ids);
  /// One request: the listed state of each id (absent ids are missing from the map).
  Task<std::map<std::string, Job>> _poll(std::string system, std::vector<std::string> job_ids);
  Task<void> _cancel_job(std::string system, std::string job_id);
  /// \brief Polls until the job leaves the active states (0.2 s doubling to poll_max_interval)
  /// and returns it. With `timeout`, cancels the job and throws Timeout when it passes.
  Task<Job> _wait(std::string system, std::string job_id,
                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  /// \brief Waits for many jobs with one poll_active request per round; `progress` counts
  /// finished jobs. Returns every job's final record (without `json`), in the order of
  /// `job_ids`.
  Task<std::vector<Job>> _wait_all(std::string system, std::vector<std::string> job_ids,
                                   Callback* progress = nullptr);

  // --- blocking twins -------------------------------------------------------------------------
  std::vector<System> systems() { return run(_systems()); }
  System system(std::string name) { return run(_system(std::move(name))); }
  UserInfo userinfo(std::string system) { return run(_userinfo(std::move(system))); }
  std::vector<RemoteFile> list_files(std::string system, std::string path, ListOptions o = {}) {
    return run(_list_files(std::move(system), std::move(path), o));
  }
  StatResult stat(std::string system, std::string path, bool dereference = false) {
    return run(_stat(std::move(system), std::move(path), dereference));
  }
  HeadTailResult head(std::string system, std::string path, HeadTailOptions o = {}) {
    return run(_head(std::move(system), std::move(path), o));
  }
  HeadTailResult tail(std::string system, std::string path, HeadTailOptions o = {}) {
    return run(_tail(std::move(system), std::move(path), o));
  }
  std::string view(std::string system, std::string path, std::uint64_t offset = 0,
                   std::uint64_t size = 0) {
    return run(_view(std::move(system), std::move(path), offset, size));
  }
  Checksum checksum(std::string system, std::string path) {
    return run(_checksum(std::move(system), std::move(path)));
  }
  std::string file_type(std::string system, std::string path) {
    return run(_file_type(std::move(system), std::move(path)));
  }
  RemoteFile mkdir(std::string system, std::string path, bool parent = false) {
    return run(_mkdir(std::move(system), std::move(path), parent));
  }
  void rm(std::string system, std::string path) { run(_rm(std::move(system), std::move(path))); }
  RemoteFile chmod(std::string system, std::string path, std::string mode) {
    return run(_chmod(std::move(system), std::move(path), std::move(mode)));
  }
  RemoteFile chown(std::string system, std::string path, std::string owner, std::string group) {
    return run(_chown(std::move(system), std::move(path), std::move(owner), std::move(group)));
  }
  RemoteFile symlink(std::string system, std::string target, std::string link_path) {
    return run(_symlink(std::move(system), std::move(target), std::move(link_path)));
  }
  Bytes download_bytes(std::string system, std::string path) {
    return run(_download_bytes(std::move(system), std::move(path)));
  }
  void upload_bytes(std::string system, std::string path, Bytes data) {
    run(_upload_bytes(std::move(system), std::move(path), std::move(data)));
  }
  TransferJob mv(std::string system, std::string source, std::string target, bool blocking = true) {
    return run(_mv(std::move(system), std::move(source), std::move(target), blocking));
  }
  TransferJob cp(std::string system, std::string source, std::string target, bool blocking = true) {
    return run(_cp(std::move(system), std::move(source), std::move(target), blocking));
  }
  void upload(std::string system, std::string local_path, std::string remote_path,
              Callback* progress = nullptr) {
    run(_upload(std::move(system), std::move(local_path), std::move(remote_path), progress));
  }
  void download(std::string system, std::string remote_path, std::string local_path,
                Callback* progress = nullptr) {
    run(_download(std::move(system), std::move(remote_path), std::move(local_path), progress));
  }
  Transfer start_upload(std::string system, std::string local_path, std::string remote_path,
                        Callback* progress = nullptr) {
    return run(
        _start_upload(std::move(system), std::move(local_path), std::move(remote_path), progress));
  }
  Transfer start_download(std::string system, std::string remote_path) {
    return run(_start_download(std::move(system), std::move(remote_path)));
  }
  std::string submit(std::string system, JobSpec job) {
    return run(_submit(std::move(system), std::move(job)));
  }
  std::vector<Job> jobs(std::string system, bool all_users = false) {
    return run(_jobs(std::move(system), all_users));
  }
  Job job_info(std::string system, std::string job_id) {
    return run(_job_info(std::move(system), std::move(job_id)));
  }
  JobMetadata job_metadata(std::string system, std::string job_id) {
    return run(_job_metadata(std::move(system), std::move(job_id)));
  }
  std::vector<Job> poll_active(std::string system, std::vector<std::string> job_ids) {
    return run(_poll_active(std::move(system), std::move(job_ids)));
  }
  void cancel_job(std::string system, std::string job_id) {
    run(_cancel_job(std::move(system), std::move(job_id)));
  }
  Job wait(std::string system, std::string job_id,
           std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
    return run(_wait(std::move(system), std::move(job_id), timeout));
  }
  std::vector<Job> wait_all(std::string system, std::vector<std::string> job_ids,
                            Callback* progress = nullptr) {
    return run(_wait_all(std::move(system), std::move(job_ids), progress));
  }

  /// Opaque; public only so the implementation files can name it.
  struct Impl;

 private:
  explicit Client(FirecrestOptions options);
  /// _start_download for a file already stat'ed (transfers.cpp).
  Task<Transfer> start_download_of(std::string system, std::string remote_path, StatResult st);
  template <class T>
  T run(Task<T> task) {
    return sync(io(), std::move(task), std::nullopt, shared_from_this());
  }
  friend class Transfer;
  std::unique_ptr<Impl> impl_;
};

}  // namespace asyncfs::firecrest
