#include "asyncfs/io_thread.hpp"

#include <pthread.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <exception>

#include "asyncfs/errors.hpp"

namespace asyncfs {

struct IoThread::Impl {
  uv_loop_t own_loop{};
  uv_async_t wake{};
  uv_timer_t grace_timer{};
  // After a burst of jobs the loop keeps polling without sleeping for a short while, so a
  // caller's next job is picked up without the cost of waking a sleeping thread.
  uv_idle_t hot{};
  std::uint64_t last_job_ns = 0;

  std::mutex mutex;  // guards queue, closed, shutdown_requested
  std::vector<Job> queue;
  bool closed = false;              // handles closing: post() refuses
  bool shutdown_requested = false;  // set by shutdown(), acted on by the loop
  Duration grace{};

  std::atomic<bool> running{true};
  std::thread thread;
  std::thread::id loop_thread_id;

  // Loop thread only.
  RootNode roots;  // sentinel of the circular list of live roots
  std::atomic<std::size_t> root_count{0};
  bool shutting_down = false;
  bool grace_started = false;
  bool handles_closed = false;

  std::mutex join_mutex;  // two threads calling shutdown() at once join only once

  // Loop thread only; destroyed in reverse order of creation during shutdown.
  std::vector<std::pair<const void*, std::unique_ptr<Service>>> services;
};

namespace {

void close_handle(uv_handle_t* h, void*) {
  if (!uv_is_closing(h)) uv_close(h, nullptr);
}

/// Roots abandoned at shutdown are parked here, never resumed and never freed: a pending
/// request might still complete into their frames. Keeping them reachable also tells leak
/// checkers that this is deliberate.
std::vector<void*>& parked_roots() {
  static auto* parked = new std::vector<void*>();
  return *parked;
}

}  // namespace

IoThread::IoThread(std::string name) : impl_(std::make_unique<Impl>()), pid_(getpid()) {
  impl_->roots.prev = impl_->roots.next = &impl_->roots;
  loop_ = &impl_->own_loop;
  if (int rc = uv_loop_init(loop_); rc != 0) throw_uv_error(rc, "", "uv_loop_init");
  init_handles();
  start_owned(std::move(name));
}

IoThread::IoThread(AdoptTag, uv_loop_t* loop)
    : impl_(std::make_unique<Impl>()), loop_(loop), owns_loop_(false), pid_(getpid()) {
  impl_->roots.prev = impl_->roots.next = &impl_->roots;
  impl_->loop_thread_id = std::this_thread::get_id();
  init_handles();
  // Our wake-up handle must not keep the caller's loop alive on its own.
  uv_unref(reinterpret_cast<uv_handle_t*>(&impl_->wake));
}

void IoThread::init_handles() {
  impl_->wake.data = this;
  if (int rc = uv_async_init(loop_, &impl_->wake, [](uv_async_t* h) { on_async(h->data); });
      rc != 0) {
    throw_uv_error(rc, "", "uv_async_init");
  }
  uv_timer_init(loop_, &impl_->grace_timer);
  impl_->grace_timer.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&impl_->grace_timer));
  uv_idle_init(loop_, &impl_->hot);
  impl_->hot.data = impl_.get();
  uv_unref(reinterpret_cast<uv_handle_t*>(&impl_->hot));
}

namespace {
constexpr std::uint64_t kHotPollNs = 50'000;
}

void IoThread::start_owned(std::string name) {
  impl_->thread = std::thread([this, name = std::move(name)] {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    uv_run(loop_, UV_RUN_DEFAULT);
    // Every handle is closed now; run once more so close callbacks finish, then close.
    while (uv_loop_close(loop_) == UV_EBUSY) {
      uv_walk(loop_, close_handle, nullptr);
      uv_run(loop_, UV_RUN_ONCE);
    }
  });
  impl_->loop_thread_id = impl_->thread.get_id();
}

IoThread::~IoThread() {
  if (getpid() != pid_) {
    // A fork()ed child inherited this object but not its thread: never touch the loop.
    (void)impl_.release();
    return;
  }
  try {
    shutdown();
  } catch (const std::exception& e) {
    // Only an adopted loop that was never shut down, dropped on another thread, gets here:
    // its handles live in the application's loop, which this thread must not drive. Leave
    // them (and this state) alone; a destructor that throws would terminate the process.
    std::fprintf(stderr, "asyncfs: %s; the IO state is leaked\n", e.what());
    (void)impl_.release();
  }
}

void IoThread::post(Job job) {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->closed) throw Cancelled("", "the IO thread is shut down");
    impl_->queue.push_back(std::move(job));
    // Under the lock: the loop closes the handle only after setting `closed` under it too.
    uv_async_send(&impl_->wake);
  }
}

bool IoThread::in_loop_thread() const noexcept {
  return std::this_thread::get_id() == impl_->loop_thread_id;
}

bool IoThread::running() const noexcept { return impl_->running.load(std::memory_order_acquire); }

