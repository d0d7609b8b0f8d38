// firecrest_bench: REST-call throughput and client CPU of asyncfs::firecrest::Client against a
// FirecREST server (the emulator in CI and scripts/bench_firecrest.sh), side by side with the
// server's own ceiling measured by a trivial load generator in the same run.
//
//   firecrest_bench calls [--calls N] [--inflight K] [--ceiling-seconds S]
//                                                        -> one JSON object per line on stdout
//   firecrest_bench poll  [--jobs N]                     -> the poll_active workflow (RSS)
//
// Configured like every FirecREST tool: FIRECREST_URL, FIRECREST_CLIENT_ID,
// FIRECREST_CLIENT_SECRET, AUTH_TOKEN_URL. System "daint", home /home/<user>.
//
// The ceiling: K keep-alive connections, each sending the same authenticated GET as soon as
// the previous answer is complete: no JSON parsing, no auth logic, no retries. What the
// server serves to that is the most any client could get; the client's ratio to it is what
// the client costs.

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asyncfs/asyncfs.hpp>
#include <asyncfs/backends/firecrest.hpp>
#include <asyncfs/gather.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace fc = asyncfs::firecrest;
using Clock = std::chrono::steady_clock;

namespace {

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double max_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

struct HostPort {
  std::string host;
  int port = 80;
  std::string prefix;  // path of the API base
};

HostPort parse_base(const std::string& url) {
  HostPort hp;
  std::string rest = url.substr(url.find("://") + 3);
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  hp.prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (hp.prefix.ends_with('/')) hp.prefix.pop_back();
  const auto colon = authority.rfind(':');
  hp.host = authority.substr(0, colon);
  if (colon != std::string::npos) hp.port = std::atoi(authority.substr(colon + 1).c_str());
  return hp;
}

/// The ceiling: `conns` keep-alive connections hammering one GET for `seconds`.
double ceiling(const HostPort& hp, const std::string& path, const std::string& token, int conns,
               double seconds) {
  const std::string req = "GET " + hp.prefix + path + " HTTP/1.1\r\nHost: " + hp.host +
                          "\r\nAuthorization: Bearer " + token +
                          "\r\nAccept: application/json\r\n\r\n";
  struct Conn {
    int fd = -1;
    std::string in;
  };
  std::vector<Conn> cs(static_cast<std::size_t>(conns));
  std::vector<pollfd> pfds(cs.size());
  for (std::size_t i = 0; i < cs.size(); ++i) {
    cs[i].fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(hp.port));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (::connect(cs[i].fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 0;
    int one = 1;
    setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    (void)!::send(cs[i].fd, req.data(), req.size(), MSG_NOSIGNAL);
    pfds[i] = {cs[i].fd, POLLIN, 0};
  }
  std::uint64_t done = 0;
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  char buf[65536];
  while (Clock::now() < end) {
    if (::poll(pfds.data(), pfds.size(), 100) <= 0) continue;
    for (std::size_t i = 0; i < cs.size(); ++i) {
      if (!(pfds[i].revents & POLLIN)) continue;
      const ssize_t n = ::recv(cs[i].fd, buf, sizeof buf, 0);
      if (n <= 0)
        return static_cast<double>(done) / std::chrono::duration<double>(Clock::now() - t0).count();
      cs[i].in.append(buf, static_cast<std::size_t>(n));
      for (;;) {  // complete responses (Content-Length framing)
        const auto head = cs[i].in.find("\r\n\r\n");
        if (head == std::string::npos) break;
        const auto cl = cs[i].in.find("Content-Length: ");
        const std::size_t len =
            cl < head ? std::strtoull(cs[i].in.c_str() + cl + 16, nullptr, 10) : 0;
        if (cs[i].in.size() < head + 4 + len) break;
        cs[i].in.erase(0, head + 4 + len);
        ++done;
        (void)!::send(cs[i].fd, req.data(), req.size(), MSG_NOSIGNAL);
      }
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto& c : cs) ::close(c.fd);
  return static_cast<double>(done) / secs;
}

/// A bearer token for the load generator (the client never exposes its own): one raw
/// client-credentials request to AUTH_TOKEN_URL.
std::string fetch_token() {
  const std::string url = std::getenv("AUTH_TOKEN_URL") ? std::getenv("AUTH_TOKEN_URL") : "";
  HostPort hp = parse_base(url);
  const std::string body = std::string("grant_type=client_credentials&client_id=") +
                           std::getenv("FIRECREST_CLIENT_ID") +
                           "&client_secret=" + std::getenv("FIRECREST_CLIENT_SECRET");
  const std::string req = "POST " + hp.prefix + " HTTP/1.1\r\nHost: " + hp.host +
                          "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                          "Connection: close\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(hp.port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return {};
  (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string resp;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    resp.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto at = resp.find("\"access_token\"");
  if (at == std::string::npos) return {};
  const auto q1 = resp.find('"', resp.find(':', at) + 1);
  const auto q2 = resp.find('"', q1 + 1);
  return resp.substr(q1 + 1, q2 - q1 - 1);
}

struct Measured {
  double calls_per_s = 0;
  double cpu_us_per_call = 0;
  std::size_t failed = 0;
};

template <class Make>
Measured measure(fc::Client& client, std::size_t calls, int inflight, Make make) {
  asyncfs::GatherOptions g;
  g.batch_size = inflight;
  const double cpu0 = cpu_seconds();
  const auto t0 = Clock::now();
  auto out = asyncfs::sync(client.io(), asyncfs::gather<void>(calls, make, g));
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = cpu_seconds() - cpu0;
  Measured m;
  for (auto& o : out) m.failed += o.has_error() ? 1 : 0;
  m.calls_per_s = static_cast<double>(calls) / wall;
  m.cpu_us_per_call = cpu * 1e6 / static_cast<double>(calls);
  return m;
}

int run_calls(std::size_t calls, int inflight, double ceiling_seconds) {
  auto client = fc::Client::create(fc::FirecrestOptions::from_env());
  const std::string user = client->userinfo("daint").user.name;
  const std::string home = "/home/" + user;
  // A directory of 20 entries to list, and one finished job to look up.
  client->mkdir("daint", home + "/bench", true);
  for (int i = 0; i < 20; ++i) {
    client->upload_bytes("daint", home + "/bench/f" + std::to_string(i), std::string(100, 'x'));
  }
  fc::JobSpec job;
  job.script = "#!/bin/bash\necho bench\n";
  job.working_directory = home;
  const std::string id = client->submit("daint", job);
  client->wait("daint", id);

  const HostPort hp = parse_base(client->options().url);
  const std::string token = fetch_token();
  fc::Client* c = client.get();
  struct Op {
    const char* name;
    std::string path;  // for the ceiling
  };
  const std::vector<Op> ops = {{"stat", "/filesystem/daint/ops/stat?path=" + home},
                               {"list_files", "/filesystem/daint/ops/ls?path=" + home + "/bench"},
                               {"job_info", "/compute/daint/jobs/" + id}};
  for (const auto& op : ops) {
    // Warm-up (connections, token), then the timed run.
    auto make = [c, &op, &home, &id](std::size_t) -> asyncfs::Task<void> {
      return [](fc::Client* cl, std::string name, std::string h,
                std::string jid) -> asyncfs::Task<void> {
        if (name == "stat") {
          co_await cl->_stat("daint", h);
        } else if (name == "list_files") {
          co_await cl->_list_files("daint", h + "/bench");
        } else {
          co_await cl->_job_info("daint", jid);
        }
      }(c, op.name, home, id);
    };
    measure(*client, 200, inflight, make);
    const Measured seq = measure(*client, std::min<std::size_t>(calls / 4, 500), 1, make);
    const Measured par = measure(*client, calls, inflight, make);
    const double ceil =
        ceiling_seconds > 0 ? ceiling(hp, op.path, token, inflight, ceiling_seconds) : 0.0;
    fmt::print(
        "{{\"op\":\"{}\",\"calls\":{},\"inflight\":{},\"client_calls_per_s\":{:.1f},"
        "\"client_cpu_us_per_call\":{:.1f},\"sequential_calls_per_s\":{:.1f},"
        "\"sequential_cpu_us_per_call\":{:.1f},\"ceiling_calls_per_s\":{:.1f},"
        "\"ratio_to_ceiling\":{:.3f},\"failed\":{}}}\n",
        op.name, calls, inflight, par.calls_per_s, par.cpu_us_per_call, seq.calls_per_s,
        seq.cpu_us_per_call, ceil, ceil > 0 ? par.calls_per_s / ceil : 0.0,
        par.failed + seq.failed);
    std::fflush(stdout);
  }
  client->rm("daint", home + "/bench");
  return 0;
}

int run_poll(std::size_t jobs) {
  auto client = fc::Client::create(fc::FirecrestOptions::from_env());
  const std::string home = "/home/" + client->userinfo("daint").user.name;
  std::vector<std::string> ids(jobs);
  fc::Client* c = client.get();
  auto make = [c, &ids, &home](std::size_t i) -> asyncfs::Task<void> {
    return [](fc::Client* cl, std::string h, std::string* out) -> asyncfs::Task<void> {
      fc::JobSpec j;
      j.script = "#!/bin/bash\necho polled\n";
      j.working_directory = h;
      *out = co_await cl->_submit("daint", std::move(j));
    }(c, home, &ids[i]);
  };
  const auto t0 = Clock::now();
  const Measured sub = measure(*client, jobs, 64, make);
  const double rss_after_submit = max_rss_mib();
  std::size_t rounds = 0;
  std::size_t active = jobs;
  const auto p0 = Clock::now();
  while (active > 0 && rounds < 10000) {
    active = client->poll_active("daint", ids).size();
    ++rounds;
    if (active > 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  const double poll_s = std::chrono::duration<double>(Clock::now() - p0).count();
  fmt::print(
      "{{\"op\":\"poll_active\",\"jobs\":{},\"submit_per_s\":{:.1f},\"submit_failed\":{},"
      "\"poll_rounds\":{},\"poll_seconds\":{:.2f},\"still_active\":{},\"total_seconds\":{:.2f},"
      "\"max_rss_mib_after_submit\":{:.1f},\"max_rss_mib\":{:.1f}}}\n",
      jobs, sub.calls_per_s, sub.failed, rounds, poll_s, active,
      std::chrono::duration<double>(Clock::now() - t0).count(), rss_after_submit, max_rss_mib());
  return active == 0 && sub.failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "calls";
  std::size_t calls = 5000, jobs = 10000;
  int inflight = 64;
  double ceiling_seconds = 3.0;  // 0 = skip the load generator (profiling the client alone)
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--calls") calls = std::strtoull(argv[i + 1], nullptr, 10);
    if (k == "--inflight") inflight = std::atoi(argv[i + 1]);
    if (k == "--jobs") jobs = std::strtoull(argv[i + 1], nullptr, 10);
    if (k == "--ceiling-seconds") ceiling_seconds = std::atof(argv[i + 1]);
  }
  try {
    const int rc = mode == "poll" ? run_poll(jobs) : run_calls(calls, inflight, ceiling_seconds);
    asyncfs::shutdown_default_io_thread();
    return rc;
  } catch (const std::exception& e) {
    fmt::print(stderr, "firecrest_bench: {}\n", e.what());
    return 1;
  }
}
