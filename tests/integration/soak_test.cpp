// Soak: bulk cat and a recursive get against the fault server with 5% faulty responses
// (resets, 503, truncation, drips, corrupt gzip). Every file arrives byte-exact or fails with
// a typed error after its retries; memory stays flat over the rounds; no descriptor is left
// open once the IoThread is shut down; nothing hangs. ASYNCFS_SOAK_SECONDS (default 20)
// sets how long it runs (scripts/soak.sh runs it longer).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "asyncfs/asyncfs.hpp"
#include "asyncfs/backends/http.hpp"
#include "support/fault_server.hpp"
#include "support/http_transport.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs {
namespace {

namespace stdfs = std::filesystem;
using testing::FaultServer;

/// The fault server's soak_body(i).
std::string soak_body(std::size_t i) {
  const std::size_t size = 1024 + (i * 7919) % (63 * 1024);
  const std::string seed = "soak" + std::to_string(i) + ":";
  std::string out;
  while (out.size() < size) out += seed;
  out.resize(size);
  return out;
}

std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : stdfs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

double rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

int soak_seconds() {
  const char* v = std::getenv("ASYNCFS_SOAK_SECONDS");
  return v ? std::max(1, std::atoi(v)) : 20;
}

TEST(Soak, FivePercentFaultyResponsesNeverGiveWrongBytesOrLeak) {
  auto& f = FaultServer::shared();
  constexpr std::size_t kFiles = 400;
  // libuv opens a process-wide signal pipe with its first loop, once: not ours to count.
  IoThread("warm-up").shutdown();
  const std::size_t fds_before = open_descriptors();
  auto io = std::make_shared<IoThread>("soak-io");
  Options opts{{"retry_backoff", "0.01"},
               {"retry_max_wait", "0.2"},
               {"retries", "4"},
               {"transport", testing::test_http_transport()}};
  auto fs = http::make_filesystem(http::HttpOptions::from(std::move(opts), io));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(soak_seconds());
  std::size_t rounds = 0, files_ok = 0, typed_failures = 0, bytes = 0;
  std::vector<double> rss;
  testing::TempDir tmp("soak");
  do {
    const std::string seed = std::to_string(rounds);
    // Bulk cat of every file, with the round as the fault seed.
    std::vector<std::string> urls;
    for (std::size_t i = 0; i < kFiles; ++i) {
      urls.push_back(f.url("soak/f" + std::to_string(i) + "?seed=" + seed));
    }
    CatOptions copts;
    copts.on_error = OnError::kReturn;
    copts.batch_size = 64;
    CatResult r = fs->cat(urls, copts);
    ASSERT_EQ(r.items.size(), kFiles);
    for (std::size_t i = 0; i < kFiles; ++i) {
      const Outcome<Bytes>& o = r.items.at(urls[i]);
      if (o.has_value()) {
        ASSERT_TRUE(o.value() == soak_body(i)) << urls[i] << ": wrong bytes";
        ++files_ok;
        bytes += o.value().size();
      } else {
        try {
          std::rethrow_exception(o.error());
        } catch (const Error& e) {
          ++typed_failures;  // typed, after its retries (a corrupt gzip is not retried)
        } catch (...) {
          FAIL() << urls[i] << ": an untyped exception";
        }
      }
    }
    // A recursive get of the index (the listing is never faulted, the files are).
    const std::string dest = tmp / ("get" + seed);
    try {
      fs->get(f.url("soak/?n=100"), dest, TransferOptions{.recursive = true});
    } catch (const Error&) {
      ++typed_failures;  // one file's final failure fails the call; what arrived is checked
    }
    if (stdfs::exists(dest)) {
      for (const auto& e : stdfs::recursive_directory_iterator(dest)) {
        if (!e.is_regular_file()) continue;
        const std::string name = e.path().filename().string();
        ASSERT_TRUE(name.starts_with("f")) << "temporary or stray file left: " << e.path();
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        ASSERT_TRUE(ss.str() == soak_body(std::stoul(name.substr(1)))) << e.path();
        ++files_ok;
        bytes += ss.str().size();
      }
      stdfs::remove_all(dest);
    }
    rss.push_back(rss_mib());
    ++rounds;
  } while (std::chrono::steady_clock::now() < deadline);
  fs.reset();
  io->shutdown();
  io.reset();
  const std::size_t fds_after = open_descriptors();
  // The fault server's count of what it injected (read on another filesystem, after the
  // descriptor count).
  const std::string stats = http::make_filesystem(http::HttpOptions::from(Options{}, nullptr))
                                ->cat_file(f.url("soak-stats"));
  std::cout << "soak: " << rounds << " rounds, " << files_ok << " files byte-exact ("
            << bytes / (1 << 20) << " MiB), " << typed_failures << " typed failures, faults "
            << stats << ", RSS " << rss.front() << " -> " << rss[rss.size() / 2] << " -> "
            << rss.back() << " MiB, descriptors " << fds_before << " -> " << fds_after << "\n";
  EXPECT_GT(files_ok, 0u);
  EXPECT_NE(stats, "{}");                           // faults were injected
  EXPECT_LE(typed_failures, rounds * kFiles / 20);  // retries absorb nearly all of them
  // Flat after warm-up (allocator arenas fill during the first rounds): the second half of
  // the run may not add more than 16 MiB (measured: +4 MiB over 28 rounds).
  if (rss.size() >= 6) {
    EXPECT_LT(rss.back(), rss[rss.size() / 2] + 16.0) << "RSS grows round after round";
  }
  EXPECT_EQ(fds_after, fds_before);
}

}  // namespace
}  // namespace asyncfs
