// The HTTP engine against real servers: nginx (well-behaved, keep-alive, WebDAV PUT and
// DELETE) and fault_server.py (truncation, resets, slow drip, redirects across hosts). Every
// test runs twice: GET/HEAD through the native HTTP/1.1 client ("native") and everything
// through libcurl ("curl").

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "asyncfs/errors.hpp"
#include "asyncfs/gather.hpp"
#include "asyncfs/io_thread.hpp"
#include "asyncfs/sync.hpp"
#include "core/http/engine.hpp"
#include "support/co_test.hpp"
#include "support/fault_server.hpp"
#include "support/nginx_server.hpp"
#include "support/patterns.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::http {
namespace {

using asyncfs::testing::FaultServer;
using asyncfs::testing::NginxServer;
using asyncfs::testing::run;
using namespace std::chrono_literals;

using asyncfs::testing::pattern;

Request get(std::string url) {
  Request rq;
  rq.url = std::move(url);
  return rq;
}

Task<Response> do_fetch(IoThread* io, Request rq, TransportOptions op) {
  Engine& engine = Engine::of(*io);
  auto task = engine.fetch(std::move(rq), std::move(op));
  Response r = co_await std::move(task);
  co_return r;
}

/// A loopback port that was free a moment ago: bound, read, closed (nobody listens there).
std::uint16_t closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

Task<Engine*> engine_of(IoThread* io) { co_return &Engine::of(*io); }

TransportOptions transport(bool native) {
  TransportOptions op;
  op.native_http1 = native;
  return op;
}

std::string transport_name(const ::testing::TestParamInfo<bool>& info) {
  return info.param ? "native" : "curl";
}

class HttpEngineTest : public ::testing::TestWithParam<bool> {
 protected:
  /// Default options of the transport under test.
  TransportOptions opts() const { return transport(GetParam()); }
  Response fetch(Request rq) { return fetch(std::move(rq), opts()); }
  Response fetch(Request rq, TransportOptions op) {
    return run(io_, do_fetch(&io_, std::move(rq), std::move(op)));
  }
  Engine& engine() { return *run(io_, engine_of(&io_)); }
  /// Polls a counter read from this thread (the engine keeps them atomic).
  bool wait_idle(std::chrono::milliseconds bound = 10s) {
    Engine& e = engine();
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (e.active_transfers() != 0) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  IoThread io_{"http-engine-test"};
};

TEST_P(HttpEngineTest, GetHeadPutDeleteAgainstNginx) {
  NginxServer& nginx = NginxServer::shared();
  nginx.write("engine/crud/a.txt", "hello engine");

  Response r = fetch(get(nginx.url("engine/crud/a.txt")));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello engine");
  EXPECT_EQ(r.body_bytes, 12u);
  EXPECT_EQ(r.header("content-length").value_or(""), "12");
  EXPECT_EQ(r.effective_url, nginx.url("engine/crud/a.txt"));

  Request head = get(nginx.url("engine/crud/a.txt"));
  head.method = "HEAD";
  r = fetch(std::move(head));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.header("content-length").value_or(""), "12");

