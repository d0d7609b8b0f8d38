// firecrest_fs_bench: the firecrest:// filesystem (asyncfs::firecrest::FirecrestFileSystem)
// against a FirecREST server (the emulator in scripts/bench_firecrest_fs.sh), one scenario per
// process so that peak RSS belongs to that scenario alone. Each run prints one JSON object on
// stdout: wall seconds, client CPU seconds (getrusage self: every thread, the IO thread
// included), peak RSS (ru_maxrss) and counts, plus t_start/t_end of the timed part on
// steady_clock (CLOCK_MONOTONIC, the clock of the emulator's /_emulator/log), so the runner can
// count the requests each scenario sent.
//
//   firecrest_fs_bench cat  --dir /abs/dir --files N [--size B] [--rounds R] [--batch-size K]
//   firecrest_fs_bench ls   --dir /abs/dir [--repeat N]
//   firecrest_fs_bench find --dir /abs/dir [--repeat N]
//   firecrest_fs_bench put  --local FILE --remote /abs/path [--rounds R]
//   firecrest_fs_bench get  --remote /abs/path --local FILE [--rounds R]
//   firecrest_fs_bench ceiling --dir /abs/dir --files N --token T [--conns K] [--seconds S]
//   firecrest_fs_bench ceiling --request '/filesystem/daint/ops/ls?path=...' --token T
//                              [--count N]  (N requests one after another: median latency)
//
// Remote paths are on system "daint". Configured like every FirecREST tool: FIRECREST_URL,
// FIRECREST_CLIENT_ID, FIRECREST_CLIENT_SECRET, AUTH_TOKEN_URL (read by
// FirecrestFsOptions::from); BENCH_S3_CONNECTIONS=N sets the filesystem's s3_connections (to
// study the parallelism of the ranged GETs and part PUTs). Every scenario first makes one untimed
// call (token, connection, system description) so that the timed part is the operation itself.
//
// `ceiling` is the server's own limit for the requests bulk cat sends: K keep-alive
// connections, each sending the next authenticated GET ops/download (cycling over the same N
// files) as soon as the previous answer is complete: no parsing, no auth logic, no retries
// (the load generator of firecrest_bench.cpp, with a rotating path). With --request it sends
// that one GET (path and query under the API base) instead: the server's time for a listing
// without any client work; with --count N it sends it N times on one connection, one after
// another, and reports the median time from sending to the last byte of the answer.

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <asyncfs/asyncfs.hpp>
#include <asyncfs/backends/firecrest_fs.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fc = asyncfs::firecrest;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kSystem = "daint";

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

/// Seconds on CLOCK_MONOTONIC, the clock of the emulator's request log.
double mono() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string json_list(const std::vector<double>& v, int decimals = 6) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    s += (i ? "," : "") + fmt::format("{:.{}f}", v[i], decimals);
  }
  return s + "]";
}

std::string url(const std::string& abs) { return std::string("firecrest://") + kSystem + abs; }

std::shared_ptr<fc::FirecrestFileSystem> make_fs() {
  asyncfs::Options o;
  if (const char* v = std::getenv("BENCH_S3_CONNECTIONS")) o.set("s3_connections", v);
  return fc::make_filesystem(fc::FirecrestFsOptions::from(o, nullptr));
}

/// One timed interval: wall, CPU and the monotonic start/end (for the request log).
struct Interval {
  double t0 = 0, t1 = 0, cpu0 = 0, cpu1 = 0;
  void start() {
    cpu0 = cpu_seconds();
    t0 = mono();
  }
  void stop() {
    t1 = mono();
    cpu1 = cpu_seconds();
  }
  double wall() const { return t1 - t0; }
  double cpu() const { return cpu1 - cpu0; }
};

struct Args {
  std::string dir, local, remote, token, request;
  std::size_t files = 1000, size = 4096;
  int rounds = 3, repeat = 20, conns = 64, count = 0;
  std::optional<int> batch_size;
  double seconds = 3.0;
};

