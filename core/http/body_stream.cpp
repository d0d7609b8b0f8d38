// Engine::stream and BodyStream: a response body consumed chunk by chunk. The transfer runs as
// a root of the IoThread whose sink queues chunks; past the high-water mark it raises the
// FlowGate and the transport pauses until the consumer has read half of the queue.
//
// The consumer is never resumed from inside a transport callback (the sink may run inside a
// curl callback): wake() posts the resumption as a loop job.

#include <coroutine>
#include <deque>
#include <exception>
#include <functional>
#include <optional>
#include <stop_token>
#include <utility>

#include "asyncfs/errors.hpp"
#include "core/http/engine.hpp"

namespace asyncfs::http {

struct BodyStream::State : std::enable_shared_from_this<State> {
  IoThread* io = nullptr;
  std::string url;
  std::size_t high_water = 0;
  std::shared_ptr<FlowGate> gate = std::make_shared<FlowGate>();
  std::stop_source stop;  // cancels the transfer

  std::deque<Bytes> chunks;
  std::size_t buffered = 0;
  bool head_seen = false;
  Response head;  // status and headers only
  bool done = false;
  std::exception_ptr error;
  bool failed = false;  // the error was delivered by next()

  std::coroutine_handle<> waiter;  // the consumer, while it waits
  bool wake_posted = false;

  void wake() {
    if (!waiter || wake_posted) return;
    wake_posted = true;
    try {
      io->post([weak = weak_from_this()] {
        auto st = weak.lock();
        if (!st) return;
        st->wake_posted = false;
        if (auto h = std::exchange(st->waiter, {})) h.resume();
      });
    } catch (...) {
      // Shutting down: the root is cancelled and the consumer's frame is abandoned with it.
      wake_posted = false;
    }
  }

  bool on_data(std::string_view data) {
    chunks.emplace_back(data);
    buffered += data.size();
    if (buffered >= high_water) gate->pause_wanted = true;
    wake();
    return true;
  }

  void on_head(long status, const Headers& headers) {
    head.status = status;
    head.headers = headers;
    head_seen = true;
    wake();
  }

  void on_done(Outcome<Response> out) {
    done = true;
    if (out.has_error()) {
      error = out.error();
    } else if (!head_seen) {
      // No body callback came (HEAD, an empty body): the response is the head.
      Response r = std::move(out).value();
      head.status = r.status;
      head.headers = std::move(r.headers);
      head.effective_url = std::move(r.effective_url);
      head_seen = true;
    }
    wake();
  }

  /// Takes a chunk off the queue and lets the transport go on once half of it is read.
  Bytes pop() {
    Bytes out = std::move(chunks.front());
    chunks.pop_front();
    buffered -= out.size();
    if (gate->pause_wanted && buffered <= high_water / 2) {
      gate->pause_wanted = false;
      if (auto resume = std::exchange(gate->resume, {})) resume();
    }
    return out;
  }
};

namespace {

using State = BodyStream::State;

/// Suspends the consumer until wake(). A stop request of the consumer cancels the transfer,
/// which then ends (Cancelled) and wakes it.
struct WaitForStream {
  State* st;
  std::optional<std::stop_callback<std::function<void()>>> on_stop;

  bool await_ready() const noexcept { return false; }
  template <detail::HasStopToken P>
  void await_suspend(std::coroutine_handle<P> h) {
    st->waiter = h;
    std::stop_token token = h.promise().stop_token();
    if (token.stop_possible()) {
      std::stop_source* source = &st->stop;
      on_stop.emplace(std::move(token), [source] { source->request_stop(); });
    }
  }
  void await_resume() { on_stop.reset(); }
};

/// Lives in a waiting frame: if the frame is destroyed while suspended, nobody resumes it.
struct WaiterGuard {
  State* st;
  ~WaiterGuard() { st->waiter = {}; }
};

}  // namespace

BodyStream::BodyStream(std::shared_ptr<State> state) : state_(std::move(state)) {}

BodyStream::~BodyStream() {
  if (!state_->done) state_->stop.request_stop();
}

const Response& BodyStream::response() const { return state_->head; }

std::size_t BodyStream::buffered() const noexcept { return state_->buffered; }

Task<Bytes> BodyStream::next() {
  State* st = state_.get();
  WaiterGuard guard{st};
  while (st->chunks.empty() && !st->done) {
    WaitForStream wait{st, {}};
    co_await wait;
  }
  if (!st->chunks.empty()) co_return st->pop();
  if (st->error) {
    // Handed over, not shared: the exception may travel to another thread (a sync() caller)
    // while this state lives on. A later call reports the failure again in its own words.
    st->failed = true;
    std::rethrow_exception(std::exchange(st->error, nullptr));
  }
  if (st->failed) throw NetworkError(st->url, "the HTTP stream failed earlier");
  co_return Bytes();
}

Task<std::unique_ptr<BodyStream>> Engine::stream(Request request, TransportOptions options,
                                                 std::size_t high_water) {
  auto st = std::make_shared<State>();
  st->io = &io();
  st->url = request.url;
  st->high_water = std::max<std::size_t>(high_water, 1);
  State* raw = st.get();
  request.sink.on_data = [raw](std::string_view data) { return raw->on_data(data); };
  request.sink.on_head = [raw](long status, const Headers& headers) {
    raw->on_head(status, headers);
  };
  request.sink.gate = st->gate;
  // The root's callbacks hold the state, so the sink's raw pointer stays valid as long as the
  // transfer runs.
  Task<Response> transfer = fetch(std::move(request), std::move(options));
  st->io->spawn(
      std::move(transfer), [st](Outcome<Response> out) { st->on_done(std::move(out)); },
      st->stop.get_token(),
      [st] {
        st->on_done(Outcome<Response>(std::make_exception_ptr(
            Cancelled(st->url, "the IO thread shut down during the transfer"))));
      });
  auto out = std::make_unique<BodyStream>(st);  // from here on, dropping it cancels
  {
    WaiterGuard guard{raw};
    while (!st->head_seen && !st->done) {
      WaitForStream wait{raw, {}};
      co_await wait;
    }
  }
  if (!st->head_seen && st->error) std::rethrow_exception(std::exchange(st->error, nullptr));
  co_return out;
}

}  // namespace asyncfs::http