  Request put = get(nginx.url("engine/crud/b.bin"));
  put.method = "PUT";
  put.body = pattern(300'000);
  r = fetch(std::move(put));
  EXPECT_TRUE(r.status == 201 || r.status == 204) << r.status;
  r = fetch(get(nginx.url("engine/crud/b.bin")));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, pattern(300'000));

  Request del = get(nginx.url("engine/crud/b.bin"));
  del.method = "DELETE";
  r = fetch(std::move(del));
  EXPECT_EQ(r.status, 204);
  // A status is a response, never an exception, at this layer.
  r = fetch(get(nginx.url("engine/crud/b.bin")));
  EXPECT_EQ(r.status, 404);
}

TEST_P(HttpEngineTest, PutStreamsFromLocalFile) {
  NginxServer& nginx = NginxServer::shared();
  asyncfs::testing::TempDir tmp;
  const std::string data = pattern(3 * 1024 * 1024 + 17);
  asyncfs::testing::write_local_file(tmp / "up.bin", data);

  Request put = get(nginx.url("engine/upload/up.bin"));
  put.method = "PUT";
  put.upload_path = tmp / "up.bin";
  Callback progress;
  put.progress = &progress;
  Response r = fetch(std::move(put));
  EXPECT_TRUE(r.status == 201 || r.status == 204) << r.status;
  EXPECT_EQ(progress.size().value_or(0), data.size());
  EXPECT_EQ(progress.value(), data.size());
  EXPECT_EQ(asyncfs::testing::read_local_file(nginx.path("engine/upload/up.bin")), data);

  // POST streamed from the same file: sent with Content-Length, not chunked.
  FaultServer& faults = FaultServer::shared();
  Request post = get(faults.url("sink/engine-post"));
  post.method = "POST";
  post.upload_path = tmp / "up.bin";
  r = fetch(std::move(post));
  EXPECT_TRUE(r.status == 201 || r.status == 204) << r.status;
  r = fetch(get(faults.url("sink-meta/engine-post")));
  EXPECT_NE(r.body.find("\"method\": \"POST\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"size\": " + std::to_string(data.size())), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"chunked\": false"), std::string::npos) << r.body;

  // A 307 while the body is still being sent: the next hop sends it again from the start.
  // (nginx, which discards the unread body properly; fault_server.py resets the connection.)
  NginxServer::Options redirecting;
  redirecting.extra_server_config = "location /moved/ { return 307 /engine/upload/moved.bin; }";
  NginxServer nginx307(redirecting);
  Request redirected = get(nginx307.url("moved/up.bin"));
  redirected.method = "PUT";
  redirected.upload_path = tmp / "up.bin";
  r = fetch(std::move(redirected));
  EXPECT_TRUE(r.status == 201 || r.status == 204) << r.status;
  EXPECT_EQ(r.effective_url, nginx307.url("engine/upload/moved.bin"));
  EXPECT_EQ(asyncfs::testing::read_local_file(nginx307.path("engine/upload/moved.bin")), data);

  Request missing = get(nginx.url("engine/upload/none.bin"));
  missing.method = "PUT";
  missing.upload_path = tmp / "does-not-exist";
  EXPECT_THROW(fetch(std::move(missing)), NotFound);
}

TEST_P(HttpEngineTest, PostBodyAndHeadersReachTheServer) {
  FaultServer& faults = FaultServer::shared();
  Request post = get(faults.url("echo/post"));
  post.method = "POST";
  post.body = "payload-123";
  post.headers.emplace_back("X-Custom", "yes");
  Response r = fetch(std::move(post));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"method\": \"POST\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"body\": \"payload-123\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"x-custom\": \"yes\""), std::string::npos) << r.body;
  // No compression unless asked for.
  EXPECT_NE(r.body.find("\"accept-encoding\": \"identity\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("\"expect\""), std::string::npos) << r.body;
}

TEST_P(HttpEngineTest, StatusesPassThrough) {
  FaultServer& faults = FaultServer::shared();
  Response r = fetch(get(faults.url("status/503?retry_after=7")));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("retry-after").value_or(""), "7");
  r = fetch(get(faults.url("status/404")));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "status 404\n");
}

TEST_P(HttpEngineTest, ThousandConcurrentGetsReuseConnections) {
  NginxServer& nginx = NginxServer::shared();
  constexpr std::size_t kN = 1000;
  for (std::size_t i = 0; i < 10; ++i) {
    nginx.write("engine/many/f" + std::to_string(i), "file " + std::to_string(i));
  }
  Engine& e = engine();
  const std::uint64_t before = e.connections_opened();
  IoThread* io = &io_;
  auto make = [io, &nginx, op = opts()](std::size_t i) {
    Request rq = get(nginx.url("engine/many/f" + std::to_string(i % 10)));
    return do_fetch(io, std::move(rq), op);
  };
  GatherOptions opts;
  opts.batch_size = 64;
  auto results = run(io_, gather<Response>(kN, make, opts));
  ASSERT_EQ(results.size(), kN);
  for (std::size_t i = 0; i < kN; ++i) {
    ASSERT_TRUE(results[i].has_value()) << i;
    EXPECT_EQ(results[i].value().status, 200);
    EXPECT_EQ(results[i].value().body, "file " + std::to_string(i % 10));
  }
  const std::uint64_t opened = e.connections_opened() - before;
  EXPECT_GE(opened, 1u);
  EXPECT_LE(opened, 100u) << "keep-alive connections were not reused";
  EXPECT_EQ(e.active_transfers(), 0u);
}

