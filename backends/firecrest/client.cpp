// firecrest::Client: construction, the request path (every call goes through
// Client::Impl::send: the HTTP client layer of core/http, then the status map), status
// endpoints and the direct ("ops") filesystem operations.

#include <algorithm>
#include <cctype>
#include <utility>

#include "asyncfs/errors.hpp"
#include "asyncfs/path.hpp"
#include "backends/firecrest/client_impl.hpp"
#include "core/http/auth.hpp"
#include "core/http/encoding.hpp"
#include "core/http/status.hpp"
#include "core/json_writer.hpp"

namespace asyncfs::firecrest {
namespace {

bool contains_ci(std::string_view hay, std::string_view needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
  return it != hay.end();
}

std::shared_ptr<http::AuthProvider> make_auth(const FirecrestOptions& o) {
  if (!o.token.empty()) return http::static_auth("Bearer " + o.token);
  if (o.token_function) {
    return http::token_function_auth(o.token_function, o.token_command_max_age, "token function");
  }
  if (!o.token_command.empty()) {
    http::TokenCommand cmd;
    cmd.command = o.token_command;
    cmd.max_age = o.token_command_max_age;
    return http::token_command_auth(std::move(cmd));
  }
  http::ClientCredentials c;
  c.token_url = o.token_url;
  c.client_id = o.client_id;
  c.client_secret = o.client_secret;
  c.basic = o.client_auth_method == "client_secret_basic";
  c.transport.connect_timeout = o.connect_timeout;
  c.transport.verify_tls = !o.insecure;
  c.transport.ca_path = o.ca_path;
  c.transport.total_timeout = std::chrono::milliseconds(60'000);
  c.retry.retries = o.retries;
  c.retry.backoff = o.retry_backoff;
  c.retry.max_wait = o.retry_max_wait;
  c.retry.rate_limited_retries = o.rate_limit_retries;
  return http::client_credentials_auth(std::move(c));
}

http::TransportOptions transport_of(const FirecrestOptions& o) {
  http::TransportOptions t;
  t.connect_timeout = o.connect_timeout;
  t.verify_tls = !o.insecure;
  t.ca_path = o.ca_path;
  return t;
}

}  // namespace

// --- argument checks -------------------------------------------------------------------------

std::string display(const std::string& system, std::string_view path) {
  return "firecrest://" + path::escape_for_message(system) + path::escape_for_message(path);
}

std::string check_system(const std::string& system) {
  if (system.empty()) throw InvalidArgument("firecrest://", "no system name");
  std::string lower;
  lower.reserve(system.size());
  for (char c : system) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '-' && c != '_' && c != '.') {
      throw InvalidArgument(display(system, ""), "invalid system name");
    }
    lower += static_cast<char>(std::tolower(u));
  }
  return lower;
}

void check_path(const std::string& system, const std::string& path) {
  if (path.empty() || path[0] != '/') {
    throw InvalidArgument(display(system, path), "the path must be absolute");
  }
  if (path.find('\0') != std::string::npos) {
    throw InvalidArgument(display(system, path), "the path contains a NUL byte");
  }
  if (path.find_first_of("\n\r") != std::string::npos) {
    throw InvalidArgument(display(system, path), "the path contains a line break");
  }
  if (path.find('\'') != std::string::npos) {
    // The server quotes paths with single quotes in the shell commands it runs.
    throw InvalidArgument(display(system, path),
                          "FirecREST cannot address paths with a single quote");
  }
  if (!path::is_valid_utf8(path)) {
    throw InvalidArgument(display(system, path), "the path is not valid UTF-8");
  }
}

void check_job_id(const std::string& system, const std::string& id) {
  const bool ok = !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
  });
  if (!ok)
    throw InvalidArgument(display(system, "") + " job " + path::escape_for_message(id),
                          "invalid job id (letters and digits only)");
}