std::string file_name(const std::string& dir, std::size_t i) {
  return fmt::format("{}/f{:05d}", dir, i);
}

/// Rounds of `fs.cat(list of N paths)`; every item must be there with `size` bytes.
int run_cat(const Args& a) {
  auto fs = make_fs();
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < a.files; ++i) paths.push_back(url(file_name(a.dir, i)));
  asyncfs::CatOptions opts;
  opts.batch_size = a.batch_size;
  opts.on_error = asyncfs::OnError::kReturn;
  // Warm-up: token, system, and the connections a bulk read opens.
  fs->info(url(a.dir));
  fs->cat(
      asyncfs::Paths(std::vector<std::string>(
          paths.begin(), paths.begin() + static_cast<long>(std::min<std::size_t>(64, a.files)))),
      opts);
  std::vector<double> walls, cpus, starts, ends;
  std::size_t failed = 0, short_items = 0;
  for (int r = 0; r < a.rounds; ++r) {
    Interval iv;
    iv.start();
    asyncfs::CatResult res = fs->cat(asyncfs::Paths(paths), opts);
    iv.stop();
    for (const auto& [p, o] : res.items) {
      if (o.has_error()) {
        ++failed;
      } else if (o.value().size() != a.size) {
        ++short_items;
      }
    }
    if (res.items.size() != paths.size()) failed += paths.size() - res.items.size();
    walls.push_back(iv.wall());
    cpus.push_back(iv.cpu());
    starts.push_back(iv.t0);
    ends.push_back(iv.t1);
  }
  const double mw = median(walls);
  double cpu_total = 0;
  for (double c : cpus) cpu_total += c;
  fmt::print(
      "{{\"scenario\":\"cat\",\"files\":{},\"file_size\":{},\"rounds\":{},\"wall_s\":{:.6f},"
      "\"files_per_s\":{:.1f},\"best_files_per_s\":{:.1f},\"cpu_s\":{:.6f},"
      "\"cpu_us_per_file\":{:.2f},\"max_rss_mib\":{:.1f},\"failed\":{},\"wrong_size\":{},"
      "\"walls\":{},\"cpus\":{},\"t_starts\":{},\"t_ends\":{}}}\n",
      a.files, a.size, a.rounds, mw, static_cast<double>(a.files) / mw,
      static_cast<double>(a.files) / *std::min_element(walls.begin(), walls.end()), median(cpus),
      cpu_total * 1e6 / static_cast<double>(a.files * walls.size()), max_rss_mib(), failed,
      short_items, json_list(walls), json_list(cpus), json_list(starts), json_list(ends));
  return failed == 0 && short_items == 0 ? 0 : 1;
}

/// The first ls of a directory, then `repeat` more, each timed alone.
int run_ls(const Args& a) {
  auto fs = make_fs();
  const std::string parent = a.dir.substr(0, a.dir.rfind('/'));
  fs->info(url(parent.empty() ? "/" : parent));  // warm-up: token, connection
  Interval first;
  first.start();
  const std::size_t entries = fs->ls(url(a.dir)).size();
  first.stop();
  std::vector<double> walls, cpus, starts, ends;
  std::size_t mismatched = 0;
  for (int i = 0; i < a.repeat; ++i) {
    Interval iv;
    iv.start();
    const std::size_t n = fs->ls(url(a.dir)).size();
    iv.stop();
    mismatched += n != entries;
    walls.push_back(iv.wall());
    cpus.push_back(iv.cpu());
    starts.push_back(iv.t0);
    ends.push_back(iv.t1);
  }
  const double mw = median(walls), mc = median(cpus);
  fmt::print(
      "{{\"scenario\":\"ls\",\"entries\":{},\"first_wall_s\":{:.6f},\"first_cpu_s\":{:.6f},"
      "\"repeat\":{},\"wall_s\":{:.6f},\"cpu_s\":{:.6f},\"entries_per_s_wall\":{:.0f},"
      "\"entries_per_s_client_cpu\":{:.0f},\"max_rss_mib\":{:.1f},\"mismatched\":{},"
      "\"first_t_start\":{:.6f},\"first_t_end\":{:.6f},\"walls\":{},\"cpus\":{},\"t_starts\":{},"
      "\"t_ends\":{}}}\n",
      entries, first.wall(), first.cpu(), a.repeat, mw, mc, static_cast<double>(entries) / mw,
      mc > 0 ? static_cast<double>(entries) / mc : 0.0, max_rss_mib(), mismatched, first.t0,
      first.t1, json_list(walls), json_list(cpus), json_list(starts), json_list(ends));
  return mismatched == 0 ? 0 : 1;
}