TEST_P(HttpEngineTest, SinkStreamsLargeBodyWithBoundedChunks) {
  NginxServer& nginx = NginxServer::shared();
  constexpr std::size_t kSize = 64u << 20;
  nginx.write("engine/big/.keep", "");
  {
    std::ofstream out(nginx.path("engine/big/64m.bin"), std::ios::binary);
    const std::string block = pattern(1 << 20);
    for (std::size_t i = 0; i < kSize / block.size(); ++i) out << block;
  }
  struct Stats {
    std::uint64_t total = 0;
    std::size_t max_chunk = 0;
    std::size_t chunks = 0;
  };
  auto stats = std::make_shared<Stats>();
  Request rq = get(nginx.url("engine/big/64m.bin"));
  rq.sink.on_data = [stats](std::string_view chunk) {
    stats->total += chunk.size();
    stats->max_chunk = std::max(stats->max_chunk, chunk.size());
    ++stats->chunks;
    return true;
  };
  Response r = fetch(std::move(rq));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.body_bytes, kSize);
  EXPECT_EQ(stats->total, kSize);
  // Memory stays bounded: the body arrives in curl-buffer-sized pieces, never as a whole.
  EXPECT_LE(stats->max_chunk, 1u << 20);
  EXPECT_GT(stats->chunks, 64u);
}

TEST_P(HttpEngineTest, SinkCanAbort) {
  FaultServer& faults = FaultServer::shared();
  Request rq = get(faults.url("file/x?size=200000"));
  rq.sink.on_data = [](std::string_view) { return false; };
  EXPECT_THROW(fetch(std::move(rq)), Cancelled);
  EXPECT_TRUE(wait_idle());
}

TEST_P(HttpEngineTest, MaxBytesThrowsTooLarge) {
  FaultServer& faults = FaultServer::shared();
  Request rq = get(faults.url("file/x?size=100000"));
  rq.sink.max_bytes = 1000;
  try {
    fetch(std::move(rq));
    ADD_FAILURE() << "no exception";
  } catch (const TooLarge& e) {
    EXPECT_NE(std::string(e.what()).find("file/x"), std::string::npos) << e.what();
  }
  Request fits = get(faults.url("file/x?size=1000"));
  fits.sink.max_bytes = 1000;
  EXPECT_EQ(fetch(std::move(fits)).body, pattern(1000));
}

TEST_P(HttpEngineTest, CancelFromAnotherThreadRemovesTransfer) {
  FaultServer& faults = FaultServer::shared();
  Engine& e = engine();
  Request rq = get(faults.url("slow?size=200&interval_ms=100"));
  const auto start = std::chrono::steady_clock::now();
  // sync() times out on this thread and requests stop; the loop removes the transfer.
  EXPECT_THROW(sync(io_, do_fetch(&io_, std::move(rq), opts()), 300ms), Timeout);
  EXPECT_TRUE(wait_idle(5s)) << e.active_transfers();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  // The engine keeps working afterwards.
  EXPECT_EQ(fetch(get(faults.url("file/after-cancel?size=10"))).body, pattern(10));
}

TEST_P(HttpEngineTest, CancelledBeforeStartNeverTouchesTheNetwork) {
  FaultServer& faults = FaultServer::shared();
  std::stop_source stop;
  stop.request_stop();
  auto state = std::make_shared<std::atomic<int>>(0);
  IoThread* io = &io_;
  Request rq = get(faults.url("file/never"));
  auto task = do_fetch(io, std::move(rq), opts());
  std::promise<Outcome<Response>> done;
  auto fut = done.get_future();
  io_.post([io, t = std::make_shared<Task<Response>>(std::move(task)), &done,
            token = stop.get_token()]() mutable {
    io->spawn(
        std::move(*t), [&done](Outcome<Response> out) { done.set_value(std::move(out)); }, token);
  });
  Outcome<Response> out = fut.get();
  EXPECT_THROW(std::move(out).value(), Cancelled);
}

