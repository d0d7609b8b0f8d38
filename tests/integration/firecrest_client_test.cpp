// firecrest::Client against the FirecREST emulator (tests/support/firecrest_emulator.py) on
// real sockets: auth (single flight, refresh, 401 retry), rate control (429 storms, spacing
// measured from the emulator's request log), jobs (submit, poll_active, wait, failure,
// cancel), direct and staged transfers, response variants of older servers, and bad input.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "asyncfs/backends/firecrest.hpp"
#include "asyncfs/errors.hpp"
#include "asyncfs/gather.hpp"
#include "support/co_test.hpp"
#include "support/expect_kind.hpp"
#include "support/firecrest_emulator.hpp"
#include "support/patterns.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::testing {
namespace {

using firecrest::Client;
using firecrest::FirecrestOptions;
using firecrest::Job;
using firecrest::JobSpec;
using std::chrono::milliseconds;

std::string home() { return std::string("/home/") + FirecrestEmulator::kUser; }

/// Runs make(i) for i < n concurrently on the client's loop; returns how many failed.
template <class Make>
std::size_t run_all(Client& fc, std::size_t n, Make make, std::string* first_error = nullptr) {
  GatherOptions g;
  g.batch_size = -1;
  auto outcomes = run(fc.io(), gather<void>(n, make, g));
  std::size_t failed = 0;
  for (auto& o : outcomes) {
    if (!o.has_error()) continue;
    ++failed;
    if (first_error && first_error->empty()) {
      try {
        std::rethrow_exception(o.error());
      } catch (const std::exception& e) {
        *first_error = e.what();
      }
    }
  }
  return failed;
}

std::size_t count(const std::vector<FirecrestEmulator::LogEntry>& log, const std::string& method,
                  const std::string& path_prefix) {
  return static_cast<std::size_t>(std::count_if(log.begin(), log.end(), [&](const auto& e) {
    return e.method == method && e.path.starts_with(path_prefix);
  }));
}

std::string echo_script(const std::string& text) { return "#!/bin/bash\necho " + text + "\n"; }

// --- status and direct operations -------------------------------------------------------------

TEST(FirecrestClient, SystemsUserinfoAndDirectOperations) {
  FirecrestEmulator emu;
  auto fc = Client::create(emu.options());
  auto systems = fc->systems();
  ASSERT_EQ(systems.size(), 2u);
  EXPECT_EQ(systems[0].name, "daint");
  EXPECT_EQ(systems[0].max_ops_file_size, 5u << 20);
  EXPECT_EQ(systems[0].transfer_service, "s3");
  EXPECT_FALSE(systems[0].file_systems.empty());
  EXPECT_EQ(fc->userinfo("daint").user.name, FirecrestEmulator::kUser);

  const std::string dir = home() + "/data";
  auto made = fc->mkdir("daint", dir + "/sub", /*parent=*/true);
  EXPECT_EQ(made.type, 'd');
  write_local_file(emu.local("daint", dir + "/a.txt"), "line1\nline2\nline3\n");
  auto files = fc->list_files("daint", dir);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].name, "a.txt");
  EXPECT_EQ(files[0].size, 18u);
  EXPECT_EQ(files[1].type, 'd');
  firecrest::ListOptions rec;
  rec.recursive = true;
  EXPECT_GE(fc->list_files("daint", dir, rec).size(), 2u);

  auto st = fc->stat("daint", dir + "/a.txt");
  EXPECT_EQ(st.size, 18u);
  EXPECT_TRUE(S_ISREG(st.mode));
  firecrest::HeadTailOptions two;
  two.lines = 2;
  EXPECT_EQ(fc->head("daint", dir + "/a.txt", two).content, "line1\nline2\n");
  firecrest::HeadTailOptions one_line;
  one_line.lines = 1;
  EXPECT_EQ(fc->tail("daint", dir + "/a.txt", one_line).content, "line3\n");
  EXPECT_EQ(fc->view("daint", dir + "/a.txt"), "line1\nline2\nline3\n");
  EXPECT_EQ(fc->view("daint", dir + "/a.txt", 6, 5), "line2");
  auto sum = fc->checksum("daint", dir + "/a.txt");
  EXPECT_EQ(sum.checksum.size(), 64u);
  EXPECT_FALSE(fc->file_type("daint", dir + "/a.txt").empty());
  EXPECT_EQ(fc->chmod("daint", dir + "/a.txt", "600").permissions, "rw-------");
  auto link = fc->symlink("daint", dir + "/a.txt", dir + "/link");
  EXPECT_EQ(link.type, 'l');

  // Binary-safe direct transfers.
  std::string bytes = pattern(200'000);
  bytes[17] = '\0';
  bytes[18] = '\xff';
  fc->upload_bytes("daint", dir + "/bin", bytes);
  EXPECT_EQ(fc->download_bytes("daint", dir + "/bin"), bytes);
  EXPECT_EQ(read_local_file(emu.local("daint", dir + "/bin")), bytes);

  // Job-backed mv and cp, awaited.
  fc->cp("daint", dir + "/bin", dir + "/bin2");
  EXPECT_EQ(read_local_file(emu.local("daint", dir + "/bin2")), bytes);
  fc->mv("daint", dir + "/bin2", dir + "/bin3");
  EXPECT_FALSE(local_exists(emu.local("daint", dir + "/bin2")));
  EXPECT_TRUE(local_exists(emu.local("daint", dir + "/bin3")));
  EXPECT_KIND(kNotFound, fc->mv("daint", dir + "/nope", dir + "/x"));

  fc->rm("daint", dir + "/sub");
  EXPECT_FALSE(local_exists(emu.local("daint", dir + "/sub")));
}

