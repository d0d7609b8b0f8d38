// SIGINT / SIGTERM during a download: the work is cancelled, no temporary file is left, and
// the tool exits 130 / 143 promptly. Also the byte-based bar of a single large transfer.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>

#include "run_cli.hpp"
#include "support/fault_server.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

std::size_t entries_in(const std::string& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

// Starts `asyncfs get` of a file that drips for far longer than the test, waits until the
// download's temporary exists, sends `sig` and checks what is left.
void interrupt_get(int sig, int expected_code) {
  auto& f = FaultServer::shared();
  TempDir dir;
  const std::string dest = dir / "dest";
  std::filesystem::create_directories(dest);
  SpawnOptions so;
  so.argv = {ASYNCFS_CLI_PATH, "get", f.url("slow?size=1000000&interval_ms=1"), dest + "/out.bin"};
  so.stderr_path = dir / "stderr.txt";
  ChildProcess cli(so);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (entries_in(dest) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(entries_in(dest), 1u) << "the download never started";
  std::this_thread::sleep_for(200ms);  // some bytes are in the temporary
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(cli.pid(), sig), 0);
  const auto status = cli.wait_for(5s);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(status.has_value()) << "still running 5 s after the signal";
  ASSERT_TRUE(WIFEXITED(*status)) << "killed by the signal instead of handling it";
  EXPECT_EQ(WEXITSTATUS(*status), expected_code);
  EXPECT_LT(took, 1500ms);
  EXPECT_EQ(entries_in(dest), 0u) << "a (hidden) temporary file was left behind";
  EXPECT_EQ(read_local_file(dir / "stderr.txt"), "");
}

TEST(CliSignals, SigintDuringGetExits130AndLeavesNoTemporary) { interrupt_get(SIGINT, 130); }

TEST(CliSignals, SigtermDuringGetExits143AndLeavesNoTemporary) { interrupt_get(SIGTERM, 143); }

TEST(CliProgress, SingleTransferShowsBytesPercentAndEta) {
  auto& f = FaultServer::shared();
  TempDir dir;
  // 40 bytes dripped over ~2 s: frames in between show the ETA.
  const auto r = run_cli({"--progress", "get", f.url("slow?size=40&interval_ms=50"), dir / "o"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("0/1 files")));
  EXPECT_THAT(r.err, HasSubstr("ETA "));
  EXPECT_THAT(r.err, HasSubstr("40 B/40 B 100%"));
  EXPECT_TRUE(std::regex_search(r.err, std::regex("[0-9]+ B/40 B [0-9]+%"))) << r.err;
}

}  // namespace
}  // namespace asyncfs::testing