class HttpEngineShutdown : public ::testing::TestWithParam<bool> {};

TEST_P(HttpEngineShutdown, ShutdownWithTransfersInFlight) {
  FaultServer& faults = FaultServer::shared();
  auto io = std::make_unique<IoThread>("http-shutdown");
  constexpr int kN = 8;
  std::atomic<int> finished{0};
  std::atomic<int> cancelled{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < kN; ++i) {
    callers.emplace_back([&, i] {
      Request rq = get(faults.url("slow?size=300&interval_ms=100&n=" + std::to_string(i)));
      try {
        sync(*io, do_fetch(io.get(), std::move(rq), transport(GetParam())));
      } catch (const Cancelled&) {
        ++cancelled;
      } catch (...) {
      }
      ++finished;
    });
  }
  Engine* e = sync(*io, engine_of(io.get()));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (e->active_transfers() < kN && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(e->active_transfers(), static_cast<std::size_t>(kN));
  const auto start = std::chrono::steady_clock::now();
  io->shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  for (auto& t : callers) t.join();
  EXPECT_EQ(finished.load(), kN);
  EXPECT_EQ(cancelled.load(), kN);
}

// A coroutine outside the task tree: no stop token reaches it, so its transfer ignores
// shutdown's cancellation. Started and destroyed by hand.
struct Shielded {
  struct promise_type : asyncfs::detail::PromiseBase {
    Shielded get_return_object() noexcept {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always final_suspend() const noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {}
  };
  std::coroutine_handle<promise_type> h;
};

Shielded shielded_fetch(IoThread* io, std::string url, std::atomic<int>* resumed, bool native) {
  try {
    auto t = do_fetch(io, get(url), transport(native));
    co_await std::move(t);
  } catch (...) {
  }
  ++*resumed;
}

struct Forever {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  void await_resume() const noexcept {}
};

/// Starts a shielded transfer, then never finishes: shutdown abandons this root.
Task<void> stubborn(IoThread* io, std::string url, Shielded* out, std::atomic<int>* resumed,
                    bool native) {
  *out = shielded_fetch(io, url, resumed, native);
  out->h.resume();
  Forever forever;
  co_await forever;
}

TEST_P(HttpEngineShutdown, AbandonedTransfersAreDetachedWithoutResuming) {
  FaultServer& faults = FaultServer::shared();
  auto io = std::make_unique<IoThread>("http-abandon");
  IoThread* iop = io.get();
  const std::string url = faults.url("slow?size=300&interval_ms=100&abandon=1");
  const bool native = GetParam();
  Shielded shielded;
  std::atomic<int> resumed{0};
  std::thread caller([&] {
    try {
      sync(*iop, stubborn(iop, url, &shielded, &resumed, native));
    } catch (...) {
    }
  });
  Engine* e = sync(*io, engine_of(io.get()));
  while (e->active_transfers() == 0) std::this_thread::sleep_for(5ms);
  const auto start = std::chrono::steady_clock::now();
  io->shutdown(200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  caller.join();
  // ~Engine detached the transfer and never resumed its coroutine.
  EXPECT_EQ(resumed.load(), 0);
  EXPECT_FALSE(shielded.h.done());
  // The loop thread is gone: destroying the frame here touches nothing of the engine.
  shielded.h.destroy();
}

TEST_P(HttpEngineTest, PerHostCapQueuesRequests) {
  NginxServer& nginx = NginxServer::shared();
  nginx.write("engine/cap/f", "capped");
  Engine& e = engine();
  const std::uint64_t before = e.connections_opened();
  TransportOptions op = opts();
  op.max_host_connections = 2;
  IoThread* io = &io_;
  auto make = [io, &nginx, op](std::size_t) {
    return do_fetch(io, get(nginx.url("engine/cap/f")), op);
  };
  GatherOptions g;
  g.batch_size = 32;
  auto results = run(io_, gather<Response>(200, make, g));
  for (auto& r : results) {
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r.value().body, "capped");
  }
  EXPECT_LE(e.connections_opened() - before, 2u);
  EXPECT_TRUE(wait_idle());
}

TEST_P(HttpEngineTest, DeadKeepAliveConnectionIsRetriedOnANewOne) {
  FaultServer& faults = FaultServer::shared();
  Engine& e = engine();
  const std::uint64_t before = e.connections_opened();
  // The second request goes out on the kept-alive connection the server is about to reset;
  // it must be re-sent on a new connection instead of failing.
  Response a = fetch(get(faults.url("keepalive-drop?n=1")));
  Response b = fetch(get(faults.url("keepalive-drop?n=2")));
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "kept-alive n=1\n");
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.body, "kept-alive n=2\n");
  EXPECT_EQ(e.connections_opened() - before, 2u);
}

