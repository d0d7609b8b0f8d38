// Auth providers (see auth.hpp).

#include "core/http/auth.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <simdjson.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <utility>

#include "core/fs/uv_fs.hpp"
#include "core/http/client.hpp"
#include "core/http/redact.hpp"
#include "core/http/status.hpp"
#include "core/log.hpp"
#include "core/wait_queue.hpp"

extern char** environ;

namespace asyncfs::http {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// What a failed token fetch threw, kept to throw a fresh copy in every waiter (exception
/// objects are not shared between the coroutines, and so not between the threads they end on).
struct Failure {
  ErrorKind kind = ErrorKind::kProtocol;
  std::string path;
  std::string message;
  ErrorDetails details;
  [[noreturn]] void rethrow() const { throw_error(kind, path, message, details); }
};

/// \brief Shared machinery of the refreshing providers: a cached value, a refresh time, and a
/// single flight of `fetch()` that every concurrent caller waits for.
class RefreshingAuth : public AuthProvider {
 public:
  Task<std::string> authorization(IoThread& io) override {
    if (!queue_) queue_ = std::make_unique<WaitQueue>(io);
    for (;;) {
      if (!value_.empty() && Clock::now() < refresh_at_) co_return value_;
      if (refreshing_) {
        const std::uint64_t generation = generation_;
        co_await queue_->wait();
        if (generation_ != generation && failure_) failure_->rethrow();
        continue;
      }
      refreshing_ = true;
      std::optional<Failure> failed;
      try {
        const auto sent = Clock::now();
        Fetched got = co_await fetch(io);
        ++stats_.token_requests;
        value_ = std::move(got.value);
        refresh_at_ = sent + refresh_after(got.lifetime);
        log::info("auth", "new token from {} (valid {} s)", redact_url(name()),
                  got.lifetime ? std::to_string(got.lifetime->count() / 1000) : "?");
      } catch (const Error& e) {
        ++stats_.token_requests;
        log::info("auth", "token request to {} failed: {}", redact_url(name()),
                  describe_for_log(std::current_exception()));
        failed = Failure{e.kind(), e.path(), e.message(), ErrorDetails{e.http_status(), e.cause()}};
      } catch (const std::exception& e) {
        failed = Failure{ErrorKind::kProtocol, name(), e.what(), {}};
      }
      refreshing_ = false;
      ++generation_;
      failure_ = failed;
      queue_->notify_all();
      if (failed) failed->rethrow();
      co_return value_;
    }
  }

  bool invalidate(const std::string& refused) override {
    if (refused == value_) value_.clear();
    return true;
  }

  AuthStats stats() const { return stats_; }

 protected:
  /// The header value and its lifetime (nullopt = unknown).
  struct Fetched {
    std::string value;
    std::optional<milliseconds> lifetime;
  };
  virtual Task<Fetched> fetch(IoThread& io) = 0;
  /// How long a fresh value may be used.
  virtual milliseconds refresh_after(std::optional<milliseconds> lifetime) const = 0;
  /// What errors name (never a secret).
  virtual std::string name() const = 0;

 private:
  std::string value_;
  Clock::time_point refresh_at_{};
  bool refreshing_ = false;
  std::uint64_t generation_ = 0;
  std::optional<Failure> failure_;
  std::unique_ptr<WaitQueue> queue_;
  AuthStats stats_;
};

class StaticAuth final : public AuthProvider {
 public:
  explicit StaticAuth(std::string value) : value_(std::move(value)) {}
  Task<std::string> authorization(IoThread&) override { co_return value_; }
  bool invalidate(const std::string&) override { return false; }

 private:
  std::string value_;
};

// --- client credentials -----------------------------------------------------------------------

class ClientCredentialsAuth final : public RefreshingAuth {
 public:
  explicit ClientCredentialsAuth(ClientCredentials c) : creds_(std::move(c)) {}

 protected:
  std::string name() const override { return creds_.token_url; }