TEST(FirecrestClient, StatusCodesBecomeTypedErrors) {
  FirecrestEmulator emu;
  FirecrestOptions o = emu.options();
  o.retries = 0;
  auto fc = Client::create(o);
  EXPECT_KIND(kNotFound, fc->stat("daint", home() + "/missing"));
  EXPECT_KIND(kNotFound, fc->job_info("daint", "999999"));
  fc->mkdir("daint", home() + "/there");
  EXPECT_KIND(kAlreadyExists, fc->mkdir("daint", home() + "/there"));
  EXPECT_KIND(kPermissionDenied, fc->chown("daint", home(), "root", ""));
  // A path outside the system's filesystems is refused by the server (400).
  EXPECT_KIND(kInvalidArgument, fc->stat("daint", "/etc/passwd"));
  // An unknown system names the known ones.
  try {
    fc->stat("nosuch", home());
    ADD_FAILURE() << "no error";
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("daint"), std::string::npos) << e.what();
  }
  // 408, 413 and 5xx are never NotFound.
  emu.control("/_emulator/faults", R"({"match": "/filesystem/daint/ops/stat", "status": 408})");
  EXPECT_KIND(kTimeout, fc->stat("daint", home()));
  emu.control("/_emulator/faults", R"({"match": "/filesystem/daint/ops/stat", "status": 413})");
  EXPECT_KIND(kTooLarge, fc->stat("daint", home()));
  emu.control("/_emulator/faults", R"({"match": "/filesystem/daint/ops/stat", "status": 503})");
  EXPECT_KIND(kNetwork, fc->stat("daint", home()));
  emu.control("/_emulator/faults", R"({"match": "/filesystem/daint/ops/stat", "status": 500})");
  EXPECT_KIND(kProtocol, fc->stat("daint", home()));
}