TEST_P(HttpEngineTest, GarbageResponseIsAProtocolErrorNamingTheUrl) {
  FaultServer& faults = FaultServer::shared();
  const std::string url = faults.url("garbage");
  try {
    fetch(get(url));
    ADD_FAILURE() << "no exception";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.path(), url);
  }
}

TEST_P(HttpEngineTest, BothTransportsRefuseTheSameFramingFlaws) {
  // What the native parser refuses, libcurl's path refuses too: no answer depends on which
  // transport a request happened to take.
  FaultServer& faults = FaultServer::shared();
  for (const char* c : {"raw/cl-plus", "raw/cl-wrap", "raw/nul-header", "raw/http-version"}) {
    const std::string url = faults.url(c);
    try {
      Response r = fetch(get(url));
      ADD_FAILURE() << c << ": accepted, status " << r.status << ", body " << r.body;
    } catch (const ProtocolError& e) {
      EXPECT_EQ(e.path(), url);
    }
  }
}

TEST_P(HttpEngineTest, CompressedBodiesAreDecodedAndATruncatedStreamIsAnError) {
  // libcurl alone reported success for half a gzip stream, handing over what it inflated to.
  FaultServer& faults = FaultServer::shared();
  for (const char* c : {"raw/deflate-raw", "raw/deflate-zlib", "raw/gzip-members"}) {
    Request rq = get(faults.url(c));
    rq.accept_encoding = "gzip, deflate";
    Response r = fetch(std::move(rq));
    EXPECT_TRUE(r.body == pattern(100000)) << c << ": " << r.body.size() << " bytes";
  }
  Request rq = get(faults.url("raw/gzip-truncated"));
  rq.accept_encoding = "gzip, deflate";
  try {
    Response r = fetch(std::move(rq));
    ADD_FAILURE() << "accepted " << r.body.size() << " bytes of a truncated gzip stream";
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("compressed"), std::string::npos) << e.what();
  }
}

TEST_P(HttpEngineTest, TransferCodedBodiesAreDecoded) {
  // "Transfer-Encoding: gzip, chunked": de-chunking alone would hand over gzip bytes.
  FaultServer& faults = FaultServer::shared();
  Response r = fetch(get(faults.url("raw/te-gzip-chunked?size=20000")));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == pattern(20000)) << r.body.size() << " bytes";
}

TEST_P(HttpEngineTest, TransferEncodingWithContentLengthIsNotReused) {
  // RFC 9112 §6.3: the body is the chunked one, and the connection is closed after it. libcurl
  // 7.88 frames it the same way but keeps the connection, and no libcurl call may change
  // that from inside a transfer: the reuse rule is checked on the native client only.
  FaultServer& faults = FaultServer::shared();
  Engine& e = engine();
  const std::uint64_t before = e.connections_opened();
  for (int i = 0; i < 2; ++i) {
    Response r = fetch(get(faults.url("raw/te-and-cl")));
    EXPECT_EQ(r.body, "ok");
  }
  if (GetParam()) {
    EXPECT_EQ(e.connections_opened() - before, 2u);
  }
}

