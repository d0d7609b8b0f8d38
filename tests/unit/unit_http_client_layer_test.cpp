// The HTTP client layer's parts that need no server: JSON request bodies (round-tripped through
// simdjson), the status map, the wait queue and the rate limiter (cap, spacing, 429 deferral,
// cancellation), and the FirecREST models on the response variants of older servers.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "asyncfs/errors.hpp"
#include "asyncfs/gather.hpp"
#include "backends/firecrest/models.hpp"
#include "core/http/auth.hpp"
#include "core/http/circuit_breaker.hpp"
#include "core/http/engine.hpp"
#include "core/http/rate_limiter.hpp"
#include "core/http/status.hpp"
#include "core/json_writer.hpp"
#include "core/wait_queue.hpp"
#include "support/co_test.hpp"
#include "support/expect_kind.hpp"

namespace asyncfs::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// --- JSON bodies ----------------------------------------------------------------------------

TEST(JsonWriter, StringsRoundTripThroughAParser) {
  const std::vector<std::string> samples = {"plain",
                                            "quote \" and backslash \\",
                                            "tab\tnew\nline\rcr",
                                            std::string("nul\0byte", 8),
                                            "\x01\x1f control",
                                            "héllo wörld ✓ 𝄞",
                                            "/home/u/it's a \"path\"",
                                            "",
                                            "{}[],:"};
  for (const auto& s : samples) {
    json::Writer w;
    w.begin_object().field("k", s).field("n", std::int64_t{-42}).field("b", true);
    w.key("arr").begin_array().value("x").value(std::int64_t{1}).null().end_array();
    w.end_object();
    const std::string text = w.take();
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    ASSERT_EQ(p.parse(text).get(doc), simdjson::SUCCESS) << text;
    std::string_view back;
    ASSERT_EQ(doc["k"].get_string().get(back), simdjson::SUCCESS) << text;
    EXPECT_EQ(std::string(back), s);
    EXPECT_EQ(std::int64_t(doc["n"]), -42);
    EXPECT_EQ(doc["arr"].get_array().size(), 3u);
  }
}

TEST(JsonWriter, InvalidUtf8IsRefusedNotAltered) {
  json::Writer w;
  w.begin_object();
  EXPECT_KIND(kInvalidArgument, w.field("path", std::string("/a/\xff\xfe")));
  EXPECT_KIND(kInvalidArgument, w.field("path", std::string("\xc0\xaf")));  // overlong '/'
}

TEST(UrlEncode, EscapesEverythingButUnreserved) {
  EXPECT_EQ(http::url_encode("/home/u/a b&c=d?e#f%"), "%2Fhome%2Fu%2Fa%20b%26c%3Dd%3Fe%23f%25");
  EXPECT_EQ(http::url_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(http::base64_encode("id:sec"), "aWQ6c2Vj");
  EXPECT_EQ(http::basic_authorization("a", "b"), "Basic YTpi");
}

// --- status map -----------------------------------------------------------------------------

TEST(StatusMap, TimeoutsAndServerErrorsAreNeverNotFound) {
  EXPECT_EQ(http::status_error_kind(404), ErrorKind::kNotFound);
  EXPECT_EQ(http::status_error_kind(410), ErrorKind::kNotFound);
  EXPECT_EQ(http::status_error_kind(403), ErrorKind::kPermissionDenied);
  EXPECT_EQ(http::status_error_kind(401), ErrorKind::kPermissionDenied);
  EXPECT_EQ(http::status_error_kind(400), ErrorKind::kInvalidArgument);
  EXPECT_EQ(http::status_error_kind(408), ErrorKind::kTimeout);
  EXPECT_EQ(http::status_error_kind(413), ErrorKind::kTooLarge);
  EXPECT_EQ(http::status_error_kind(429), ErrorKind::kRateLimited);
  for (long s : {500L, 501L, 502L, 503L, 504L, 424L, 418L}) {
    EXPECT_NE(http::status_error_kind(s), ErrorKind::kNotFound) << s;
  }
  try {
    http::throw_status(503, "firecrest://daint/x", "stat", "busy");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNetwork);
    EXPECT_EQ(e.http_status(), 503);
    EXPECT_EQ(e.path(), "firecrest://daint/x");
  }
}

// --- wait queue and rate limiter -------------------------------------------------------------