std::size_t IoThread::active_roots() const noexcept {
  return impl_->root_count.load(std::memory_order_acquire);
}

void IoThread::link_root(RootNode* node) noexcept {
  RootNode& head = impl_->roots;
  node->prev = head.prev;
  node->next = &head;
  head.prev->next = node;
  head.prev = node;
  impl_->root_count.fetch_add(1, std::memory_order_acq_rel);
  // A root started while shutting down is cancelled at once.
  if (impl_->shutting_down) node->stop.request_stop();
}

void IoThread::unlink_root(RootNode* node) noexcept {
  if (node->next == node) return;  // abandoned at shutdown: already off the list
  node->prev->next = node->next;
  node->next->prev = node->prev;
  node->prev = node->next = nullptr;
  if (impl_->root_count.fetch_sub(1, std::memory_order_acq_rel) == 1 && impl_->shutting_down &&
      !impl_->handles_closed) {
    // The last root finished: close now instead of waiting for the grace timer. Through the
    // wake-up handle because the root's frame is still on the stack here.
    uv_async_send(&impl_->wake);
  }
}

IoThread::Service* IoThread::find_service(const void* key) noexcept {
  for (auto& [k, s] : impl_->services) {
    if (k == key) return s.get();
  }
  return nullptr;
}

IoThread::Service& IoThread::add_service(const void* key, std::unique_ptr<Service> service) {
  if (impl_->handles_closed) throw Cancelled("", "the IO thread is shut down");
  impl_->services.emplace_back(key, std::move(service));
  return *impl_->services.back().second;
}

void IoThread::drain_jobs() {
  std::vector<Job> jobs;
  {
    std::lock_guard lock(impl_->mutex);
    jobs.swap(impl_->queue);
  }
  for (auto& job : jobs) {
    try {
      job();
    } catch (const std::exception& e) {
      // Jobs are the library's own; one that throws is a bug, but the loop must survive it.
      std::fprintf(stderr, "asyncfs: uncaught exception in IO job: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "asyncfs: uncaught exception in IO job\n");
    }
  }
}

void IoThread::on_async(void* self_ptr) {
  auto* self = static_cast<IoThread*>(self_ptr);
  Impl& im = *self->impl_;
  self->drain_jobs();
  im.last_job_ns = uv_hrtime();
  if (!im.handles_closed && !uv_is_active(reinterpret_cast<uv_handle_t*>(&im.hot))) {
    uv_idle_start(&im.hot, [](uv_idle_t* h) {
      auto* i = static_cast<Impl*>(h->data);
      if (uv_hrtime() - i->last_job_ns > kHotPollNs) uv_idle_stop(h);
    });
  }
  bool requested;
  {
    std::lock_guard lock(im.mutex);
    requested = im.shutdown_requested;
  }
  if (requested && !im.shutting_down) self->begin_shutdown_on_loop();
  if (im.shutting_down && !im.handles_closed && im.root_count.load() == 0) {
    im.handles_closed = true;
    {
      std::lock_guard lock(im.mutex);
      im.closed = true;
    }
    self->drain_jobs();  // jobs that raced in before `closed`: run them (they only wind down)
    while (!im.services.empty()) im.services.pop_back();
    uv_close(reinterpret_cast<uv_handle_t*>(&im.grace_timer), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&im.hot), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&im.wake), nullptr);
    if (self->owns_loop_) uv_walk(self->loop_, close_handle, nullptr);
  }
}

void IoThread::begin_shutdown_on_loop() {
  Impl& im = *impl_;
  im.shutting_down = true;
  im.running.store(false, std::memory_order_release);
  // Cancel every root. Their leaf awaitables post their wake-ups, so they finish on later
  // iterations; the grace timer bounds the wait.
  for (RootNode* n = im.roots.next; n != &im.roots; n = n->next) n->stop.request_stop();
  uv_ref(reinterpret_cast<uv_handle_t*>(&im.grace_timer));
  uv_timer_start(
      &im.grace_timer,
      [](uv_timer_t* t) {
        auto* self = static_cast<IoThread*>(t->data);
        Impl& i = *self->impl_;
        // Roots that ignored cancellation are abandoned: their waiters get an error, their
        // frames are leaked rather than resumed on a dead loop.
        for (RootNode* n = i.roots.next; n != &i.roots;) {
          RootNode* next = n->next;
          if (n->abandon) n->abandon();
          parked_roots().push_back(n->frame);
          parked_roots().push_back(n);
          n->prev = n->next = n;  // marks it abandoned for unlink_root()
          n = next;
        }
        i.roots.prev = i.roots.next = &i.roots;
        i.root_count.store(0);
        on_async(self);
      },
      static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(im.grace).count()),
      0);
  if (im.root_count.load() == 0) uv_async_send(&im.wake);
}