/// Reads a whole stream into `body`, pausing `pause` after the first chunk (the transfer must
/// stop, not buffer on), recording the status and the most bytes ever waiting unread.
Task<long> read_stream(IoThread* io, std::string url, TransportOptions op, std::size_t high_water,
                       std::chrono::milliseconds pause, std::string* body, std::size_t* peak) {
  Engine& engine = Engine::of(*io);
  Task<std::unique_ptr<BodyStream>> opening = engine.stream(get(url), op, high_water);
  std::unique_ptr<BodyStream> stream = co_await std::move(opening);
  for (bool first = true;; first = false) {
    Bytes chunk = co_await stream->next();
    *peak = std::max(*peak, stream->buffered() + chunk.size());
    if (chunk.empty()) break;
    *body += chunk;
    if (first) {
      co_await sleep_for(*io, pause);
      *peak = std::max(*peak, stream->buffered());
    }
  }
  co_return stream->response().status;
}

TEST_P(HttpEngineTest, StreamPausesTheTransferAndBoundsMemory) {
  NginxServer& nginx = NginxServer::shared();
  const std::string big = pattern(24 << 20);
  nginx.write("engine/stream/big.bin", big);
  TransportOptions op = opts();
  // A pause longer than the low-speed window must not count as a stalled transfer.
  op.low_speed_time = 1s;
  op.low_speed_limit = 1024;
  constexpr std::size_t kHighWater = 1 << 20;
  std::string body;
  std::size_t peak = 0;
  const long status = run(io_, read_stream(&io_, nginx.url("engine/stream/big.bin"), op, kHighWater,
                                           1500ms, &body, &peak));
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(body == big) << body.size();
  // The high-water mark plus one transport read (the native client's 256 KiB, curl's buffer).
  EXPECT_LE(peak, kHighWater + (512u << 10)) << peak;
  EXPECT_TRUE(wait_idle());
}

TEST_P(HttpEngineTest, StreamOfAnErrorStatusAndOfAnEmptyBody) {
  NginxServer& nginx = NginxServer::shared();
  nginx.write("engine/stream/empty", "");
  std::string body;
  std::size_t peak = 0;
  EXPECT_EQ(run(io_, read_stream(&io_, nginx.url("engine/stream/nope"), opts(), 1 << 20, 0ms, &body,
                                 &peak)),
            404);
  body.clear();
  EXPECT_EQ(run(io_, read_stream(&io_, nginx.url("engine/stream/empty"), opts(), 1 << 20, 0ms,
                                 &body, &peak)),
            200);
  EXPECT_TRUE(body.empty());
}

Task<std::string> stream_then_drop(IoThread* io, std::string url, TransportOptions op) {
  Engine& engine = Engine::of(*io);
  Task<std::unique_ptr<BodyStream>> opening = engine.stream(get(url), op, 64 << 10);
  std::unique_ptr<BodyStream> stream = co_await std::move(opening);
  Bytes first = co_await stream->next();
  co_return first;  // the stream is dropped mid-body here
}

TEST_P(HttpEngineTest, DroppingAStreamCancelsItsTransfer) {
  NginxServer& nginx = NginxServer::shared();
  nginx.write("engine/stream/drop.bin", pattern(8 << 20));
  std::string first = run(io_, stream_then_drop(&io_, nginx.url("engine/stream/drop.bin"), opts()));
  EXPECT_FALSE(first.empty());
  EXPECT_TRUE(wait_idle());
  // The engine is still fine afterwards.
  EXPECT_EQ(fetch(get(nginx.url("engine/stream/drop.bin"))).body.size(), 8u << 20);
}

TEST_P(HttpEngineTest, StreamMidBodyFailureSurfacesFromNext) {
  FaultServer& faults = FaultServer::shared();
  std::string body;
  std::size_t peak = 0;
  EXPECT_THROW(run(io_, read_stream(&io_, faults.url("truncated?size=300000&send=100000"), opts(),
                                    1 << 20, 0ms, &body, &peak)),
               NetworkError);
}