struct Loop {
  std::shared_ptr<IoThread> io = std::make_shared<IoThread>("test-io");
};

TEST(WaitQueue, WakesWaitersInOrder) {
  Loop l;
  auto body = [](IoThread* io) -> Task<std::vector<int>> {
    WaitQueue q(*io);
    std::vector<int> order;
    auto waiter = [](WaitQueue* queue, std::vector<int>* out, int id) -> Task<void> {
      co_await queue->wait();
      out->push_back(id);
    };
    GatherOptions g;
    // Three waiters, then three notifies from this coroutine after they are queued.
    auto t0 = waiter(&q, &order, 0);
    auto t1 = waiter(&q, &order, 1);
    auto t2 = waiter(&q, &order, 2);
    std::vector<Task<void>> tasks;
    tasks.push_back(std::move(t0));
    tasks.push_back(std::move(t1));
    tasks.push_back(std::move(t2));
    tasks.push_back([](WaitQueue* queue, IoThread* loop) -> Task<void> {
      co_await sleep_for(*loop, milliseconds(20));
      EXPECT_EQ(queue->size(), 3u);
      for (int k = 0; k < 3; ++k) EXPECT_TRUE(queue->notify_one());
      EXPECT_FALSE(queue->notify_one());
    }(&q, io));
    co_await gather<void>(std::move(tasks), g);
    co_return order;
  };
  EXPECT_EQ(run(*l.io, body(l.io.get())), (std::vector<int>{0, 1, 2}));
}

TEST(RateLimiter, CapsRequestsInFlight) {
  Loop l;
  auto body = [](IoThread* io) -> Task<std::size_t> {
    http::RateLimits lim;
    lim.max_in_flight = 3;
    http::RateLimiter rl(*io, lim);
    std::size_t peak = 0, now = 0;
    GatherOptions g;
    auto make = [&](std::size_t) {
      return [](http::RateLimiter* r, IoThread* loop, std::size_t* cur,
                std::size_t* top) -> Task<void> {
        http::RateLimiter::Permit p = co_await r->acquire("svc");
        *top = std::max(*top, ++*cur);
        co_await sleep_for(*loop, milliseconds(5));
        --*cur;
      }(&rl, io, &now, &peak);
    };
    co_await gather<void>(20, make, g);
    EXPECT_EQ(rl.in_flight(), 0u);
    co_return peak;
  };
  EXPECT_EQ(run(*l.io, body(l.io.get())), 3u);
}

TEST(RateLimiter, SpacesStartsOfOneServiceOnly) {
  Loop l;
  auto body = [](IoThread* io) -> Task<void> {
    http::RateLimits lim;
    lim.spacing["compute"] = milliseconds(40);
    http::RateLimiter rl(*io, lim);
    std::vector<Clock::time_point> compute, status;
    GatherOptions g;
    auto make = [&](std::size_t i) {
      return [](http::RateLimiter* r, std::string svc,
                std::vector<Clock::time_point>* out) -> Task<void> {
        http::RateLimiter::Permit p = co_await r->acquire(svc);
        out->push_back(Clock::now());
      }(&rl, i % 2 ? "compute" : "status", i % 2 ? &compute : &status);
    };
    co_await gather<void>(10, make, g);
    for (std::size_t i = 1; i < compute.size(); ++i) {
      EXPECT_GE(compute[i] - compute[i - 1], milliseconds(39));
    }
    EXPECT_LT(status.back() - status.front(), milliseconds(30));
  };
  run(*l.io, body(l.io.get()));
}

TEST(RateLimiter, DeferHoldsTheServiceBack) {
  Loop l;
  auto body = [](IoThread* io) -> Task<void> {
    http::RateLimiter rl(*io, {});
    EXPECT_FALSE(rl.engaged());
    const auto until = Clock::now() + milliseconds(60);
    rl.defer("filesystem", until);
    EXPECT_TRUE(rl.engaged());
    http::RateLimiter::Permit other = co_await rl.acquire("compute");
    EXPECT_LT(Clock::now(), until);  // another service is not held back
    http::RateLimiter::Permit p = co_await rl.acquire("filesystem");
    EXPECT_GE(Clock::now(), until);
  };
  run(*l.io, body(l.io.get()));
}