TEST(FirecrestClient, BadInputIsRejectedBeforeSending) {
  FirecrestEmulator emu;
  auto fc = Client::create(emu.options());
  fc->systems();
  emu.clear_log();
  EXPECT_KIND(kInvalidArgument, fc->stat("daint", "relative/path"));
  EXPECT_KIND(kInvalidArgument, fc->stat("daint", home() + "/it's"));
  EXPECT_KIND(kInvalidArgument, fc->stat("daint", home() + "/a\nb"));
  EXPECT_KIND(kInvalidArgument, fc->stat("daint", std::string("/home/a\0b", 9)));
  EXPECT_KIND(kInvalidArgument, fc->stat("daint", home() + "/\xff\xfe"));
  EXPECT_KIND(kInvalidArgument, fc->stat("dai/nt", home()));
  EXPECT_KIND(kInvalidArgument, fc->job_info("daint", "12/../34"));
  EXPECT_KIND(kInvalidArgument, fc->chmod("daint", home(), "u+x"));
  JobSpec no_dir;
  no_dir.script = echo_script("x");
  EXPECT_KIND(kInvalidArgument, fc->submit("daint", no_dir));
  // None of them reached the server.
  EXPECT_EQ(emu.log().size(), 0u);
}

TEST(FirecrestClient, MissingConfigurationNamesTheVariable) {
  FirecrestOptions none;
  try {
    Client::create(none);
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("FIRECREST_URL"), std::string::npos) << e.what();
  }
  FirecrestOptions no_secret;
  no_secret.url = "http://127.0.0.1:1";
  no_secret.client_id = "id";
  no_secret.token_url = "http://127.0.0.1:1/token";
  try {
    Client::create(no_secret);
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("FIRECREST_CLIENT_SECRET"), std::string::npos);
  }
  // The environment is read the way FirecREST tools read it.
  ::setenv("FIRECREST_URL", "http://127.0.0.1:9/api/", 1);
  ::setenv("FIRECREST_CLIENT_ID", "env-id", 1);
  ::setenv("FIRECREST_CLIENT_SECRET", "env-secret", 1);
  ::setenv("AUTH_TOKEN_URL", "http://127.0.0.1:9/token", 1);
  auto from_env = FirecrestOptions::from(Options{{"time_between_calls", R"({"compute": 1.5})"}});
  ::unsetenv("FIRECREST_URL");
  ::unsetenv("FIRECREST_CLIENT_ID");
  ::unsetenv("FIRECREST_CLIENT_SECRET");
  ::unsetenv("AUTH_TOKEN_URL");
  EXPECT_EQ(from_env.url, "http://127.0.0.1:9/api/");
  EXPECT_EQ(from_env.client_id, "env-id");
  EXPECT_EQ(from_env.time_between_calls.at("compute"), milliseconds(1500));
  EXPECT_NO_THROW(from_env.validate());
  EXPECT_KIND(kInvalidArgument, FirecrestOptions::from(Options{{"bogus", "1"}}));
}

// --- auth -----------------------------------------------------------------------------------

TEST(FirecrestClient, HundredConcurrentCallsFetchOneToken) {
  FirecrestEmulator emu;
  auto fc = Client::create(emu.options());
  auto* raw = fc.get();
  std::string err;
  const std::size_t failed = run_all(
      *fc, 100,
      [raw](std::size_t) -> Task<void> {
        return [](Client* c) -> Task<void> { co_await c->_stat("daint", home()); }(raw);
      },
      &err);
  EXPECT_EQ(failed, 0u) << err;
  EXPECT_EQ(fc->stats().token_requests, 1u);
  EXPECT_EQ(count(emu.log(), "POST", "/auth/token"), 1u);
}

TEST(FirecrestClient, ClientSecretBasicAndBadCredentials) {
  FirecrestEmulator emu;
  FirecrestOptions basic = emu.options();
  basic.client_auth_method = "client_secret_basic";
  EXPECT_NO_THROW(Client::create(basic)->stat("daint", home()));

  FirecrestOptions wrong = emu.options();
  wrong.client_secret = "not-the-secret-8b1f";
  try {
    Client::create(wrong)->stat("daint", home());
    ADD_FAILURE() << "no error";
  } catch (const PermissionDenied& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("invalid_client"), std::string::npos) << what;
    EXPECT_EQ(what.find("not-the-secret-8b1f"), std::string::npos) << "secret leaked: " << what;
  }
}