TEST_P(HttpEngineTest, ManyUnreachableHostsThenNormalService) {
  // Per-host state (pools, lookups) is created and dropped for each host: a crawl over many
  // hosts that refuse connections must leave the engine working (and ASan clean).
  const std::string port = std::to_string(closed_port());
  IoThread* io = &io_;
  auto make = [io, &port, op = opts()](std::size_t i) {
    // 127.0.0.2 ... 127.0.0.81: all loopback, all distinct hosts, nobody listening.
    return do_fetch(io, get("http://127.0.0." + std::to_string(2 + i) + ":" + port + "/x"), op);
  };
  GatherOptions g;
  g.batch_size = 16;
  auto results = run(io_, gather<Response>(80, make, g));
  for (auto& r : results) EXPECT_FALSE(r.has_value());
  NginxServer& nginx = NginxServer::shared();
  nginx.write("engine/after-crawl", "still fine");
  EXPECT_EQ(fetch(get(nginx.url("engine/after-crawl"))).body, "still fine");
  EXPECT_TRUE(wait_idle());
}

TEST_P(HttpEngineTest, ConnectionRefusedIsNetworkError) {
  const std::string url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/x";
  try {
    fetch(get(url));
    ADD_FAILURE() << "no exception";
  } catch (const NetworkError& e) {
    EXPECT_EQ(e.path(), url);
    EXPECT_FALSE(e.cause().empty());
  }
}

TEST_P(HttpEngineTest, TruncatedAndResetBodiesAreNetworkErrors) {
  FaultServer& faults = FaultServer::shared();
  EXPECT_THROW(fetch(get(faults.url("truncated?size=10000&send=5000"))), NetworkError);
  EXPECT_THROW(fetch(get(faults.url("reset?size=100000&after=50000"))), NetworkError);
  EXPECT_EQ(engine().active_transfers(), 0u);
}

TEST_P(HttpEngineTest, LowSpeedIsTimeout) {
  FaultServer& faults = FaultServer::shared();
  TransportOptions op = opts();
  op.low_speed_limit = 1000;
  op.low_speed_time = 1s;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(fetch(get(faults.url("slow?size=100&interval_ms=500")), op), Timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);

  TransportOptions total = opts();
  total.total_timeout = 300ms;
  EXPECT_THROW(fetch(get(faults.url("slow-headers?delay_ms=3000")), total), Timeout);
}

TEST_P(HttpEngineTest, InvalidUrlsAreInvalidArgument) {
  EXPECT_THROW(fetch(get("ftp://127.0.0.1/x")), InvalidArgument);
  EXPECT_THROW(fetch(get("http://[::1/x")), InvalidArgument);
}

TEST_P(HttpEngineTest, RedirectsAreFollowed) {
  FaultServer& faults = FaultServer::shared();
  Response r = fetch(get(faults.url("redirect-chain/3/headers?X-Final=yes")));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.effective_url, faults.url("headers?X-Final=yes"));
  // Headers are the last response's, names lower-cased.
  EXPECT_EQ(r.header("x-final").value_or(""), "yes");
  EXPECT_FALSE(r.header("location").has_value());

  Request no_follow = get(faults.url("redirect/301/file/t"));
  no_follow.follow_redirects = false;
  r = fetch(std::move(no_follow));
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.header("location").value_or(""), "/file/t");

  TransportOptions op = opts();
  op.max_redirects = 3;
  EXPECT_THROW(fetch(get(faults.url("loop/a")), op), ProtocolError);
}