TEST(RateLimiter, AStoppedWaiterGivesUpWithoutLeakingItsSlot) {
  Loop l;
  http::RateLimits lim;
  lim.max_in_flight = 1;
  auto rl = std::make_shared<http::RateLimiter>(*l.io, lim);
  // Hold the only slot, let a second acquire time out (sync's stop), then acquire again.
  auto hold = [](std::shared_ptr<http::RateLimiter> r, IoThread* io) -> Task<void> {
    http::RateLimiter::Permit p = co_await r->acquire("s");
    co_await sleep_for(*io, milliseconds(200));
  };
  std::thread holder([&] { sync(*l.io, hold(rl, l.io.get())); });
  std::this_thread::sleep_for(milliseconds(30));
  auto waiter = [](std::shared_ptr<http::RateLimiter> r) -> Task<void> {
    http::RateLimiter::Permit p = co_await r->acquire("s");
  };
  EXPECT_KIND(kTimeout, sync(*l.io, waiter(rl), milliseconds(50)));
  holder.join();
  // The cancelled waiter did not keep the slot the holder gave back.
  EXPECT_NO_THROW(sync(*l.io, waiter(rl), milliseconds(1000)));
  EXPECT_EQ(rl->in_flight(), 0u);
}

// --- FirecREST models on old response shapes ------------------------------------------------

TEST(FirecrestModels, AcceptsOlderVariants) {
  simdjson::dom::parser p;
  firecrest::model::Reader r{"test"};
  auto jobs = firecrest::model::jobs(
      r, p.parse(std::string(R"({"jobs":[{"jobId":12345,"name":"a","status":{"state":["COMPLETED"],
      "exitCode":0},"time":{"start":1,"end":2}},{"job_id":"777","status":{"state":"RUNNING"}}]})")));
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].job_id, "12345");
  EXPECT_EQ(jobs[0].status.state, "COMPLETED");
  EXPECT_FALSE(jobs[0].active());
  EXPECT_TRUE(jobs[1].active());
  auto files = firecrest::model::files(
      r, p.parse(std::string(R"({"output":[{"name":"a","type":"-","size":"123","link_target":null,
      "last_modified":"2026-01-01T00:00:00"}]})")));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].size, 123u);
  EXPECT_EQ(files[0].last_modified, "2026-01-01T00:00:00");
  auto d24 = firecrest::model::directives(
      r, p.parse(std::string(R"({"transferJob":{"jobId":1},"transfer_directives":{
      "transfer_method":"s3","parts_upload_urls":["u1","u2"],"complete_upload_url":"c",
      "max_part_size":10}})")));
  EXPECT_EQ(d24.parts_upload_urls.size(), 2u);
  EXPECT_EQ(d24.max_part_size.value_or(0), 10u);
  auto d23 = firecrest::model::directives(
      r, p.parse(std::string(R"({"transferJob":{"jobId":"1"},"downloadUrl":"http://x/y"})")));
  EXPECT_EQ(d23.download_url, "http://x/y");
}

TEST(FirecrestModels, PolledJobListIsReadOnDemand) {
  simdjson::ondemand::parser od;
  firecrest::model::Reader r{"poll"};
  const std::unordered_set<std::string_view> wanted = {"7", "12345"};
  std::string body = R"({"jobs":[{"jobId":12345,"status":{"state":["COMPLETED","COMPLETED"],
      "exitCode":"0"},"time":{"start":1,"end":null}},{"jobId":"8","status":{"state":"RUNNING"}},
      {"name":"x","jobId":"7","status":{"stateReason":null,"state":"PENDING"},"extra":[1,{}]}]})";
  auto got = firecrest::model::wanted_jobs(r, body, wanted, od);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got.at("12345").status.state, "COMPLETED,COMPLETED");
  EXPECT_EQ(got.at("12345").status.exit_code.value_or(-1), 0);
  EXPECT_FALSE(got.at("12345").active());
  EXPECT_TRUE(got.at("7").active());
  EXPECT_EQ(got.at("7").name, "x");
  std::string none = R"({"jobs":null})";
  EXPECT_TRUE(firecrest::model::wanted_jobs(r, none, wanted, od).empty());
  for (std::string bad : {std::string("<html>"), std::string(R"({"jobs":name[{"":[}]})"),
                          std::string(R"({"jobs":[{"status":{"state":"X"}}]})"),
                          std::string(R"({"jobs":[{"jobId":"1","status":{}}]})")}) {
    SCOPED_TRACE(bad);
    EXPECT_KIND(kProtocol, firecrest::model::wanted_jobs(r, bad, wanted, od));
  }
}