void IoThread::shutdown(Duration grace) {
  if (!impl_ || getpid() != pid_) return;
  Impl& im = *impl_;
  if (!owns_loop_) {
    {
      // Shut down already (on the loop's thread, as documented): nothing is left to do, from
      // any thread; the last owner may well drop it elsewhere.
      std::lock_guard lock(im.mutex);
      if (im.closed) return;
    }
    if (!in_loop_thread()) {
      throw InvalidArgument("", "shutdown() of an adopted loop must run on the loop's thread");
    }
    {
      std::lock_guard lock(im.mutex);
      if (im.handles_closed) return;
      im.shutdown_requested = true;
      im.grace = grace;
    }
    // The caller's loop is not running now (we are outside uv_run, as documented): drive it
    // until our roots are gone and our handles are closed.
    on_async(this);
    while (!im.handles_closed) uv_run(loop_, UV_RUN_ONCE);
    uv_run(loop_, UV_RUN_NOWAIT);  // close callbacks
    return;
  }
  if (in_loop_thread()) {
    throw InvalidArgument("", "shutdown() called on the IO thread itself; it would join itself");
  }
  {
    std::lock_guard lock(im.mutex);
    if (!im.shutdown_requested) {
      im.shutdown_requested = true;
      im.grace = grace;
    }
    // Once closed, the wake-up handle is gone; a second shutdown() only joins.
    if (!im.closed) uv_async_send(&im.wake);
  }
  std::lock_guard join_lock(im.join_mutex);
  if (im.thread.joinable()) im.thread.join();
}

// --- default IoThread and fork ----------------------------------------------------------------

namespace {

struct DefaultIo {
  std::mutex* mutex = new std::mutex();
  std::shared_ptr<IoThread> io;
};

DefaultIo& default_io() {
  static DefaultIo* d = new DefaultIo();  // leaked on purpose: alive during static destruction
  return *d;
}

void after_fork_in_child() {
  DefaultIo& d = default_io();
  // The parent's thread does not exist here and its mutex may have been held at fork time:
  // leak both and start over lazily.
  d.mutex = new std::mutex();
  new std::shared_ptr<IoThread>(std::move(d.io));
  d.io.reset();
}

void shutdown_default_at_exit() { shutdown_default_io_thread(); }

}  // namespace

std::shared_ptr<IoThread> default_io_thread() {
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork(nullptr, nullptr, after_fork_in_child);
    std::atexit(shutdown_default_at_exit);
  });
  DefaultIo& d = default_io();
  std::lock_guard lock(*d.mutex);
  if (!d.io || !d.io->running()) d.io = std::make_shared<IoThread>("asyncfs-io");
  return d.io;
}

void shutdown_default_io_thread() {
  DefaultIo& d = default_io();
  std::shared_ptr<IoThread> io;
  {
    std::lock_guard lock(*d.mutex);
    io = std::move(d.io);
    d.io.reset();
  }
  if (io && !io->in_loop_thread()) io->shutdown();
}

// --- sleep ------------------------------------------------------------------------------------

struct SleepState : std::enable_shared_from_this<SleepState> {
  struct OnStop {
    IoThread* io;
    std::weak_ptr<SleepState> state;
    void operator()() const noexcept;
  };
  IoThread* io = nullptr;
  uv_timer_t timer{};
  std::coroutine_handle<> waiter;
  bool done = false;
  bool cancelled = false;
  std::shared_ptr<SleepState> self;  // keeps the timer memory alive until its close callback
  std::optional<std::stop_callback<OnStop>> on_stop;

  void finish(bool by_cancel) {
    if (done) return;
    done = true;
    cancelled = by_cancel;
    uv_timer_stop(&timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer),
             [](uv_handle_t* h) { static_cast<SleepState*>(h->data)->self.reset(); });
    waiter.resume();
  }
};

void SleepState::OnStop::operator()() const noexcept {
  try {
    io->post([state = state] {
      if (auto s = state.lock()) s->finish(true);
    });
  } catch (...) {
    // The loop is already closing; the timer's own close ends the wait.
  }
}

void SleepAwaiter::start(std::coroutine_handle<> h, std::stop_token stop) {
  state_ = std::make_shared<SleepState>();
  SleepState& s = *state_;
  s.io = &io_;
  s.waiter = h;
  s.self = state_;
  uv_timer_init(io_.loop(), &s.timer);
  s.timer.data = &s;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d_).count();
  uv_timer_start(
      &s.timer, [](uv_timer_t* t) { static_cast<SleepState*>(t->data)->finish(false); },
      static_cast<uint64_t>(ms < 1 ? 1 : ms), 0);
  if (stop.stop_possible()) s.on_stop.emplace(std::move(stop), SleepState::OnStop{&io_, state_});
}

void SleepAwaiter::await_resume() {
  if (!state_) return;
  state_->on_stop.reset();
  if (state_->cancelled) throw Cancelled("", "sleep cancelled");
}

}  // namespace asyncfs