bool terminal_state(std::string_view state) {
  static constexpr std::string_view kTerminal[] = {"BOOT_FAIL",     "CANCELLED", "COMPLETED",
                                                   "DEADLINE",      "FAILED",    "NODE_FAIL",
                                                   "OUT_OF_MEMORY", "PREEMPTED", "TIMEOUT"};
  if (state.empty()) return false;
  // A list of states (old servers) is terminal when every part is.
  std::size_t start = 0;
  while (start <= state.size()) {
    const std::size_t comma = std::min(state.find(',', start), state.size());
    const std::string_view part = state.substr(start, comma - start);
    bool done = part == "F";  // PBS "finished"
    for (auto t : kTerminal) done = done || part.find(t) != std::string_view::npos;
    if (!done) return false;
    start = comma + 1;
  }
  return true;
}

bool Job::active() const { return !terminal_state(status.state); }

bool Job::succeeded() const {
  return status.state.find("COMPLETED") != std::string::npos && status.exit_code.value_or(0) == 0;
}

void throw_api_error(const http::Response& r, const std::string& what, std::string_view op) {
  std::string message = model::error_message(r.body);
  if (message.empty()) message = http::body_excerpt(r.body);
  ErrorDetails d{static_cast<int>(r.status), message};
  const std::string prefix = std::string(op) + " failed: ";
  switch (r.status) {
    case 400:
      if (contains_ci(message, "File exists")) throw AlreadyExists(what, prefix + "file exists", d);
      if (contains_ci(message, "Not a directory")) {
        throw NotADirectory(what, prefix + "not a directory", d);
      }
      if (contains_ci(message, "Is a directory")) {
        throw IsADirectory(what, prefix + "is a directory", d);
      }
      throw InvalidArgument(what, prefix + "rejected by the server", d);
    case 401:
      throw PermissionDenied(what, prefix + "the access token was refused", d);
    case 404:
      if (contains_ci(message, "Job not found")) throw NotFound(what, prefix + "job not found", d);
      throw NotFound(what, prefix + "no such file or directory", d);
    case 424:
      throw NetworkError(what, prefix + "the server could not reach the cluster", d);
    case 500:
      // Older servers report a command timeout (exit status 124) as a 500.
      if (contains_ci(message, "exit status:124")) {
        throw Timeout(what, prefix + "the command timed out on the cluster", d);
      }
      // A shell redirection onto a directory (ops/upload) fails as a generic remote error.
      if (contains_ci(message, "Is a directory")) {
        throw IsADirectory(what, prefix + "is a directory", d);
      }
      if (contains_ci(message, "Not a directory")) {
        throw NotADirectory(what, prefix + "not a directory", d);
      }
      break;
    default:
      break;
  }
  http::throw_status(r.status, what, op, message);
}

// --- Impl ------------------------------------------------------------------------------------

Client::Impl::Impl(FirecrestOptions o) : opts(std::move(o)) {
  io = opts.io ? opts.io : default_io_thread();
  base = opts.url;
  while (base.ends_with('/')) base.pop_back();
  auth = make_auth(opts);

  http::ClientOptions c;
  c.transport = transport_of(opts);
  c.retry.retries = opts.retries;
  c.retry.backoff = opts.retry_backoff;
  c.retry.max_wait = opts.retry_max_wait;
  c.retry.rate_limited_retries = opts.rate_limit_retries;
  c.auth = auth;
  c.limits.max_in_flight = opts.max_in_flight;
  c.limits.spacing = opts.time_between_calls;
  c.deadline = opts.call_timeout;
  c.headers.emplace_back("Accept", "application/json");
  api = std::make_unique<http::Client>(*io, std::move(c));

  http::ClientOptions s;
  s.transport = transport_of(opts);
  s.retry = api->options().retry;
  s.limits.max_in_flight = opts.s3_connections;
  s.limits.spacing = opts.time_between_calls;  // its requests are all of service "s3"
  s3 = std::make_unique<http::Client>(*io, std::move(s));
}