  milliseconds refresh_after(std::optional<milliseconds> lifetime) const override {
    const milliseconds life = lifetime.value_or(milliseconds(300'000));
    milliseconds margin = std::max(creds_.min_margin, life / 4);
    margin = std::min(margin, life / 2);
    return life - margin;
  }

  Task<Fetched> fetch(IoThread& io) override {
    if (!client_) {
      ClientOptions o;
      o.transport = creds_.transport;
      o.retry = creds_.retry;
      client_ = std::make_unique<Client>(io, std::move(o));
    }
    RequestSpec spec;
    spec.method = "POST";
    spec.url = creds_.token_url;
    spec.service = "auth";
    spec.idempotent = true;  // a token request changes nothing on the server
    spec.authenticate = false;
    spec.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    spec.headers.emplace_back("Accept", "application/json");
    std::string form = "grant_type=client_credentials";
    if (creds_.basic) {
      spec.headers.emplace_back(
          "Authorization",
          basic_authorization(url_encode(creds_.client_id), url_encode(creds_.client_secret)));
    } else {
      form += "&client_id=" + url_encode(creds_.client_id);
      form += "&client_secret=" + url_encode(creds_.client_secret);
    }
    spec.body = std::move(form);
    spec.max_bytes = 1 << 20;
    Response resp = co_await client_->send(std::move(spec));
    co_return parse(resp);
  }

 private:
  Fetched parse(const Response& resp) const {
    const std::string& url = creds_.token_url;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    const bool json = parser.parse(resp.body).get(doc) == simdjson::SUCCESS && doc.is_object();
    if (!is_success(resp.status)) {
      // OAuth2 error bodies carry "error" and "error_description": safe to show, unlike ours.
      std::string cause;
      std::string_view v;
      if (json && doc["error"].get_string().get(v) == simdjson::SUCCESS) cause = std::string(v);
      if (json && doc["error_description"].get_string().get(v) == simdjson::SUCCESS) {
        cause += (cause.empty() ? "" : ": ") + std::string(v);
      }
      if (cause.empty()) cause = body_excerpt(resp.body);
      if (resp.status == 400 || resp.status == 401 || resp.status == 403) {
        ErrorDetails d{static_cast<int>(resp.status), cause};
        throw PermissionDenied(url, "token endpoint refused the client credentials", d);
      }
      throw_status(resp.status, url, "token request", cause);
    }
    if (!json) {
      ErrorDetails d{static_cast<int>(resp.status), body_excerpt(resp.body)};
      throw ProtocolError(url, "token endpoint answered something that is not a JSON object", d);
    }
    std::string_view token;
    if (doc["access_token"].get_string().get(token) != simdjson::SUCCESS || token.empty()) {
      throw ProtocolError(url, "token response has no access_token string");
    }
    if (token.find_first_of("\r\n") != std::string_view::npos) {
      throw ProtocolError(url, "token response has an access_token with a line break");
    }
    Fetched out;
    out.value = "Bearer " + std::string(token);
    simdjson::dom::element exp;
    if (doc["expires_in"].get(exp) == simdjson::SUCCESS) {
      double seconds = -1;
      std::string_view text;
      if (exp.is_number()) {
        seconds = exp.get_double().value_unsafe();
      } else if (exp.get_string().get(text) == simdjson::SUCCESS) {
        seconds = std::atof(std::string(text).c_str());
      }
      if (!(seconds > 0)) throw ProtocolError(url, "token response has an invalid expires_in");
      out.lifetime = milliseconds(static_cast<std::int64_t>(seconds * 1000));
    }
    return out;
  }

  ClientCredentials creds_;
  std::unique_ptr<Client> client_;
};

// --- token command ----------------------------------------------------------------------------

/// Runs `/bin/sh -c command` and returns its trimmed stdout; blocking (thread pool only).
std::string run_token_command(const TokenCommand& cmd, std::string_view label) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw IoError(std::string(label), "pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  const char* argv[] = {"/bin/sh", "-c", cmd.command.c_str(), nullptr};
  pid_t pid = -1;
  const int rc =
      posix_spawn(&pid, "/bin/sh", &actions, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    throw IoError(std::string(label), std::string("cannot start /bin/sh: ") + std::strerror(rc));
  }
  std::string out;
  const auto deadline = Clock::now() + cmd.timeout;
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[4096];
    const ssize_t got = ::read(fds[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    out.append(buf, static_cast<std::size_t>(got));
    if (out.size() > (1u << 20)) break;
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) throw Timeout(std::string(label), "token command did not finish in time");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw PermissionDenied(std::string(label),
                           "token command failed (exit status " +
                               std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) {
    out.pop_back();
  }
  while (!out.empty() && (out.front() == ' ' || out.front() == '\n')) out.erase(0, 1);
  if (out.empty()) throw PermissionDenied(std::string(label), "token command printed nothing");
  if (out.find_first_of("\r\n") != std::string::npos) {
    throw ProtocolError(std::string(label), "token command printed more than one line");
  }
  return out;
}

/// A token from a blocking function, run on libuv's thread pool.
class FunctionAuth final : public RefreshingAuth {
 public:
  FunctionAuth(std::function<std::string()> fn, milliseconds max_age, std::string name)
      : fn_(std::make_shared<std::function<std::string()>>(std::move(fn))),
        max_age_(max_age),
        name_(std::move(name)) {}

 protected:
  std::string name() const override { return name_; }
  milliseconds refresh_after(std::optional<milliseconds>) const override { return max_age_; }
  Task<Fetched> fetch(IoThread& io) override {
    auto job = [fn = fn_, label = name_] {
      std::string token = (*fn)();
      if (token.empty()) throw PermissionDenied(label, "the token source gave an empty token");
      if (token.find_first_of("\r\n") != std::string::npos) {
        throw ProtocolError(label, "the token source gave a token with a line break");
      }
      return token;
    };
    std::string token = co_await uvfs::in_pool(io.loop(), std::move(job));
    Fetched out;
    out.value = "Bearer " + token;
    co_return out;
  }

 private:
  std::shared_ptr<std::function<std::string()>> fn_;
  milliseconds max_age_;
  std::string name_;
};

}  // namespace

std::string basic_authorization(std::string_view user, std::string_view password) {
  std::string pair(user);
  pair += ':';
  pair += password;
  return "Basic " + base64_encode(pair);
}

std::shared_ptr<AuthProvider> static_auth(std::string header_value) {
  return std::make_shared<StaticAuth>(std::move(header_value));
}

std::shared_ptr<AuthProvider> client_credentials_auth(ClientCredentials creds) {
  return std::make_shared<ClientCredentialsAuth>(std::move(creds));
}

std::shared_ptr<AuthProvider> token_function_auth(std::function<std::string()> fn,
                                                  std::chrono::milliseconds max_age,
                                                  std::string name) {
  return std::make_shared<FunctionAuth>(std::move(fn), max_age, std::move(name));
}

std::shared_ptr<AuthProvider> token_command_auth(TokenCommand cmd) {
  // Errors name the command's first word: its arguments may hold secrets.
  std::string label = "token command '" + cmd.command.substr(0, cmd.command.find(' ')) + "'";
  auto fn = [cmd, label] { return run_token_command(cmd, label); };
  const auto max_age = cmd.max_age;
  return token_function_auth(std::move(fn), max_age, std::move(label));
}

AuthStats auth_stats(const AuthProvider& provider) {
  if (auto* r = dynamic_cast<const RefreshingAuth*>(&provider)) return r->stats();
  return {};
}

}  // namespace asyncfs::http