TEST(FirecrestClient, TokenEndpointGarbageIsAProtocolError) {
  FirecrestEmulator emu;
  for (const char* kind : {"garbage", "html"}) {
    auto fc = Client::create(emu.options());
    emu.control("/_emulator/faults", std::string(R"({"token": ")") + kind + R"(", "count": 1})");
    try {
      fc->stat("daint", home());
      ADD_FAILURE() << "no error for " << kind;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kProtocol) << e.what();
      EXPECT_EQ(std::string(e.what()).find(FirecrestEmulator::kClientSecret), std::string::npos);
    }
  }
}

TEST(FirecrestClient, ExpiredTokensAreRefreshedWithoutFailedCalls) {
  // Tokens live 4 s and the server refuses those with less than 1 s left: the client refreshes
  // ahead (at half the lifetime here), and a token revoked mid-run costs one retry, no failure.
  FirecrestEmulator emu({"--token-ttl", "4", "--min-token-ttl", "1"});
  auto fc = Client::create(emu.options());
  auto* raw = fc.get();
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(5500);
  std::size_t calls = 0;
  std::string err;
  bool revoked = false;
  while (std::chrono::steady_clock::now() < end) {
    if (!revoked && calls >= 40) {
      emu.control("/_emulator/faults", R"({"expire_tokens": true})");
      revoked = true;
    }
    EXPECT_EQ(run_all(
                  *fc, 8,
                  [raw](std::size_t) -> Task<void> {
                    return [](Client* c) -> Task<void> { co_await c->_stat("daint", home()); }(raw);
                  },
                  &err),
              0u)
        << err;
    calls += 8;
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(revoked);
  // 5.5 s of 4 s tokens refreshed at 2 s, plus one after the revocation.
  EXPECT_GE(fc->stats().token_requests, 3u);
  EXPECT_LE(fc->stats().token_requests, 6u);
  for (const auto& e : emu.log()) {
    if (e.status == 401) {
      EXPECT_TRUE(revoked) << "a 401 before the revocation: " << e.path;
    }
  }
}

TEST(FirecrestClient, TokenCommandAndStaticToken) {
  FirecrestEmulator emu;
  // Fetch a real token once, then hand it over as a static token and through a command.
  TempDir tmp;
  const std::string script = tmp / "token.sh";
  write_local_file(script,
                   "#!/bin/sh\nexec /usr/bin/python3 -I -c \"import urllib.request,json,sys;"
                   "r=urllib.request.urlopen(urllib.request.Request('" +
                       emu.token_url() +
                       "',data=b'grant_type=client_credentials&client_id=asyncfs-client"
                       "&client_secret=asyncfs-secret'));print(json.load(r)['access_token'])\"\n");
  ::chmod(script.c_str(), 0755);
  FirecrestOptions cmd = emu.options();
  cmd.client_id.clear();
  cmd.client_secret.clear();
  cmd.token_command = script;
  auto fc = Client::create(cmd);
  EXPECT_EQ(fc->userinfo("daint").user.name, FirecrestEmulator::kUser);

  FirecrestOptions broken = emu.options();
  broken.client_id.clear();
  broken.token_command = "/bin/false";
  EXPECT_KIND(kPermissionDenied, Client::create(broken)->stat("daint", home()));

  FirecrestOptions fixed = emu.options();
  fixed.token = "not-a-valid-token";
  EXPECT_KIND(kPermissionDenied, Client::create(fixed)->stat("daint", home()));
}

// --- rate control -----------------------------------------------------------------------------

TEST(FirecrestClient, RateLimitStormIsHonouredAndNothingFails) {
  FirecrestEmulator emu;
  auto fc = Client::create(emu.options());
  fc->stat("daint", home());  // token and connection first
  emu.clear_log();
  emu.control("/_emulator/faults",
              R"({"match": "/filesystem/", "status": 429, "retry_after": "1", "count": 30})");
  auto* raw = fc.get();
  std::string err;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(run_all(
                *fc, 20,
                [raw](std::size_t) -> Task<void> {
                  return [](Client* c) -> Task<void> { co_await c->_stat("daint", home()); }(raw);
                },
                &err),
            0u)
      << err;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(900));
  auto log = emu.log();
  // After the first 429, no request of the service started before its Retry-After passed.
  double first_429 = -1;
  for (const auto& e : log) {
    if (e.status == 429 && first_429 < 0) first_429 = e.time;
  }
  ASSERT_GE(first_429, 0);
  std::size_t ok = 0;
  for (const auto& e : log) {
    if (e.status == 200) {
      ++ok;
      EXPECT_GE(e.time - first_429, 0.95)
          << "a success started " << e.time - first_429 << " s after the first 429";
    }
  }
  EXPECT_EQ(ok, 20u);
}