std::string Client::Impl::url_of(const Call& c) const {
  std::string url = base + c.path;
  char sep = '?';
  for (const auto& [k, v] : c.query) {
    url += sep;
    url += k;
    url += '=';
    url += http::url_encode(v);
    sep = '&';
  }
  return url;
}

Task<http::Response> Client::Impl::send(Call c) {
  http::RequestSpec spec;
  spec.method = c.method;
  spec.url = url_of(c);
  spec.service = c.service;
  spec.idempotent = c.idempotent;
  spec.max_bytes = c.max_bytes ? c.max_bytes : std::optional<std::uint64_t>(64ull << 20);
  if (c.json) {
    spec.body = std::move(*c.json);
    spec.headers.emplace_back("Content-Type", "application/json");
  } else if (c.body) {
    spec.body = std::move(*c.body);
    spec.headers.emplace_back("Content-Type", c.content_type);
  }
  // FirecREST reports a failed remote command ("Remote process failed with exit status:N",
  // 124 for its command timeout) as 500 or 408: the same command fails the same way again.
  // Other 500s (the server's own trouble) are retried as usual.
  spec.final_answer = [](const http::Response& resp) {
    return (resp.status == 500 || resp.status == 408) &&
           contains_ci(model::error_message(resp.body), "exit status");
  };
  http::Response r = co_await api->send(std::move(spec));
  if (server_version.empty()) {
    if (auto v = r.header("f7t-appversion")) server_version = *v;
  }
  if (http::is_success(r.status)) co_return r;
  if (r.status == 404 && contains_ci(model::error_message(r.body), "System not found")) {
    std::string known = co_await known_systems();
    ErrorDetails d{404, "System not found"};
    throw NotFound(c.what,
                   c.op + " failed: unknown system" +
                       (known.empty() ? std::string() : " (known: " + known + ")"),
                   d);
  }
  throw_api_error(r, c.what, c.op);
}

simdjson::dom::element Client::Impl::parse(const http::Response& r, const std::string& what) {
  simdjson::dom::element doc;
  if (parser.parse(r.body).get(doc) != simdjson::SUCCESS) {
    ErrorDetails d{static_cast<int>(r.status), http::body_excerpt(r.body)};
    throw ProtocolError(what, "FirecREST answered something that is not JSON", d);
  }
  return doc;
}

Task<std::string> Client::Impl::known_systems() {
  std::string out;
  try {
    Call c;
    c.path = "/status/systems";
    c.service = "status";
    c.what = "firecrest://";
    c.op = "systems";
    http::Response r = co_await send(std::move(c));
    model::Reader rd{"firecrest:// (systems)"};
    std::vector<System> list = model::systems(rd, parse(r, rd.what));
    for (const auto& s : list) out += (out.empty() ? "" : ", ") + s.name;
    systems = std::move(list);
  } catch (const Error&) {
    // The list is a courtesy in an error message; its own failure must not replace the error.
  }
  co_return out;
}

// --- Client ----------------------------------------------------------------------------------

std::shared_ptr<Client> Client::create(FirecrestOptions options) {
  options.validate();
  return std::shared_ptr<Client>(new Client(std::move(options)));
}

Client::Client(FirecrestOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Client::~Client() = default;

IoThread& Client::io() const noexcept { return *impl_->io; }
const FirecrestOptions& Client::options() const noexcept { return impl_->opts; }
ClientStats Client::stats() const {
  ClientStats s;
  s.token_requests = http::auth_stats(*impl_->auth).token_requests;
  return s;
}

Task<std::vector<System>> Client::_systems() {
  Call c;
  c.path = "/status/systems";
  c.service = "status";
  c.what = "firecrest://";
  c.op = "systems";
  http::Response r = co_await impl_->send(std::move(c));
  model::Reader rd{"firecrest:// (systems)"};
  std::vector<System> list = model::systems(rd, impl_->parse(r, rd.what));
  impl_->systems = list;
  co_return list;
}

Task<System> Client::_system(std::string name) {
  const std::string key = check_system(name);
  if (!impl_->systems) co_await _systems();
  std::string known;
  for (const auto& s : *impl_->systems) {
    std::string lower = s.name;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower == key) co_return s;
    known += (known.empty() ? "" : ", ") + s.name;
  }
  throw NotFound(display(name, ""), "unknown system (known: " + known + ")");
}

