// firecrest::Client: the compute API (submit, list, poll, wait, cancel) and the job-backed
// filesystem operations (mv, cp, and the wait that every transfer job ends with).

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "asyncfs/errors.hpp"
#include "asyncfs/path.hpp"
#include "backends/firecrest/client_impl.hpp"
#include "core/fs/uv_fs.hpp"
#include "core/http/status.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"

namespace asyncfs::firecrest {
namespace {

using std::chrono::milliseconds;

/// Jobs this client submitted are remembered for the not-found grace only.
constexpr std::size_t kMaxRemembered = 1 << 16;

Call compute_call(const std::string& system, std::string suffix, std::string op) {
  Call c;
  c.path = "/compute/" + check_system(system) + "/jobs" + suffix;
  c.service = "compute";
  c.what = display(system, "");
  c.op = std::move(op);
  return c;
}

std::string job_what(const std::string& system, const std::string& id) {
  return display(system, "") + " job " + path::escape_for_message(id);
}

milliseconds next_interval(milliseconds current, milliseconds cap) {
  return std::min(cap, current * 2);
}

}  // namespace

Task<std::string> Client::_submit(std::string system, JobSpec job) {
  Call c = compute_call(system, "", "submit");
  if (job.working_directory.empty()) {
    throw InvalidArgument(c.what, "submit needs a working directory");
  }
  check_path(system, job.working_directory);
  const int sources = !job.script.empty() + !job.local_script.empty() + !job.script_path.empty();
  if (sources != 1) {
    throw InvalidArgument(c.what, "give exactly one of script, local_script and script_path");
  }
  if (!job.local_script.empty()) {
    job.script = co_await uvfs::read_file(io().loop(), job.local_script, 16u << 20);
    if (job.script.empty()) throw InvalidArgument(job.local_script, "the job script is empty");
  }
  if (!job.script_path.empty()) check_path(system, job.script_path);
  json::Writer w;
  w.begin_object().key("job").begin_object();
  if (!job.script.empty()) w.field("script", job.script);
  if (!job.script_path.empty()) w.field("scriptPath", job.script_path);
  w.field("workingDirectory", job.working_directory);
  if (!job.env.empty()) {
    w.key("env").begin_object();
    for (const auto& [k, v] : job.env) w.field(k, v);
    w.end_object();
  }
  auto opt = [&w](std::string_view key, const std::string& v) {
    if (!v.empty()) w.field(key, v);
  };
  opt("name", job.name);
  opt("account", job.account);
  opt("partition", job.partition);
  opt("reservation", job.reservation);
  opt("constraints", job.constraints);
  opt("standardInput", job.standard_input);
  opt("standardOutput", job.standard_output);
  opt("standardError", job.standard_error);
  w.end_object().end_object();
  c.method = "POST";
  c.idempotent = false;  // a repeated submit is a second job
  c.json = w.take();
  const std::string what = c.what + " (submit)";
  http::Response r = co_await impl_->send(std::move(c));
  model::Reader rd{what};
  std::string id = model::submitted_id(rd, impl_->parse(r, what));
  auto& remembered = impl_->submitted;
  if (remembered.size() >= kMaxRemembered) {
    const auto horizon = Clock::now() - impl_->opts.job_not_found_grace;
    std::erase_if(remembered, [horizon](const auto& kv) { return kv.second < horizon; });
  }
  if (remembered.size() < kMaxRemembered) remembered[id] = Clock::now();
  co_return id;
}

Task<std::vector<Job>> Client::_jobs(std::string system, bool all_users) {
  Call c = compute_call(system, "", "jobs");
  if (all_users) c.query = {{"allusers", "true"}};
  return impl_->fetch(std::move(c), &model::jobs);
}

Task<Job> Client::_job_info(std::string system, std::string job_id) {
  check_job_id(system, job_id);
  Call c = compute_call(system, "/" + job_id, "job_info");
  c.what = job_what(system, job_id);
  const std::string what = c.what;
  http::Response r = co_await impl_->send(std::move(c));
  model::Reader rd{what};
  std::vector<Job> list = model::jobs(rd, impl_->parse(r, what));
  for (auto& j : list) {
    if (j.job_id == job_id) co_return std::move(j);
  }
  if (list.size() == 1) co_return std::move(list[0]);  // an array job's parent id, say
  throw NotFound(what, "job_info failed: job not in the response");
}

Task<JobMetadata> Client::_job_metadata(std::string system, std::string job_id) {
  check_job_id(system, job_id);
  Call c = compute_call(system, "/" + job_id + "/metadata", "job_metadata");
  c.what = job_what(system, job_id);
  return impl_->fetch(std::move(c), &model::job_metadata);
}

Task<void> Client::_cancel_job(std::string system, std::string job_id) {
  check_job_id(system, job_id);
  Call c = compute_call(system, "/" + job_id, "cancel");
  c.method = "DELETE";
  c.what = job_what(system, job_id);
  co_await impl_->send(std::move(c));
}

Task<std::map<std::string, Job>> poll_jobs(Client::Impl* impl, std::string system,
                                           std::vector<std::string> job_ids, bool keep_json) {
  for (const auto& id : job_ids) check_job_id(system, id);
  Call c = compute_call(system, "", "poll");
  const std::string what = c.what + " (poll)";
  http::Response r = co_await impl->send(std::move(c));
  // One request for every id: the list is filtered here, and only the jobs asked for are
  // converted (a user with 10,000 jobs polls a few without building 10,000 records).
  std::unordered_set<std::string_view> wanted(job_ids.begin(), job_ids.end());
  model::Reader rd{what};
  std::map<std::string, Job> out;
  if (keep_json) {
    simdjson::dom::element doc = impl->parse(r, what);
    simdjson::dom::object o = rd.as_object(doc, "response");
    auto list = model::field(o, {"jobs"});
    if (!list) co_return out;
    simdjson::dom::array arr;
    if (list->get_array().get(arr) != simdjson::SUCCESS) rd.fail("jobs", "is not an array");
    for (simdjson::dom::element e : arr) {
      simdjson::dom::object jo = rd.as_object(e, "jobs[]");
      const std::string id = rd.id(jo, {"jobId", "job_id", "jobid"});
      if (wanted.contains(id)) out.emplace(id, model::job(rd, e, true));
    }
    co_return out;
  }
  out = model::wanted_jobs(rd, r.body, wanted, impl->stream_parser);
  co_return out;
}

Task<std::map<std::string, Job>> Client::_poll(std::string system,
                                               std::vector<std::string> job_ids) {
  return poll_jobs(impl_.get(), std::move(system), std::move(job_ids), /*keep_json=*/true);
}

Task<std::vector<Job>> Client::_poll_active(std::string system, std::vector<std::string> job_ids) {
  std::map<std::string, Job> seen = co_await poll_jobs(impl_.get(), system, job_ids, false);
  std::vector<Job> active;
  const auto now = Clock::now();
  for (const auto& id : job_ids) {
    auto it = seen.find(id);
    if (it != seen.end()) {
      if (it->second.active()) active.push_back(std::move(it->second));
      continue;
    }
    auto sub = impl_->submitted.find(id);
    if (sub != impl_->submitted.end() && now - sub->second < impl_->opts.job_not_found_grace) {
      Job pending;  // submitted moments ago: the scheduler does not list it yet
      pending.job_id = id;
      pending.status.state = "PENDING";
      pending.status.state_reason = "not listed by the scheduler yet";
      active.push_back(std::move(pending));
    }
  }
  co_return active;
}

namespace {

/// How a wait polls: the first interval, its growth per poll, the cap.
struct PollSchedule {
  milliseconds first;
  double growth;
  milliseconds cap;
};

/// Polls the job until it ends (or `timeout` passes: then it is cancelled and Timeout thrown).
Task<Job> poll_until_done(std::shared_ptr<Client> client, std::string system, std::string job_id,
                          std::optional<milliseconds> timeout, PollSchedule schedule) {
  check_job_id(system, job_id);
  const auto start = Clock::now();
  const milliseconds grace = client->options().job_not_found_grace;
  milliseconds interval = schedule.first;
  for (;;) {
    std::optional<Job> job;
    bool missing = false;
    try {
      job = co_await client->_job_info(system, job_id);
    } catch (const NotFound&) {
      // A fresh job may be unknown to the scheduler for a few seconds.
      if (Clock::now() - start >= grace) throw;
      missing = true;
    }
    if (!missing && !job->active()) {
      log::info("firecrest", "job {} on {} ended ({}) after {:.1f} s", job_id, system,
                job->status.state, std::chrono::duration<double>(Clock::now() - start).count());
      co_return std::move(*job);
    }
    log::debug("firecrest", "job {} on {} {}; polling again in {} ms", job_id, system,
               missing ? "not listed yet" : job->status.state, interval.count());
    if (timeout && Clock::now() + interval - start >= *timeout) {
      try {
        co_await client->_cancel_job(system, job_id);
      } catch (const Error&) {
        // Cancelling is a courtesy; the timeout is what the caller must hear about.
      }
      throw Timeout(job_what(system, job_id), "job still active after the wait's timeout");
    }
    co_await sleep_for(client->io(), interval);
    const auto grown = milliseconds(static_cast<milliseconds::rep>(
        static_cast<double>(interval.count()) * schedule.growth + 1));
    interval = std::min(schedule.cap, grown);
  }
}

}  // namespace

Task<Job> Client::_wait(std::string system, std::string job_id,
                        std::optional<std::chrono::milliseconds> timeout) {
  const FirecrestOptions& o = impl_->opts;
  return poll_until_done(shared_from_this(), std::move(system), std::move(job_id), timeout,
                         PollSchedule{o.poll_interval, 2.0, o.poll_max_interval});
}

Task<std::vector<Job>> Client::_wait_all(std::string system, std::vector<std::string> job_ids,
                                         Callback* progress) {
  for (const auto& id : job_ids) check_job_id(system, id);
  if (progress) progress->set_size(job_ids.size());
  std::unordered_map<std::string, Job> done;
  std::vector<std::string> pending = job_ids;
  const auto start = Clock::now();
  milliseconds interval = impl_->opts.poll_interval;
  while (!pending.empty()) {
    std::map<std::string, Job> seen = co_await poll_jobs(impl_.get(), system, pending, false);
    std::vector<std::string> still;
    for (auto& id : pending) {
      auto it = seen.find(id);
      if (it == seen.end()) {
        if (Clock::now() - start >= impl_->opts.job_not_found_grace) {
          throw NotFound(job_what(system, id), "wait failed: the scheduler does not list the job");
        }
        still.push_back(std::move(id));
      } else if (it->second.active()) {
        still.push_back(std::move(id));
      } else {
        done.emplace(id, std::move(it->second));
        if (progress) progress->relative_update(1);
      }
    }
    pending = std::move(still);
    if (pending.empty()) break;
    co_await sleep_for(io(), interval);
    interval = next_interval(interval, impl_->opts.poll_max_interval);
  }
  std::vector<Job> out;
  out.reserve(job_ids.size());
  for (const auto& id : job_ids) out.push_back(done.at(id));
  co_return out;
}

// --- job-backed filesystem operations -------------------------------------------------------

Task<void> wait_transfer_job(std::shared_ptr<Client> client, std::string system, TransferJob job,
                             std::string what, std::string op) {
  // The caller waits on this job (a transfer: usually seconds): poll soon and often at first,
  // so a job that ends quickly is seen quickly, then back off as for any job.
  const FirecrestOptions& o = client->options();
  const PollSchedule schedule{std::min(o.poll_interval, milliseconds(50)), 1.25,
                              o.poll_max_interval};
  Job final = co_await poll_until_done(client, system, job.job_id, std::nullopt, schedule);
  std::string log;
  bool ran = true;
  try {
    log = co_await client->_view(system, job.output_log);
  } catch (const NotFound&) {
    ran = false;  // no output log: the job was cancelled before it started
  }
  static constexpr std::string_view kSuccess[] = {"Files were successfully",
                                                  "File was successfully",
                                                  "Multipart file upload successfully completed"};
  for (auto s : kSuccess) {
    if (log.find(s) != std::string::npos) co_return;
  }
  std::string reason;
  try {
    reason = co_await client->_view(system, job.error_log);
  } catch (const Error&) {
  }
  while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
  if (reason.size() > 500) reason = reason.substr(reason.size() - 500);
  ErrorDetails d{0, reason.empty() ? "job state " + final.status.state : reason};
  const std::string message = op + " failed: transfer job " + job.job_id +
                              (ran ? " did not succeed" : " was cancelled before it ran");
  if (reason.find("No such file or directory") != std::string::npos) {
    throw NotFound(what, message, d);
  }
  if (reason.find("Permission denied") != std::string::npos ||
      reason.find("Operation not permitted") != std::string::npos) {
    throw PermissionDenied(what, message, d);
  }
  if (reason.find("File exists") != std::string::npos) throw AlreadyExists(what, message, d);
  if (reason.find("Is a directory") != std::string::npos) throw IsADirectory(what, message, d);
  throw IoError(what, message, d);
}

namespace {

Task<TransferJob> job_op(std::shared_ptr<Client> self, Client::Impl* impl, std::string system,
                         std::string source, std::string target, std::string op, bool blocking) {
  check_path(system, source);
  check_path(system, target);
  Call c;
  c.method = "POST";
  c.path = "/filesystem/" + check_system(system) + "/transfer/" + op;
  c.service = "transfer";
  c.idempotent = false;
  c.what = display(system, source);
  c.op = op;
  json::Writer w;
  w.begin_object().field("sourcePath", source).field("targetPath", target);
  if (op == "cp") w.field("dereference", false);
  if (!impl->opts.account.empty()) w.field("account", impl->opts.account);
  w.end_object();
  c.json = w.take();
  const std::string what = c.what;
  http::Response r = co_await impl->send(std::move(c));
  model::Reader rd{what + " (transfer/" + op + ")"};
  TransferJob tj = model::transfer_job(rd, impl->parse(r, rd.what));
  if (blocking) co_await wait_transfer_job(self, system, tj, what, op);
  co_return tj;
}

}  // namespace

Task<TransferJob> Client::_mv(std::string system, std::string source, std::string target,
                              bool blocking) {
  return job_op(shared_from_this(), impl_.get(), std::move(system), std::move(source),
                std::move(target), "mv", blocking);
}

Task<TransferJob> Client::_cp(std::string system, std::string source, std::string target,
                              bool blocking) {
  return job_op(shared_from_this(), impl_.get(), std::move(system), std::move(source),
                std::move(target), "cp", blocking);
}

}  // namespace asyncfs::firecrest