TEST(FirecrestClient, SpacingPerServiceHolds) {
  FirecrestEmulator emu;
  FirecrestOptions o = emu.options();
  o.time_between_calls = {{"compute", milliseconds(150)}};
  auto fc = Client::create(o);
  fc->systems();
  emu.clear_log();
  auto* raw = fc.get();
  std::string err;
  // 8 compute calls and 8 status calls at once: only compute is spaced.
  EXPECT_EQ(run_all(
                *fc, 16,
                [raw](std::size_t i) -> Task<void> {
                  return [](Client* c, std::size_t k) -> Task<void> {
                    if (k % 2 == 0) {
                      co_await c->_jobs("daint");
                    } else {
                      co_await c->_userinfo("daint");
                    }
                  }(raw, i);
                },
                &err),
            0u)
      << err;
  std::vector<double> compute, status;
  for (const auto& e : emu.log()) {
    if (e.path.starts_with("/compute/")) compute.push_back(e.time);
    if (e.path.starts_with("/status/")) status.push_back(e.time);
  }
  ASSERT_EQ(compute.size(), 8u);
  ASSERT_EQ(status.size(), 8u);
  std::sort(compute.begin(), compute.end());
  // Tolerance 15 ms: arrival times at the server jitter around the client's start times.
  for (std::size_t i = 1; i < compute.size(); ++i) {
    EXPECT_GE(compute[i] - compute[i - 1], 0.150 - 0.015) << "compute calls " << i - 1 << ", " << i;
  }
  std::sort(status.begin(), status.end());
  EXPECT_LT(status.back() - status.front(), 0.5) << "status calls were spaced too";
}

TEST(FirecrestClient, RetriesOnlyWhatMayBeRepeatedAndHonoursTheDeadline) {
  FirecrestEmulator emu;
  FirecrestOptions o = emu.options();
  o.retries = 2;
  auto fc = Client::create(o);
  fc->systems();
  // A 500 on a GET is retried and the call succeeds...
  emu.control("/_emulator/faults", R"({"match": "/filesystem/daint/ops/stat", "status": 500})");
  EXPECT_NO_THROW(fc->stat("daint", home()));
  // ... but a submit is never repeated after a 5xx: it could start a second job.
  emu.control("/_emulator/faults", R"({"match": "/compute/daint/jobs", "method": "POST",
                                        "status": 502})");
  emu.clear_log();
  JobSpec j;
  j.script = echo_script("once");
  j.working_directory = home();
  EXPECT_KIND(kNetwork, fc->submit("daint", j));
  EXPECT_EQ(count(emu.log(), "POST", "/compute/daint/jobs"), 1u);
  // A 503 says the server did not act: even a submit may be repeated after it.
  emu.control("/_emulator/faults", R"({"match": "/compute/daint/jobs", "method": "POST",
                                        "status": 503, "retry_after": "0"})");
  EXPECT_FALSE(fc->submit("daint", j).empty());
  // The deadline bounds a whole call, retries and slow answers included.
  FirecrestOptions quick = emu.options();
  quick.call_timeout = milliseconds(400);
  auto fq = Client::create(quick);
  fq->systems();
  emu.control("/_emulator/faults", R"({"match": "/filesystem/daint/ops/stat", "delay": 3})");
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_KIND(kTimeout, fq->stat("daint", home()));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(2500));
}

// --- jobs -------------------------------------------------------------------------------------