/// `find` of a tree, `repeat` times.
int run_find(const Args& a) {
  auto fs = make_fs();
  fs->info(url(a.dir));  // warm-up: token, connection
  std::vector<double> walls, cpus, starts, ends;
  std::size_t files = 0, mismatched = 0;
  for (int i = 0; i < a.repeat; ++i) {
    Interval iv;
    iv.start();
    const std::size_t n = fs->find(url(a.dir)).size();
    iv.stop();
    if (i == 0) files = n;
    mismatched += n != files;
    walls.push_back(iv.wall());
    cpus.push_back(iv.cpu());
    starts.push_back(iv.t0);
    ends.push_back(iv.t1);
  }
  const double mw = median(walls), mc = median(cpus);
  fmt::print(
      "{{\"scenario\":\"find\",\"files\":{},\"repeat\":{},\"wall_s\":{:.6f},\"cpu_s\":{:.6f},"
      "\"files_per_s_wall\":{:.0f},\"files_per_s_client_cpu\":{:.0f},\"max_rss_mib\":{:.1f},"
      "\"mismatched\":{},\"walls\":{},\"cpus\":{},\"t_starts\":{},\"t_ends\":{}}}\n",
      files, a.repeat, mw, mc, static_cast<double>(files) / mw,
      mc > 0 ? static_cast<double>(files) / mc : 0.0, max_rss_mib(), mismatched, json_list(walls),
      json_list(cpus), json_list(starts), json_list(ends));
  return mismatched == 0 ? 0 : 1;
}

/// put_file / get_file of one large file, `rounds` times (the same target each time).
int run_transfer(const Args& a, bool put) {
  auto fs = make_fs();
  const std::string parent = a.remote.substr(0, a.remote.rfind('/'));
  fs->info(url(parent));  // warm-up: token, connection
  std::vector<double> walls, cpus, starts, ends;
  for (int r = 0; r < a.rounds; ++r) {
    if (!put) ::unlink(a.local.c_str());
    Interval iv;
    iv.start();
    if (put) {
      fs->put_file(a.local, url(a.remote));
    } else {
      fs->get_file(url(a.remote), a.local);
    }
    iv.stop();
    walls.push_back(iv.wall());
    cpus.push_back(iv.cpu());
    starts.push_back(iv.t0);
    ends.push_back(iv.t1);
  }
  const std::uint64_t bytes = fs->info(url(a.remote)).size.value_or(0);
  const double mw = median(walls);
  fmt::print(
      "{{\"scenario\":\"{}\",\"bytes\":{},\"rounds\":{},\"wall_s\":{:.6f},\"mib_per_s\":{:.1f},"
      "\"best_mib_per_s\":{:.1f},\"cpu_s\":{:.6f},\"max_rss_mib\":{:.1f},\"walls\":{},"
      "\"cpus\":{},\"t_starts\":{},\"t_ends\":{}}}\n",
      put ? "put" : "get", bytes, a.rounds, mw, static_cast<double>(bytes) / 1048576.0 / mw,
      static_cast<double>(bytes) / 1048576.0 / *std::min_element(walls.begin(), walls.end()),
      median(cpus), max_rss_mib(), json_list(walls), json_list(cpus), json_list(starts),
      json_list(ends));
  return 0;
}

// --- the server's ceiling for small direct reads ---------------------------------------------

struct HostPort {
  std::string host;
  int port = 80;
  std::string prefix;  // path of the API base
};