Task<UserInfo> Client::_userinfo(std::string system) {
  Call c;
  c.path = "/status/" + check_system(system) + "/userinfo";
  c.service = "status";
  c.what = display(system, "");
  c.op = "userinfo";
  return impl_->fetch(std::move(c), &model::userinfo);
}

// --- direct filesystem operations ------------------------------------------------------------

namespace {

Call ops_call(const std::string& system, const std::string& path, std::string op) {
  check_path(system, path);
  Call c;
  c.path = "/filesystem/" + check_system(system) + "/ops/" + op;
  c.service = "filesystem";
  c.what = display(system, path);
  c.op = std::move(op);
  return c;
}

const char* flag(bool b) { return b ? "true" : "false"; }

}  // namespace

Task<std::vector<RemoteFile>> Client::_list_files(std::string system, std::string path,
                                                  ListOptions opts) {
  Call c = ops_call(system, path, "ls");
  c.query = {{"path", path},
             {"showHidden", flag(opts.show_hidden)},
             {"recursive", flag(opts.recursive)},
             {"numericUid", flag(opts.numeric_uid)},
             {"dereference", flag(opts.dereference)}};
  return impl_->fetch(std::move(c), &model::files);
}

Task<StatResult> Client::_stat(std::string system, std::string path, bool dereference) {
  Call c = ops_call(system, path, "stat");
  c.query = {{"path", path}};
  if (dereference) c.query.emplace_back("dereference", "true");
  return impl_->fetch(std::move(c), &model::stat);
}

namespace {

Call head_tail_call(const std::string& system, const std::string& path, const char* op,
                    const HeadTailOptions& o) {
  Call c = ops_call(system, path, op);
  if (o.bytes && o.lines) throw InvalidArgument(c.what, "give bytes or lines, not both");
  if ((o.bytes && *o.bytes < 0) || (o.lines && *o.lines < 0)) {
    throw InvalidArgument(c.what, "bytes and lines must not be negative");
  }
  c.query = {{"path", path}};
  if (o.bytes) c.query.emplace_back("bytes", std::to_string(*o.bytes));
  if (o.lines) c.query.emplace_back("lines", std::to_string(*o.lines));
  if (o.exclude) {
    c.query.emplace_back(std::string(op) == "head" ? "skipTrailing" : "skipHeading", "true");
  }
  return c;
}

}  // namespace

Task<HeadTailResult> Client::_head(std::string system, std::string path, HeadTailOptions opts) {
  Call c = head_tail_call(system, path, "head", opts);
  return impl_->fetch(std::move(c), &model::head_tail);
}

Task<HeadTailResult> Client::_tail(std::string system, std::string path, HeadTailOptions opts) {
  Call c = head_tail_call(system, path, "tail", opts);
  return impl_->fetch(std::move(c), &model::head_tail);
}

Task<std::string> Client::_view(std::string system, std::string path, std::uint64_t offset,
                                std::uint64_t size) {
  Call c = ops_call(system, path, "view");
  if (size == 0) {
    // The server's default (5 MiB) is refused where max_ops_file_size is smaller, and its dd
    // may read twice the size: ask for half the system's limit.
    System s = co_await _system(system);
    size = std::max<std::uint64_t>(1, s.max_ops_file_size / 2);
  }
  c.query = {{"path", path}};
  if (offset > 0) c.query.emplace_back("offset", std::to_string(offset));
  if (size > 0) c.query.emplace_back("size", std::to_string(size));
  co_return co_await impl_->fetch(std::move(c), &model::output_text);
}

