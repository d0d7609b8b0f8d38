// libcurl_floor: the leanest libcurl client, for bench/http/run_bench.py (bulk and cat scenarios).
//
// It measures the CPU floor of *any* libcurl-based design on this machine: no asyncfs, no event
// loop library, no buffering, no per-transfer allocation of ours. URLs come one per line from a
// file; PARALLEL transfers (default 64) run in one multi handle; each easy handle is configured
// once and reused, so a transfer only sets CURLOPT_URL; the body is counted and dropped. What is
// left is libcurl's own per-transfer work plus the kernel's (sockets, poll/epoll).
//
// Two drivers, the two ways libcurl can be driven:
//   --driver poll   curl_multi_poll() + curl_multi_perform(), as the curl CLI does (default);
//                   every perform call visits every transfer (a poll(fd, 0) for each idle one).
//   --driver epoll  curl_multi_socket_action() on an epoll set, as event-loop libraries (and
//                   asyncfs on libuv) do; only the sockets that are ready are visited.
// --buffer-size: CURLOPT_BUFFERSIZE, default 102400 as the curl CLI sets it (0: libcurl's 16 KiB,
// which costs more recv() calls on big bodies; no difference at 4-64 KiB).
//
// Usage: libcurl_floor LIST [PARALLEL] [--driver poll|epoll] [--buffer-size BYTES]
// Prints `files=N bytes=B seconds=S` (S: the transfers only, without process start-up and
// reading LIST) and exits 1 if any transfer failed or answered other than 200, 2 on bad usage.

#include <curl/curl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct Options {
  const char* list = nullptr;
  long parallel = 64;
  bool epoll = false;
  long buffer_size = 102400;  // as the curl CLI; 0: libcurl's default (16 KiB)
};

struct Run {
  CURLM* multi = nullptr;
  std::vector<std::string> urls;
  std::size_t next = 0;  // next URL to start
  std::size_t done = 0;  // transfers finished (ok or not)
  std::size_t ok = 0;
  std::uint64_t bytes = 0;
  int epfd = -1;
  bool timer_armed = false;  // the multi's timer (epoll driver)
  std::chrono::steady_clock::time_point deadline;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "libcurl_floor: %s\nusage: libcurl_floor LIST [PARALLEL] [--driver poll|epoll] "
               "[--buffer-size BYTES]\n",
               msg);
  std::exit(2);
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "libcurl_floor: %s\n", what);
  std::exit(1);
}

Options parse_args(int argc, char** argv) {
  Options o;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--driver" && i + 1 < argc) {
      std::string d = argv[++i];
      if (d != "poll" && d != "epoll") usage("--driver is poll or epoll");
      o.epoll = d == "epoll";
    } else if (a == "--buffer-size" && i + 1 < argc) {
      o.buffer_size = std::strtol(argv[++i], nullptr, 10);
    } else if (a.starts_with("--")) {
      usage(("unknown option " + a).c_str());
    } else if (positional == 0) {
      o.list = argv[i];
      ++positional;
    } else if (positional == 1) {
      o.parallel = std::strtol(argv[i], nullptr, 10);
      ++positional;
    } else {
      usage("too many arguments");
    }
  }
  if (o.list == nullptr) usage("no URL list");
  if (o.parallel < 1) usage("PARALLEL must be >= 1");
  return o;
}

std::vector<std::string> read_urls(const char* path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "libcurl_floor: cannot read %s\n", path);
    std::exit(2);
  }
  std::vector<std::string> urls;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) urls.push_back(std::move(line));
  }
  return urls;
}

size_t discard(char*, size_t size, size_t nmemb, void* userdata) {
  static_cast<Run*>(userdata)->bytes += size * nmemb;
  return size * nmemb;
}

// Options that stay for the handle's lifetime: set once, before its first transfer.
CURL* make_easy(Run& run, const Options& o) {
  CURL* easy = curl_easy_init();
  if (easy == nullptr) fail("curl_easy_init failed");
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &run);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);  // no SIGPIPE juggling per perform call
  curl_easy_setopt(easy, CURLOPT_PROXY, "");     // no *_proxy environment look-ups
  if (o.buffer_size > 0) curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, o.buffer_size);
  return easy;
}

void start_next(Run& run, CURL* easy) {
  curl_easy_setopt(easy, CURLOPT_URL, run.urls[run.next++].c_str());
  curl_multi_add_handle(run.multi, easy);
}