HostPort parse_base(const std::string& u) {
  HostPort hp;
  std::string rest = u.substr(u.find("://") + 3);
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  hp.prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (hp.prefix.ends_with('/')) hp.prefix.pop_back();
  const auto colon = authority.rfind(':');
  hp.host = authority.substr(0, colon);
  if (colon != std::string::npos) hp.port = std::atoi(authority.substr(colon + 1).c_str());
  return hp;
}

/// `conns` keep-alive connections, each sending the next of `reqs` as soon as the previous
/// answer is complete, for `seconds`. Returns {requests/s, non-200 answers}.
std::pair<double, std::size_t> hammer(const HostPort& hp, const std::vector<std::string>& reqs,
                                      int conns, double seconds) {
  struct Conn {
    int fd = -1;
    std::string in;
  };
  std::vector<Conn> cs(static_cast<std::size_t>(conns));
  std::vector<pollfd> pfds(cs.size());
  std::size_t next = 0, bad = 0;
  auto send_next = [&](int fd) {
    const std::string& r = reqs[next++ % reqs.size()];
    (void)!::send(fd, r.data(), r.size(), MSG_NOSIGNAL);
  };
  for (std::size_t i = 0; i < cs.size(); ++i) {
    cs[i].fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(hp.port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (::connect(cs[i].fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return {0, 0};
    int one = 1;
    setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pfds[i] = {cs[i].fd, POLLIN, 0};
  }
  const auto t0 = Clock::now();
  for (auto& c : cs) send_next(c.fd);
  std::uint64_t done = 0;
  const auto end = t0 + std::chrono::duration<double>(seconds);
  std::vector<char> buf(1 << 16);
  bool closed = false;
  while (Clock::now() < end && !closed) {
    if (::poll(pfds.data(), pfds.size(), 100) <= 0) continue;
    for (std::size_t i = 0; i < cs.size(); ++i) {
      if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = ::recv(cs[i].fd, buf.data(), buf.size(), 0);
      if (n <= 0) {
        closed = true;
        break;
      }
      cs[i].in.append(buf.data(), static_cast<std::size_t>(n));
      for (;;) {  // complete responses (Content-Length framing)
        const auto head = cs[i].in.find("\r\n\r\n");
        if (head == std::string::npos) break;
        const auto cl = cs[i].in.find("Content-Length: ");
        const std::size_t len =
            cl < head ? std::strtoull(cs[i].in.c_str() + cl + 16, nullptr, 10) : 0;
        if (cs[i].in.size() < head + 4 + len) break;
        if (cs[i].in.compare(0, 12, "HTTP/1.1 200") != 0) ++bad;
        cs[i].in.erase(0, head + 4 + len);
        ++done;
        send_next(cs[i].fd);
      }
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto& c : cs) ::close(c.fd);
  return {static_cast<double>(done) / secs, bad};
}

/// `count` times the same request on one keep-alive connection: each latency, send to the
/// last byte of the answer (Content-Length framing). Empty on a connection failure.
std::vector<double> sequential(const HostPort& hp, const std::string& req, int count,
                               std::size_t* bad) {
  std::vector<double> out;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(hp.port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return out;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::vector<char> buf(1 << 16);
  std::string in;
  for (int i = 0; i < count; ++i) {
    const auto t0 = Clock::now();
    (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    for (;;) {
      const auto head = in.find("\r\n\r\n");
      if (head != std::string::npos) {
        const auto cl = in.find("Content-Length: ");
        const std::size_t len = cl < head ? std::strtoull(in.c_str() + cl + 16, nullptr, 10) : 0;
        if (in.size() >= head + 4 + len) {
          if (in.compare(0, 12, "HTTP/1.1 200") != 0) ++*bad;
          in.erase(0, head + 4 + len);
          break;
        }
      }
      const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n <= 0) {
        ::close(fd);
        return out;
      }
      in.append(buf.data(), static_cast<std::size_t>(n));
    }
    out.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  ::close(fd);
  return out;
}

int run_ceiling(const Args& a) {
  const char* base = std::getenv("FIRECREST_URL");
  if (!base || a.token.empty()) throw std::runtime_error("ceiling needs FIRECREST_URL and --token");
  const HostPort hp = parse_base(base);
  std::vector<std::string> targets;
  if (!a.request.empty()) {
    targets.push_back(a.request);
  } else {
    for (std::size_t i = 0; i < a.files; ++i) {
      targets.push_back(std::string("/filesystem/") + kSystem +
                        "/ops/download?path=" + file_name(a.dir, i));
    }
  }
  std::vector<std::string> reqs;
  for (const std::string& t : targets) {
    reqs.push_back("GET " + hp.prefix + t + " HTTP/1.1\r\nHost: " + hp.host +
                   "\r\nAuthorization: Bearer " + a.token + "\r\nAccept: */*\r\n\r\n");
  }
  const double t0 = mono();
  if (a.count > 0) {
    std::size_t bad = 0;
    const std::vector<double> lat = sequential(hp, reqs.front(), a.count, &bad);
    const double med = median(lat);
    fmt::print(
        "{{\"scenario\":\"ceiling\",\"conns\":1,\"count\":{},\"median_s\":{:.6f},"
        "\"requests_per_s\":{:.2f},\"latencies\":{},\"non_200\":{},\"t_start\":{:.6f},"
        "\"t_end\":{:.6f}}}\n",
        lat.size(), med, med > 0 ? 1 / med : 0.0, json_list(lat), bad, t0, mono());
    return bad == 0 && static_cast<int>(lat.size()) == a.count ? 0 : 1;
  }
  const auto [rate, bad] = hammer(hp, reqs, a.conns, a.seconds);
  fmt::print(
      "{{\"scenario\":\"ceiling\",\"conns\":{},\"seconds\":{:.2f},\"requests_per_s\":{:.1f},"
      "\"non_200\":{},\"t_start\":{:.6f},\"t_end\":{:.6f}}}\n",
      a.conns, a.seconds, rate, bad, t0, mono());
  return bad == 0 && rate > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: firecrest_fs_bench cat|ls|find|put|get|ceiling [--key value]...\n");
    return 2;
  }
  const std::string mode = argv[1];
  Args a;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--dir") {
      a.dir = v;
    } else if (k == "--local") {
      a.local = v;
    } else if (k == "--remote") {
      a.remote = v;
    } else if (k == "--request") {
      a.request = v;
    } else if (k == "--token") {
      a.token = v;
    } else if (k == "--files") {
      a.files = std::strtoull(v, nullptr, 10);
    } else if (k == "--size") {
      a.size = std::strtoull(v, nullptr, 10);
    } else if (k == "--rounds") {
      a.rounds = std::max(1, std::atoi(v));
    } else if (k == "--repeat") {
      a.repeat = std::max(1, std::atoi(v));
    } else if (k == "--count") {
      a.count = std::max(0, std::atoi(v));
    } else if (k == "--conns") {
      a.conns = std::max(1, std::atoi(v));
    } else if (k == "--batch-size") {
      a.batch_size = std::atoi(v);
    } else if (k == "--seconds") {
      a.seconds = std::atof(v);
    } else {
      fmt::print(stderr, "firecrest_fs_bench: unknown option {}\n", k);
      return 2;
    }
  }
  int rc = 2;
  try {
    if (mode == "cat") {
      rc = run_cat(a);
    } else if (mode == "ls") {
      rc = run_ls(a);
    } else if (mode == "find") {
      rc = run_find(a);
    } else if (mode == "put" || mode == "get") {
      rc = run_transfer(a, mode == "put");
    } else if (mode == "ceiling") {
      rc = run_ceiling(a);
    } else {
      fmt::print(stderr, "firecrest_fs_bench: unknown scenario {}\n", mode);
    }
    std::fflush(stdout);
    asyncfs::shutdown_default_io_thread();
    return rc;
  } catch (const std::exception& e) {
    fmt::print(stderr, "firecrest_fs_bench {}: {}\n", mode, e.what());
    return 1;
  }
}
