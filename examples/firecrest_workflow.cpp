// firecrest_workflow: pyFirecREST's async tutorial, in C++. Usage:
//
//   export FIRECREST_URL=... FIRECREST_CLIENT_ID=... FIRECREST_CLIENT_SECRET=...
//   export AUTH_TOKEN_URL=...
//   example_firecrest_workflow [SYSTEM] [SCRATCH_DIR]
//
// Lists the systems and the home directory, submits five jobs concurrently, polls each until
// it is no longer active (with a spacing between compute calls, pyFirecREST's
// time_between_calls), prints each job's output, then uploads and downloads a file larger
// than the direct-transfer limit (staged through S3). docs/firecrest.md walks through it.
//
// The concurrent part is plain coroutines on the client's IO thread: `co_await` each call,
// and gather() runs many at once.

#include <fmt/format.h>

#include <asyncfs/asyncfs.hpp>
#include <asyncfs/backends/firecrest.hpp>
#include <asyncfs/gather.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace fc = asyncfs::firecrest;
using asyncfs::Task;

namespace {

/// One job of the tutorial: submit, poll until done, read its output. Parameters by value
/// (coroutines outlive their call expression).
Task<std::string> run_job(std::shared_ptr<fc::Client> client, std::string system,
                          std::string workdir, int index) {
  fc::JobSpec job;
  job.name = fmt::format("tutorial-{}", index);
  job.working_directory = workdir;
  job.script = fmt::format("#!/bin/bash\n#SBATCH --time=00:05:00\necho job {} says hello\n", index);
  job.env = {{"TUTORIAL_INDEX", std::to_string(index)}};
  std::string id = co_await client->_submit(system, job);
  fmt::print("job {} submitted as {}\n", index, id);

  // Poll until the job leaves the active states. Every compute call is spaced by the client
  // (time_between_calls), however many of these loops run at once.
  // (Arguments in named locals: g++ 12 mishandles braced temporaries inside co_await.)
  const std::vector<std::string> ids{id};
  for (;;) {
    std::vector<fc::Job> active = co_await client->_poll_active(system, ids);
    if (active.empty()) break;
    co_await asyncfs::sleep_for(client->io(), std::chrono::milliseconds(200));
  }
  fc::Job done = co_await client->_job_info(system, id);
  fc::JobMetadata meta = co_await client->_job_metadata(system, id);
  std::string out = co_await client->_view(system, meta.standard_output);
  co_return fmt::format("job {} ({}): {} exit {}\n{}", index, id, done.status.state,
                        done.status.exit_code.value_or(-1), out);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string system = argc > 1 ? argv[1] : "daint";
  const std::string scratch = argc > 2 ? argv[2] : "/tmp";
  try {
    fc::FirecrestOptions options = fc::FirecrestOptions::from_env();
    // At most one compute call every 0.1 s (off by default: pacing serialises async work).
    options.time_between_calls = {{"compute", std::chrono::milliseconds(100)}};
    auto client = fc::Client::create(options);

    // 1. Systems and the home directory.
    for (const auto& s : client->systems()) {
      fmt::print("system {} ({}; max_ops_file_size {} bytes)\n", s.name, s.scheduler,
                 s.max_ops_file_size);
    }
    const fc::UserInfo me = client->userinfo(system);
    const std::string home = "/home/" + me.user.name;
    for (const auto& f : client->list_files(system, home)) {
      fmt::print("  {} {:>10} {}\n", f.type, f.size, f.name);
    }

    // 2. Five jobs at once, each polled until done, their outputs printed in order.
    asyncfs::GatherOptions window;
    window.batch_size = 5;
    auto make = [&](std::size_t i) { return run_job(client, system, home, static_cast<int>(i)); };
    auto outputs = asyncfs::sync(client->io(), asyncfs::gather<std::string>(5, make, window));
    int failed = 0;
    for (auto& o : outputs) {
      if (o.has_error()) {
        ++failed;
        try {
          std::rethrow_exception(o.error());
        } catch (const std::exception& e) {
          fmt::print(stderr, "job failed: {}\n", e.what());
        }
      } else {
        fmt::print("{}", o.value());
      }
    }

    // 3. A file larger than the direct limit goes through the S3 staging area both ways.
    const std::uint64_t big = 2 * client->system(system).max_ops_file_size;
    const std::string local = scratch + "/firecrest-tutorial.bin";
    {
      std::ofstream out(local, std::ios::binary);
      for (std::uint64_t i = 0; i < big; ++i) out.put(static_cast<char>('a' + i % 26));
    }
    client->upload(system, local, home + "/tutorial.bin");
    fmt::print("uploaded {} bytes (staged)\n", big);
    fc::Transfer t = client->start_download(system, home + "/tutorial.bin");
    fmt::print("download job {}: {}\n", t.job().job_id, t.status());
    t.finish(local + ".back");
    std::ifstream a(local, std::ios::binary), b(local + ".back", std::ios::binary);
    const std::string x((std::istreambuf_iterator<char>(a)), {});
    const std::string y((std::istreambuf_iterator<char>(b)), {});
    fmt::print("downloaded {} bytes, {}\n", y.size(), x == y ? "identical" : "DIFFERENT");
    std::remove(local.c_str());
    std::remove((local + ".back").c_str());
    return failed == 0 && x == y ? 0 : 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "firecrest_workflow: {}\n", e.what());
    return 1;
  }
}
