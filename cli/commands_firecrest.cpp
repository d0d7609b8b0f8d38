// asyncfs firecrest systems|submit|jobs|wait|cancel|view: the FirecREST client from the shell,
// configured by the variables FirecREST tools read (FIRECREST_URL, FIRECREST_CLIENT_ID,
// FIRECREST_CLIENT_SECRET, AUTH_TOKEN_URL, FIRECREST_TOKEN_COMMAND). Results go to stdout,
// errors to stderr (one line each, never a secret), a progress bar to stderr while waiting.

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "asyncfs/backends/firecrest.hpp"
#include "asyncfs/errors.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "progress.hpp"

namespace asyncfs::cli {
namespace {

namespace fc = asyncfs::firecrest;

std::shared_ptr<fc::Client> make_client() {
  return fc::Client::create(fc::FirecrestOptions::from_config());
}

std::string json_array(const std::vector<std::string>& objects) {
  std::string out = "[";
  for (std::size_t i = 0; i < objects.size(); ++i) {
    if (i) out += ',';
    out += objects[i];
  }
  return out + "]";
}

int systems(const FirecrestArgs& args) {
  auto client = make_client();
  auto list = client->systems();
  if (args.json) {
    std::vector<std::string> objects;
    for (const auto& s : list) objects.push_back(s.json);
    fmt::print("{}\n", json_array(objects));
    return kExitOk;
  }
  for (const auto& s : list) {
    std::string fs;
    for (const auto& f : s.file_systems) fs += (fs.empty() ? "" : ",") + f.path;
    fmt::print("{}\t{}\t{}\t{}\n", s.name, s.scheduler.empty() ? "-" : s.scheduler,
               s.healthy ? "healthy" : "unhealthy", fs);
  }
  return kExitOk;
}

int submit(const FirecrestArgs& args) {
  auto client = make_client();
  fc::JobSpec job;
  job.local_script = local_path(args.script, "the job script");
  job.working_directory = args.workdir;
  for (const auto& kv : args.env) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError("--env takes K=V, got '" + one_line(kv) + "'");
    }
    job.env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (job.working_directory.empty()) {
    // The user's directory on the system's default working filesystem, as the server's own
    // transfer jobs use.
    fc::System sys = client->system(args.system);
    const std::string user = client->userinfo(args.system).user.name;
    std::string base = "/home";
    for (const auto& f : sys.file_systems) {
      if (f.default_work_dir) base = f.path;
    }
    job.working_directory = base + "/" + user;
  }
  fmt::print("{}\n", client->submit(args.system, job));
  return kExitOk;
}

int jobs(const FirecrestArgs& args) {
  auto client = make_client();
  auto list = client->jobs(args.system);
  if (args.json) {
    std::vector<std::string> objects;
    for (const auto& j : list) objects.push_back(j.json);
    fmt::print("{}\n", json_array(objects));
    return kExitOk;
  }
  for (const auto& j : list) {
    fmt::print("{}\t{}\t{}\t{}\n", j.job_id, j.status.state,
               j.status.exit_code ? std::to_string(*j.status.exit_code) : "-", one_line(j.name));
  }
  return kExitOk;
}

int wait(const FirecrestArgs& args, const GlobalArgs& global) {
  auto client = make_client();
  Progress bar(progress_wanted(global.progress) && args.job_ids.size() > 1, "waiting", "jobs");
  bar.set_total(args.job_ids.size());
  bar.start();
  std::optional<Duration> timeout;
  if (args.timeout) {
    if (*args.timeout <= 0) throw UsageError("--timeout must be positive");
    timeout = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(*args.timeout));
  }
  std::vector<fc::Job> done;
  try {
    done = sync(client->io(), client->_wait_all(args.system, args.job_ids, bar.callback()), timeout,
                client);
  } catch (...) {
    bar.finish();
    throw;
  }
  bar.finish();
  int rc = kExitOk;
  for (const auto& j : done) {
    fmt::print("{}\t{}\t{}\n", j.job_id, j.status.state,
               j.status.exit_code ? std::to_string(*j.status.exit_code) : "-");
    if (!j.succeeded()) rc = kExitFailed;
  }
  return rc;
}

int cancel(const FirecrestArgs& args) {
  auto client = make_client();
  int rc = kExitOk;
  for (const auto& id : args.job_ids) {
    try {
      client->cancel_job(args.system, id);
    } catch (const Error&) {
      report_error("firecrest://" + args.system + " job " + id, "", std::current_exception());
      rc = kExitFailed;
    }
  }
  return rc;
}

int view(const FirecrestArgs& args) {
  auto client = make_client();
  const std::string text = client->view(args.system, args.path);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return kExitOk;
}

}  // namespace

int run_firecrest(const FirecrestArgs& args, const GlobalArgs& global) {
  if (args.action == "systems") return systems(args);
  if (args.action == "submit") return submit(args);
  if (args.action == "jobs") return jobs(args);
  if (args.action == "wait") return wait(args, global);
  if (args.action == "cancel") return cancel(args);
  if (args.action == "view") return view(args);
  throw UsageError("unknown firecrest command '" + args.action + "'");
}

}  // namespace asyncfs::cli