Task<Checksum> Client::_checksum(std::string system, std::string path) {
  Call c = ops_call(system, path, "checksum");
  c.query = {{"path", path}};
  return impl_->fetch(std::move(c), &model::checksum);
}

Task<std::string> Client::_file_type(std::string system, std::string path) {
  Call c = ops_call(system, path, "file");
  c.query = {{"path", path}};
  return impl_->fetch(std::move(c), &model::output_text);
}

Task<RemoteFile> Client::_mkdir(std::string system, std::string path, bool parent) {
  Call c = ops_call(system, path, "mkdir");
  c.method = "POST";
  c.idempotent = parent;  // mkdir -p may be repeated; a plain mkdir would then fail "exists"
  json::Writer w;
  w.begin_object().field("sourcePath", path).field("parent", parent).end_object();
  c.json = w.take();
  return impl_->fetch(std::move(c), &model::output_file);
}

Task<void> Client::_rm(std::string system, std::string path) {
  Call c = ops_call(system, path, "rm");
  c.method = "DELETE";
  c.query = {{"path", path}};
  if (path == "/") throw InvalidArgument(c.what, "refusing to remove the root directory");
  bool timed_out = false;
  try {
    co_await impl_->send(std::move(c));
    co_return;
  } catch (const Timeout& e) {
    // The direct rm runs under the server's short command timeout (408): a large tree is
    // removed by a transfer job instead.
    if (e.http_status() == 0) throw;
    timed_out = true;
  }
  if (!timed_out) co_return;
  Call job;
  job.method = "DELETE";
  job.path = "/filesystem/" + check_system(system) + "/transfer/rm";
  job.query = {{"path", path}};
  if (!impl_->opts.account.empty()) job.query.emplace_back("account", impl_->opts.account);
  job.service = "transfer";
  job.idempotent = false;
  job.what = display(system, path);
  job.op = "rm (transfer job)";
  const std::string what = job.what;
  http::Response r = co_await impl_->send(std::move(job));
  model::Reader rd{what + " (transfer/rm)"};
  TransferJob tj = model::transfer_job(rd, impl_->parse(r, rd.what));
  co_await wait_transfer_job(shared_from_this(), system, tj, what, "rm");
}

Task<RemoteFile> Client::_chmod(std::string system, std::string path, std::string mode) {
  Call c = ops_call(system, path, "chmod");
  if (mode.empty() || mode.size() > 4 ||
      !std::all_of(mode.begin(), mode.end(), [](char ch) { return ch >= '0' && ch <= '7'; })) {
    throw InvalidArgument(c.what, "mode must be octal digits, e.g. 755");
  }
  c.method = "PUT";
  json::Writer w;
  w.begin_object().field("sourcePath", path).field("mode", mode).end_object();
  c.json = w.take();
  return impl_->fetch(std::move(c), &model::output_file);
}

Task<RemoteFile> Client::_chown(std::string system, std::string path, std::string owner,
                                std::string group) {
  Call c = ops_call(system, path, "chown");
  c.method = "PUT";
  json::Writer w;
  w.begin_object().field("sourcePath", path).field("owner", owner).field("group", group);
  w.end_object();
  c.json = w.take();
  return impl_->fetch(std::move(c), &model::output_file);
}

Task<RemoteFile> Client::_symlink(std::string system, std::string target, std::string link_path) {
  check_path(system, target);
  Call c = ops_call(system, link_path, "symlink");
  c.method = "POST";
  json::Writer w;
  w.begin_object().field("sourcePath", target).field("linkPath", link_path).end_object();
  c.json = w.take();
  return impl_->fetch(std::move(c), &model::output_file);
}

}  // namespace asyncfs::firecrest