// Collects finished transfers and hands their easy handles the next URLs.
void reap(Run& run) {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(run.multi, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (msg->data.result == CURLE_OK && status == 200) {
      ++run.ok;
    } else {
      const char* url = nullptr;
      curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url);
      std::fprintf(stderr, "libcurl_floor: %s: %s, status %ld\n", url ? url : "?",
                   curl_easy_strerror(msg->data.result), status);
    }
    ++run.done;
    curl_multi_remove_handle(run.multi, easy);
    if (run.next < run.urls.size()) start_next(run, easy);
  }
}

void drive_poll(Run& run) {
  while (run.done < run.urls.size()) {
    int running = 0;
    curl_multi_perform(run.multi, &running);
    reap(run);
    if (run.done < run.urls.size()) curl_multi_poll(run.multi, nullptr, 0, 1000, nullptr);
  }
}

int on_socket(CURL*, curl_socket_t s, int what, void* userp, void* socketp) {
  Run& run = *static_cast<Run*>(userp);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(run.epfd, EPOLL_CTL_DEL, s, nullptr);
    return 0;
  }
  epoll_event ev{};
  ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
  ev.data.fd = s;
  if (socketp != nullptr) {
    epoll_ctl(run.epfd, EPOLL_CTL_MOD, s, &ev);
  } else {
    epoll_ctl(run.epfd, EPOLL_CTL_ADD, s, &ev);
    curl_multi_assign(run.multi, s, &run);  // any non-null marks the socket as registered
  }
  return 0;
}

int on_timer(CURLM*, long timeout_ms, void* userp) {
  Run& run = *static_cast<Run*>(userp);
  run.timer_armed = timeout_ms >= 0;
  run.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  return 0;
}

// Before the first transfer is added: adding one sets the multi's timer.
void setup_epoll(Run& run) {
  run.epfd = epoll_create1(EPOLL_CLOEXEC);
  if (run.epfd < 0) fail("epoll_create1 failed");
  curl_multi_setopt(run.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(run.multi, CURLMOPT_SOCKETDATA, &run);
  curl_multi_setopt(run.multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(run.multi, CURLMOPT_TIMERDATA, &run);
}

// One loop turn: wait for the sockets (at most until the multi's timer is due), hand the ready
// ones to libcurl, then fire the timer if it is due (a transfer just added is started that way).
void drive_epoll(Run& run) {
  using Clock = std::chrono::steady_clock;
  epoll_event events[64];
  int running = 0;
  while (run.done < run.urls.size()) {
    Clock::time_point now = Clock::now();
    int wait_ms = 1000;
    if (run.timer_armed) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(run.deadline - now).count();
      wait_ms = left < 0 ? 0 : int(std::min<long long>(left, wait_ms));
    }
    int n = epoll_wait(run.epfd, events, 64, wait_ms);
    if (n < 0 && errno != EINTR) fail("epoll_wait failed");
    for (int i = 0; i < n; ++i) {
      int flags = (events[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                  (events[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                  (events[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
      curl_multi_socket_action(run.multi, events[i].data.fd, flags, &running);
    }
    if (run.timer_armed && Clock::now() >= run.deadline) {
      run.timer_armed = false;
      curl_multi_socket_action(run.multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    reap(run);
  }
  close(run.epfd);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_args(argc, argv);
  Run run;
  run.urls = read_urls(o.list);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  run.multi = curl_multi_init();
  if (run.multi == nullptr) fail("curl_multi_init failed");
  // HTTP/1.1 only: no waiting to learn whether a connection could multiplex.
  curl_multi_setopt(run.multi, CURLMOPT_PIPELINING, long(CURLPIPE_NOTHING));
  if (o.epoll) setup_epoll(run);

  auto t0 = std::chrono::steady_clock::now();
  std::vector<CURL*> handles;
  while (handles.size() < std::size_t(o.parallel) && run.next < run.urls.size()) {
    handles.push_back(make_easy(run, o));
    start_next(run, handles.back());
  }
  if (o.epoll) {
    drive_epoll(run);
  } else {
    drive_poll(run);
  }
  std::chrono::duration<double> secs = std::chrono::steady_clock::now() - t0;

  for (CURL* easy : handles) {
    curl_multi_remove_handle(run.multi, easy);  // harmless when already removed
    curl_easy_cleanup(easy);
  }
  curl_multi_cleanup(run.multi);
  curl_global_cleanup();
  std::printf("files=%zu bytes=%llu seconds=%.6f\n", run.ok,
              static_cast<unsigned long long>(run.bytes), secs.count());
  return run.ok == run.urls.size() ? 0 : 1;
}