TEST(FirecrestModels, WrongShapesAreProtocolErrorsNamingTheField) {
  simdjson::dom::parser p;
  firecrest::model::Reader r{"firecrest://daint/x (stat)"};
  try {
    firecrest::model::stat(r, p.parse(std::string(R"({"output":{"mode":"x","size":1}})")));
    ADD_FAILURE() << "no error";
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("mode"), std::string::npos) << e.what();
  }
  EXPECT_KIND(kProtocol, firecrest::model::stat(r, p.parse(std::string(R"({"out":{}})"))));
  EXPECT_KIND(kProtocol, firecrest::model::jobs(r, p.parse(std::string(R"({"jobs":{}})"))));
  EXPECT_KIND(kProtocol,
              firecrest::model::jobs(r, p.parse(std::string(R"({"jobs":[{"status":{}}]})"))));
  EXPECT_KIND(kProtocol, firecrest::model::files(r, p.parse(std::string(R"({"output":[1]})"))));
}

TEST(DecodedLimit, RatioPastTheFloorAndSizeCap) {
  http::TransportOptions o;  // ratio 100, no size cap
  constexpr std::uint64_t kMiB = 1 << 20;
  EXPECT_EQ(http::decoded_limit_problem(8 * kMiB, 1, o), "");  // small bodies pass any ratio
  EXPECT_NE(http::decoded_limit_problem(9 * kMiB, 9 * kMiB / 100, o), "");
  EXPECT_EQ(http::decoded_limit_problem(9 * kMiB, 9 * kMiB / 99, o), "");
  EXPECT_NE(http::decoded_limit_problem(9 * kMiB, 0, o), "");  // nothing counted yet
  o.max_decoded_ratio = 0;
  EXPECT_EQ(http::decoded_limit_problem(1ull << 40, 1, o), "");
  o.max_decoded_bytes = kMiB;
  EXPECT_EQ(http::decoded_limit_problem(kMiB, 1, o), "");
  EXPECT_NE(http::decoded_limit_problem(kMiB + 1, kMiB, o).find("max_decoded_bytes"),
            std::string::npos);
}

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresAndOneProbeClosesIt) {
  using std::chrono::milliseconds;
  http::CircuitBreaker b;
  const auto t0 = http::CircuitBreaker::Clock::now();
  const std::string h = http::CircuitBreaker::key_of("HTTP://Host:81/a/b?c");
  EXPECT_EQ(h, "http://host:81");
  for (int i = 0; i < 2; ++i) b.failed(h, 3, milliseconds(100), t0);
  EXPECT_FALSE(b.refuse(h, 3, milliseconds(100), t0));
  b.succeeded(h);  // consecutive only: an answer starts the count again
  for (int i = 0; i < 2; ++i) b.failed(h, 3, milliseconds(100), t0);
  EXPECT_FALSE(b.refuse(h, 3, milliseconds(100), t0));
  b.failed(h, 3, milliseconds(100), t0);
  auto why = b.refuse(h, 3, milliseconds(100), t0 + milliseconds(50));
  ASSERT_TRUE(why);
  EXPECT_TRUE(why->starts_with(kCircuitOpenMessage)) << *why;
  EXPECT_FALSE(b.refuse("http://other:81", 3, milliseconds(100), t0));  // per host
  // After the cool-down one request probes while the others still fail fast.
  EXPECT_FALSE(b.refuse(h, 3, milliseconds(100), t0 + milliseconds(150)));
  EXPECT_TRUE(b.refuse(h, 3, milliseconds(100), t0 + milliseconds(160)));
  b.succeeded(h);
  EXPECT_FALSE(b.refuse(h, 3, milliseconds(100), t0 + milliseconds(170)));
  // 0 = never open.
  for (int i = 0; i < 10; ++i) b.failed(h, 0, milliseconds(100), t0);
  EXPECT_FALSE(b.refuse(h, 0, milliseconds(100), t0));
}

}  // namespace
}  // namespace asyncfs::testing
