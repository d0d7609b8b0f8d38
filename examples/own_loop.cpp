// own_loop: asyncfs on a libuv loop the application owns, walked through in docs/runtime.md.
// Usage: example_own_loop
//
// The main thread owns a uv_loop_t and runs it. asyncfs adopts that loop (IoThread::AdoptTag):
// the application's coroutine awaits asyncfs coroutines on it, while a worker thread makes
// blocking calls into the same filesystem. Then everything is torn down in the one order that
// is safe. Every result is checked: the program exits 1 on a wrong one.

#include <fmt/format.h>
#include <uv.h>

#include <asyncfs/asyncfs.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;

int failures = 0;

void check(bool ok, std::string_view what) {
  fmt::print("{}  {}\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

// [app coroutine] The application's own coroutine, run on the adopted loop. Parameters by
// value (the task is lazy), every co_await into a named local (g++ 12 rules).
asyncfs::Task<std::string> build_report(std::shared_ptr<asyncfs::AsyncFileSystem> fs) {
  co_await fs->_pipe_file("/app/in/a.txt", "alpha", asyncfs::WriteMode::kOverwrite);
  co_await fs->_pipe_file("/app/in/b.txt", "beta", asyncfs::WriteMode::kOverwrite);
  // A real suspension: the loop goes on serving the worker's blocking calls meanwhile.
  co_await asyncfs::sleep_for(fs->io(), 20ms);
  asyncfs::Paths pattern("/app/in/*.txt");
  asyncfs::CatOptions opts;
  auto texts = co_await fs->_cat(std::move(pattern), opts);
  std::string report;
  for (const auto& [path, bytes] : texts.items) report += path + "=" + bytes.value() + ";";
  co_return report;
}

}  // namespace

int main() {
  // [loop] The application's loop, on the application's thread (here: main).
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::shared_ptr<asyncfs::IoThread> io;
  std::shared_ptr<asyncfs::AsyncFileSystem> fs;
  try {
    // [adopt] Constructed on the loop's thread. Its wake-up handle is unreferenced: asyncfs
    // alone never keeps the loop alive, so a loop with nothing else returns at once.
    io = std::make_shared<asyncfs::IoThread>(asyncfs::IoThread::AdoptTag{}, &loop);
    check(uv_run(&loop, UV_RUN_DEFAULT) == 0, "an adopted loop alone returns from uv_run");

    // skip_instance_cache: the registry's cache would otherwise hold this filesystem, and
    // with it the IoThread, after the loop is gone (see [teardown]).
    fs = asyncfs::filesystem("memory", {{"skip_instance_cache", "true"}}, io);

    // [keep alive] The application's own referenced handle keeps uv_run going while another
    // thread may still post blocking calls. Closing it is how the application says "done".
    uv_async_t keep_alive;
    uv_async_init(&loop, &keep_alive,
                  [](uv_async_t* h) { uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr); });

    // [await] Start the application's coroutine as a root. spawn() must run on the loop thread
    // (from another thread: io->post(...) a job that calls it); `done` runs on the loop when
    // the task ends, with its value or its exception.
    asyncfs::Outcome<std::string> report;
    io->spawn(build_report(fs),
              [&report](asyncfs::Outcome<std::string> out) { report = std::move(out); });

    // [blocking] A worker thread uses the blocking twins: each is a sync() that posts a job to
    // the loop and waits for it.
    std::string worker_read;
    std::exception_ptr worker_error;
    std::thread worker([&] {
      try {
        fs->pipe_file("/app/worker.txt", "from the worker");
        worker_read = fs->cat_file("/app/worker.txt", 5, 11);
      } catch (...) {
        worker_error = std::current_exception();
      }
      uv_async_send(&keep_alive);  // the application's signal: its loop may end
    });

    // Returns when keep_alive is closed and asyncfs' timer (the coroutine's sleep) is done.
    uv_run(&loop, UV_RUN_DEFAULT);
    worker.join();

    check(!worker_error, "the worker's blocking calls succeeded");
    check(worker_read == "the wo", "the worker read its range back");
    check(report.has_value() && report.value() == "/app/in/a.txt=alpha;/app/in/b.txt=beta;",
          "the coroutine's report");

    // The loop's thread never makes blocking calls, not even outside uv_run: nobody would run
    // the loop while it waits. sync() refuses instead of deadlocking.
    try {
      fs->ls("/app");
      check(false, "a blocking call on the loop thread throws");
    } catch (const asyncfs::InvalidArgument&) {
      check(true, "a blocking call on the loop thread throws");
    }

    // A cached instance (no skip_instance_cache), to show what the cache keeps at teardown.
    auto cached = asyncfs::filesystem("memory", {}, io);
    check(cached->io_ptr() == io, "a cached instance on the adopted loop");
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    ++failures;
  }

  // [teardown] 1. shutdown() on the loop's thread, outside uv_run, before the loop is closed:
  // it cancels what is still running and closes asyncfs' handles, driving the loop itself.
  std::weak_ptr<asyncfs::IoThread> watch = io;
  if (io) io->shutdown();
  check(io && !io->running(), "the adopted IoThread is shut down");

  // 2. From here on every reference is inert and may be dropped on any thread, in any order;
  // blocking calls throw Cancelled instead of posting to a loop that no longer serves them.
  std::thread late_user([fs] {
    try {
      fs->ls("/app");
      check(false, "a blocking call after shutdown throws Cancelled");
    } catch (const asyncfs::Cancelled&) {
      check(true, "a blocking call after shutdown throws Cancelled");
    }
  });
  late_user.join();
  fs.reset();
  io.reset();

  // 3. The loop is the application's: it runs the close callbacks and closes it.
  uv_run(&loop, UV_RUN_DEFAULT);
  check(uv_loop_close(&loop) == 0, "the application closes its loop");

  // 4. The instance cache outlived the loop: it still holds the cached filesystem and so the
  // IoThread (its key names that IoThread, so no later call replaces it). Harmless after
  // step 1: the destructor has nothing left to do. clear_instance_cache() lets it go.
  check(!watch.expired(), "the instance cache still holds the IoThread");
  asyncfs::clear_instance_cache();
  check(watch.expired(), "clear_instance_cache() dropped it");

  if (failures) {
    fmt::print(stderr, "{} check(s) failed\n", failures);
    return 1;
  }
  fmt::print("all checks passed\n");
  return 0;
}
