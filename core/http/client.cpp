// Client and Attempts (see client.hpp).

#include "core/http/client.hpp"

#include <algorithm>
#include <utility>

#include "asyncfs/errors.hpp"
#include "core/http/header_util.hpp"
#include "core/http/redact.hpp"
#include "core/log.hpp"

namespace asyncfs::http {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Client::Client(IoThread& io, ClientOptions options)
    : io_(io), options_(std::move(options)), limiter_(io, options_.limits) {}

Task<Response> Client::send(RequestSpec spec) {
  Engine& engine = Engine::of(io_);
  Attempts attempts(*this, std::move(spec));
  for (;;) {
    Request req = co_await attempts.start();
    std::exception_ptr err;
    Response resp;
    bool got = false;
    try {
      resp = co_await engine.fetch(std::move(req), attempts.transport());
      got = true;
    } catch (...) {
      err = std::current_exception();
    }
    const bool again = co_await attempts.retry(got ? &resp : nullptr, err);
    if (!again) {
      if (!got) std::rethrow_exception(err);
      co_return resp;
    }
  }
}

Task<std::unique_ptr<BodyStream>> Client::stream(RequestSpec spec, std::size_t high_water) {
  Engine& engine = Engine::of(io_);
  Attempts attempts(*this, std::move(spec));
  for (;;) {
    Request req = co_await attempts.start();
    std::exception_ptr err;
    std::unique_ptr<BodyStream> stream;
    try {
      Task<std::unique_ptr<BodyStream>> opening =
          engine.stream(std::move(req), attempts.transport(), high_water);
      stream = co_await std::move(opening);
    } catch (...) {
      err = std::current_exception();
    }
    const Response* head = stream ? &stream->response() : nullptr;
    const bool again = co_await attempts.retry(head, err);
    if (!again) {
      if (!stream) std::rethrow_exception(err);
      co_return stream;
    }
    stream.reset();
  }
}

// --- Attempts -------------------------------------------------------------------------------

Attempts::Attempts(Client& client, RequestSpec spec)
    : client_(client), spec_(std::move(spec)), transport_(client.options().transport) {
  idempotent_ = spec_.idempotent.value_or(idempotent_method(spec_.method));
  const auto budget = spec_.deadline ? spec_.deadline : client_.options().deadline;
  if (budget) deadline_ = Clock::now() + *budget;
}

Task<Request> Attempts::start() {
  const ClientOptions& opts = client_.options();
  sent_auth_.clear();
  if (spec_.authenticate && opts.auth) sent_auth_ = co_await opts.auth->authorization(client_.io());
  provider_auth_ = !sent_auth_.empty();
  if (sent_auth_.empty() && spec_.authenticate && opts.origin_auth) {
    sent_auth_ = opts.origin_auth(spec_.url);
  }
  // The permit is taken after authentication: a token request does not hold a slot, and the
  // request starts right after its spacing was stamped.
  if (client_.limiter().engaged()) permit_ = co_await client_.limiter().acquire(spec_.service);
  ++attempts_;
  if (deadline_) {
    const auto left = std::chrono::duration_cast<milliseconds>(*deadline_ - Clock::now());
    if (left <= milliseconds(0)) {
      throw Timeout(spec_.url,
                    "deadline of the call passed before attempt " + std::to_string(attempts_));
    }
    transport_.total_timeout =
        transport_.total_timeout ? std::min(*transport_.total_timeout, left) : left;
  }
  Request req;
  req.method = spec_.method;
  req.url = spec_.url;
  req.headers = opts.headers;
  for (const auto& [name, value] : opts.headers) {
    std::string lower_name = lower(name);
    if (std::find(opts.redirect_safe_headers.begin(), opts.redirect_safe_headers.end(),
                  lower_name) == opts.redirect_safe_headers.end()) {
      req.private_headers.push_back(std::move(lower_name));
    }
  }
  if (!sent_auth_.empty()) req.headers.emplace_back("Authorization", sent_auth_);
  for (const auto& kv : spec_.headers) req.headers.push_back(kv);
  req.body = spec_.body;
  req.upload_path = spec_.upload_path;
  req.upload_offset = spec_.upload_offset;
  req.upload_length = spec_.upload_length;
  req.accept_encoding = spec_.accept_encoding;
  req.sink.max_bytes = spec_.max_bytes;
  req.progress = spec_.progress;
  co_return req;
}

namespace {

bool is_timeout(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Timeout&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

std::optional<milliseconds> Attempts::wait_after(const Response* resp,
                                                 const std::exception_ptr& error) {
  const RetryPolicy& policy = client_.options().retry;
  if (!resp) {
    if (!idempotent_ || !retryable_error(error) || ++retries_ > policy.retries) return {};
    if (is_timeout(error) && ++timeouts_ > policy.timeout_retries) return {};
    return retry_wait(policy, retries_, std::nullopt);
  }
  const long status = resp->status;
  if (!retryable_status(status)) return {};
  if (spec_.final_answer && spec_.final_answer(*resp)) return {};
  // 429 and 503 say the request was not acted upon: safe to repeat whatever the method.
  const bool refused = status == 429 || status == 503;
  if (!idempotent_ && !refused) return {};
  std::optional<std::string> hint = resp->header("retry-after");
  if (!hint) hint = resp->header("ratelimit-reset");
  std::optional<std::string_view> view;
  if (hint) view = *hint;
  if (status == 429) {
    if (++rate_limited_ > policy.rate_limited_retries) return {};
    return retry_wait(policy, rate_limited_, view);
  }
  if (++retries_ > policy.retries) return {};
  return retry_wait(policy, retries_, view);
}

Task<bool> Attempts::retry(const Response* resp, std::exception_ptr error) {
  permit_.release();
  const ClientOptions& opts = client_.options();
  if (resp && resp->status == 401 && provider_auth_ && !reauthenticated_) {
    // A token refused (expired early, revoked): one more attempt with a fresh one.
    reauthenticated_ = true;
    if (opts.auth->invalidate(sent_auth_)) co_return true;
  }
  auto wait = wait_after(resp, error);
  if (!wait) co_return false;
  const auto resume_at = Clock::now() + *wait;
  if (deadline_ && resume_at >= *deadline_) co_return false;
  // Every request of this service waits out the server's "slow down", not only this one.
  if (resp && resp->status == 429) client_.limiter().defer(spec_.service, resume_at);
  if (log::enabled(LogLevel::kInfo)) {
    log::info("http", "retry {} of {} {} in {} ms: {}", attempts_, spec_.method,
              redact_url(spec_.url), wait->count(),
              resp ? "HTTP " + std::to_string(resp->status) : describe_for_log(error));
  }
  if (wait->count() > 0) co_await sleep_for(client_.io(), *wait);
  co_return true;
}

}  // namespace asyncfs::http