TEST(FirecrestClient, SubmitWaitViewAndFailedJob) {
  FirecrestEmulator emu({"--job-delay", "0.3"});
  auto fc = Client::create(emu.options());
  JobSpec ok;
  ok.script = echo_script("hello from the job");
  ok.working_directory = home();
  ok.env = {{"GREETING", "hi"}};
  ok.name = "asyncfs-ok";
  const std::string id = fc->submit("daint", ok);
  EXPECT_FALSE(id.empty());
  Job done = fc->wait("daint", id);
  EXPECT_TRUE(done.succeeded()) << done.status.state;
  auto meta = fc->job_metadata("daint", id);
  EXPECT_NE(meta.script.find("hello from the job"), std::string::npos);
  ASSERT_FALSE(meta.standard_output.empty());
  EXPECT_NE(fc->view("daint", meta.standard_output).find("hello from the job"), std::string::npos);

  JobSpec bad;
  bad.script = "#!/bin/bash\necho about to fail\nexit 3\n";
  bad.working_directory = home();
  const std::string bad_id = fc->submit("daint", bad);
  Job failed = fc->wait("daint", bad_id);
  EXPECT_FALSE(failed.succeeded());
  EXPECT_NE(failed.status.state.find("FAILED"), std::string::npos) << failed.status.state;
  EXPECT_EQ(failed.status.exit_code.value_or(-1), 3);
  auto bad_meta = fc->job_metadata("daint", bad_id);
  ASSERT_FALSE(bad_meta.standard_error.empty());
  EXPECT_NE(fc->view("daint", bad_meta.standard_error).find("exit 3"), std::string::npos);

  // A local script file, as pyFirecREST's submit(script_local_path=...).
  TempDir tmp;
  write_local_file(tmp / "job.sh", echo_script("from a file"));
  JobSpec local;
  local.local_script = tmp / "job.sh";
  local.working_directory = home();
  EXPECT_TRUE(fc->wait("daint", fc->submit("daint", local)).succeeded());
}

TEST(FirecrestClient, CancelAndWaitTimeout) {
  FirecrestEmulator emu({"--job-delay", "30"});
  auto fc = Client::create(emu.options());
  JobSpec slow;
  slow.script = echo_script("slow");
  slow.working_directory = home();
  const std::string id = fc->submit("daint", slow);
  fc->cancel_job("daint", id);
  Job j = fc->job_info("daint", id);
  EXPECT_NE(j.status.state.find("CANCELLED"), std::string::npos) << j.status.state;
  EXPECT_FALSE(j.active());
  EXPECT_KIND(kNotFound, fc->cancel_job("daint", "424242"));

  const std::string id2 = fc->submit("daint", slow);
  EXPECT_KIND(kTimeout, fc->wait("daint", id2, milliseconds(400)));
  // The wait's timeout cancelled the job.
  EXPECT_NE(fc->job_info("daint", id2).status.state.find("CANCELLED"), std::string::npos);
}