TEST_P(HttpEngineTest, CrossHostRedirectDropsAuthorization) {
  FaultServer& faults = FaultServer::shared();
  Request same = get(faults.url("redirect/302/echo/same"));
  same.headers.emplace_back("Authorization", "Bearer secret-token");
  Response r = fetch(std::move(same));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-received-authorization").value_or(""), "Bearer secret-token");

  Request other = get(faults.url("redirect-host/302/echo/other"));
  other.headers.emplace_back("Authorization", "Bearer secret-token");
  r = fetch(std::move(other));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.effective_url, faults.other_host_url("echo/other"));
  EXPECT_FALSE(r.header("x-received-authorization").has_value());
  EXPECT_EQ(r.body.find("secret-token"), std::string::npos) << r.body;

  // Requests with a body follow redirects in the engine itself: same rules.
  // (fault_server.py answers redirects without reading the request body and keeps the
  // connection open, so the next request on it would start with that body: close instead.)
  const std::pair<std::string, std::string> conn_close("Connection", "close");
  Request put = get(faults.url("redirect-host/307/echo/put"));
  put.method = "PUT";
  put.headers.push_back(conn_close);
  put.body = "put-body";
  put.headers.emplace_back("Authorization", "Bearer secret-token");
  r = fetch(std::move(put));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.effective_url, faults.other_host_url("echo/put"));
  EXPECT_FALSE(r.header("x-received-authorization").has_value());
  EXPECT_NE(r.body.find("\"method\": \"PUT\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"body\": \"put-body\""), std::string::npos) << r.body;

  Request same_put = get(faults.url("redirect/308/echo/put"));
  same_put.method = "PUT";
  same_put.headers.push_back(conn_close);
  same_put.body = "put-body";
  same_put.headers.emplace_back("Authorization", "Bearer secret-token");
  r = fetch(std::move(same_put));
  EXPECT_EQ(r.header("x-received-authorization").value_or(""), "Bearer secret-token");
  EXPECT_NE(r.body.find("\"body\": \"put-body\""), std::string::npos) << r.body;

  // 303 after a POST: the next hop is a GET without the body.
  Request post = get(faults.url("redirect/303/echo/after-post"));
  post.method = "POST";
  post.headers.push_back(conn_close);
  post.body = "form";
  r = fetch(std::move(post));
  EXPECT_NE(r.body.find("\"method\": \"GET\""), std::string::npos) << r.body;
  EXPECT_EQ(r.effective_url, faults.url("echo/after-post"));

  TransportOptions op = opts();
  op.max_redirects = 2;
  Request loop = get(faults.url("loop/a"));
  loop.method = "PUT";
  loop.headers.push_back(conn_close);
  loop.body = "x";
  EXPECT_THROW(fetch(std::move(loop), op), ProtocolError);
}

TEST_P(HttpEngineTest, AcceptEncodingDecodes) {
  FaultServer& faults = FaultServer::shared();
  // libcurl sends the encodings asked for and decodes what comes back.
  TransportOptions curl_only;
  curl_only.native_http1 = false;
  Request rq = get(faults.url("gzip?size=5000&respect_ae=1"));
  rq.accept_encoding = "gzip";
  Response r = fetch(std::move(rq), curl_only);
  EXPECT_EQ(r.header("content-encoding").value_or(""), "gzip");
  EXPECT_EQ(r.body, pattern(5000));
  // The native client asks for identity, so a server that honours it sends the plain body.
  const TransportOptions native = transport(true);
  rq = get(faults.url("gzip?size=5000&respect_ae=1"));
  rq.accept_encoding = "gzip";
  r = fetch(std::move(rq), native);
  EXPECT_FALSE(r.header("content-encoding").has_value());
  EXPECT_EQ(r.body, pattern(5000));
  // A server compressing regardless: the request moves to libcurl, which decodes.
  rq = get(faults.url("gzip?size=5000"));
  rq.accept_encoding = "gzip";
  r = fetch(std::move(rq), native);
  EXPECT_EQ(r.header("content-encoding").value_or(""), "gzip");
  EXPECT_EQ(r.body, pattern(5000));
  // Nothing asked: identity on the wire, so no decoding and no surprise.
  r = fetch(get(faults.url("gzip?size=5000&respect_ae=1")));
  EXPECT_FALSE(r.header("content-encoding").has_value());
  EXPECT_EQ(r.body, pattern(5000));
}

INSTANTIATE_TEST_SUITE_P(Transports, HttpEngineTest, ::testing::Bool(), transport_name);
INSTANTIATE_TEST_SUITE_P(Transports, HttpEngineShutdown, ::testing::Bool(), transport_name);

}  // namespace
}  // namespace asyncfs::http