TEST(FirecrestClient, PollActiveUsesOneRequestPerRoundForAThousandJobs) {
  FirecrestEmulator emu({"--job-delay", "1.5"});
  auto fc = Client::create(emu.options());
  auto* raw = fc.get();
  std::vector<std::string> ids(1000);
  std::string err;
  EXPECT_EQ(run_all(
                *fc, ids.size(),
                [raw, &ids](std::size_t i) -> Task<void> {
                  return [](Client* c, std::string* out) -> Task<void> {
                    JobSpec j;
                    j.script = echo_script("bulk");
                    j.working_directory = home();
                    *out = co_await c->_submit("daint", std::move(j));
                  }(raw, &ids[i]);
                },
                &err),
            0u)
      << err;
  emu.clear_log();
  std::size_t rounds = 0;
  std::size_t active = ids.size();
  while (active > 0 && rounds < 100) {
    active = fc->poll_active("daint", ids).size();
    ++rounds;
    if (active > 0) std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_EQ(active, 0u);
  EXPECT_GE(rounds, 2u);
  auto log = emu.log();
  EXPECT_EQ(log.size(), rounds) << "one request per poll round, not one per job";
  EXPECT_EQ(count(log, "GET", "/compute/daint/jobs"), rounds);
  // wait_all: the same, with the final records.
  auto finals = fc->wait_all("daint", std::vector<std::string>(ids.begin(), ids.begin() + 10));
  ASSERT_EQ(finals.size(), 10u);
  for (const auto& j : finals) EXPECT_TRUE(j.succeeded()) << j.job_id << " " << j.status.state;
}

// --- transfers --------------------------------------------------------------------------------

TEST(FirecrestClient, DirectAndStagedUploadsAndDownloads) {
  // A small direct limit (3/4 of 64 KiB) and 100 kB parts: a 350 kB file is staged in 4 parts.
  FirecrestEmulator emu(
      {"--max-ops-file-size", "65536", "--max-part-size", "100000", "--job-delay", "0.2"});
  auto fc = Client::create(emu.options());
  TempDir tmp;
  const std::string small = pattern(10'000);
  const std::string big = pattern(350'000);
  write_local_file(tmp / "small", small);
  write_local_file(tmp / "big", big);

  fc->upload("daint", tmp / "small", home() + "/small");
  EXPECT_EQ(read_local_file(emu.local("daint", home() + "/small")), small);

  struct Counter : Callback {
  } progress;
  fc->upload("daint", tmp / "big", home() + "/big", &progress);
  EXPECT_EQ(read_local_file(emu.local("daint", home() + "/big")), big);
  EXPECT_EQ(progress.value(), big.size());
  auto log = emu.log();
  EXPECT_EQ(count(log, "PUT", "/s3/"), 4u);
  EXPECT_EQ(count(log, "POST", "/filesystem/daint/transfer/upload"), 1u);

  fc->download("daint", home() + "/small", tmp / "out/small");
  EXPECT_EQ(read_local_file(tmp / "out/small"), small);
  Counter down;
  fc->download("daint", home() + "/big", tmp / "out/big", &down);
  EXPECT_EQ(read_local_file(tmp / "out/big"), big);
  EXPECT_EQ(down.value(), big.size());

  // Started now, finished later (pyFirecREST's external_download(...).status / finish).
  auto t = fc->start_download("daint", home() + "/big");
  EXPECT_FALSE(t.status().empty());
  t.finish(tmp / "later");
  EXPECT_EQ(read_local_file(tmp / "later"), big);

  // A failed staged download leaves nothing behind.
  EXPECT_KIND(kNotFound, fc->download("daint", home() + "/nope", tmp / "gone"));
  EXPECT_FALSE(local_exists(tmp / "gone"));
  std::size_t leftovers = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.path())) {
    leftovers += e.path().filename().string().find(".asyncfs-") != std::string::npos;
  }
  EXPECT_EQ(leftovers, 0u);
}

class FirecrestVariants : public ::testing::TestWithParam<const char*> {};

TEST_P(FirecrestVariants, OlderServersResponsesAreUnderstood) {
  FirecrestEmulator emu({"--api-version", GetParam(), "--max-ops-file-size", "65536",
                         "--max-part-size", "100000", "--job-delay", "0.2"});
  auto fc = Client::create(emu.options());
  JobSpec j;
  j.script = echo_script("variant");
  j.working_directory = home();
  const std::string id = fc->submit("daint", j);
  EXPECT_FALSE(id.empty());
  EXPECT_TRUE(fc->wait("daint", id).succeeded());
  EXPECT_EQ(fc->poll_active("daint", {id}).size(), 0u);
  TempDir tmp;
  const std::string big = pattern(250'000);
  write_local_file(tmp / "big", big);
  fc->upload("daint", tmp / "big", home() + "/big");
  fc->download("daint", home() + "/big", tmp / "back");
  EXPECT_EQ(read_local_file(tmp / "back"), big);
}

INSTANTIATE_TEST_SUITE_P(Versions, FirecrestVariants, ::testing::Values("2.4.2", "2.3.1"));

}  // namespace
}  // namespace asyncfs::testing
