// asyncfs cat: order, ranges, globs, --from-list, -o DIR, --discard, progress, failures.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "run_cli.hpp"
#include "support/fault_server.hpp"
#include "support/nginx_server.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

TEST(CliCat, SingleFileIsCopiedByteForByte) {
  TempDir dir;
  const std::string data("bin\0ary\n\xff\x01 data", 16);
  write_local_file(dir / "a.bin", data);
  const auto r = run_cli({"cat", dir / "a.bin"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, data);
  EXPECT_THAT(r.err, IsEmpty());
}

TEST(CliCat, FileUrlsWork) {
  TempDir dir;
  write_local_file(dir / "a", "hello");
  const auto r = run_cli({"cat", "file://" + (dir / "a")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello");
}

TEST(CliCat, ManyFilesComeOutInArgumentOrder) {
  TempDir dir;
  write_local_file(dir / "a", "A1");
  write_local_file(dir / "b", "B22");
  write_local_file(dir / "c", "C333");
  const auto r = run_cli({"cat", dir / "c", dir / "a", dir / "b", dir / "a"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "C333A1B22A1");
}

TEST(CliCat, OrderHoldsAcrossWindowsAndChunks) {
  TempDir dir;
  std::vector<std::string> args{"cat", "--batch-size", "7"};
  std::string expected;
  // Reverse name order so the output order cannot come from sorting.
  for (int i = 149; i >= 0; --i) {
    const std::string name = dir / ("f" + std::to_string(1000 + i));
    const std::string body = std::to_string(i) + ";";
    write_local_file(name, body);
    args.push_back(name);
    expected += body;
  }
  const auto r = run_cli(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected);
}

TEST(CliCat, ByteRanges) {
  TempDir dir;
  write_local_file(dir / "a", "0123456789");
  write_local_file(dir / "b", "abcdefghij");
  auto r = run_cli({"cat", "--start", "2", "--end", "5", dir / "a", dir / "b"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "234cde");
  r = run_cli({"cat", "--start=-3", dir / "a"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "789");
  r = run_cli({"cat", "--end", "4", dir / "b"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "abcd");
}

TEST(CliCat, GlobExpandsToSortedFiles) {
  TempDir dir;
  write_local_file(dir / "d/b.txt", "B");
  write_local_file(dir / "d/a.txt", "A");
  write_local_file(dir / "d/c.dat", "C");
  write_local_file(dir / "d/sub/z.txt", "Z");
  const auto r = run_cli({"cat", dir / "d/*.txt"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "AB");
}

TEST(CliCat, GlobWithoutMatchFails) {
  TempDir dir;
  const auto r = run_cli({"cat", dir / "*.nothing"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("*.nothing"));
}

TEST(CliCat, MissingFileFailsButOthersArePrinted) {
  TempDir dir;
  write_local_file(dir / "a", "A");
  write_local_file(dir / "b", "B");
  const auto r = run_cli({"cat", dir / "a", dir / "missing", dir / "b"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "AB");
  ASSERT_THAT(lines_of(r.err), SizeIs(1));
  EXPECT_THAT(r.err, HasSubstr(dir / "missing"));
}

TEST(CliCat, MixedProtocolsInOneCall) {
  TempDir dir;
  write_local_file(dir / "a", "A");
  const auto r = run_cli({"cat", dir / "a", "memory://absent/file", "file://" + (dir / "a")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "AA");
  ASSERT_THAT(lines_of(r.err), SizeIs(1));
  EXPECT_THAT(r.err, HasSubstr("memory://absent/file"));
}

TEST(CliCat, FromListFileAndStdin) {
  TempDir dir;
  write_local_file(dir / "a", "A");
  write_local_file(dir / "b", "B");
  write_local_file(dir / "list.txt", "# comment\n" + (dir / "b") + "\n\n" + (dir / "a") + "\r\n");
  auto r = run_cli({"cat", "--from-list", dir / "list.txt"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "BA");
  CliRun run;
  run.args = {"cat", dir / "a", "--from-list", "-"};
  run.stdin_data = (dir / "b") + "\n";
  r = run_cli(run);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "AB");
}

TEST(CliCat, FromListThatCannotBeReadIsUsageError) {
  TempDir dir;
  const auto r = run_cli({"cat", "--from-list", dir / "nope.txt"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("nope.txt"));
}

TEST(CliCat, DiscardPrintsExactlyOneSummaryLine) {
  TempDir dir;
  std::vector<std::string> args{"cat", "--discard", "--batch-size", "4"};
  for (int i = 0; i < 20; ++i) {
    const std::string name = dir / ("f" + std::to_string(i));
    write_local_file(name, std::string(static_cast<std::size_t>(i), 'x'));
    args.push_back(name);
  }
  const auto r = run_cli(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_match(r.out, std::regex("files=20 bytes=190 seconds=[0-9]+\\.[0-9]+\n")))
      << r.out;
  EXPECT_THAT(r.err, IsEmpty());
}

TEST(CliCat, DiscardCountsOnlySuccessfulFiles) {
  TempDir dir;
  write_local_file(dir / "a", "12345");
  const auto r = run_cli({"cat", "--discard", dir / "a", dir / "missing"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(std::regex_match(r.out, std::regex("files=1 bytes=5 seconds=[0-9.]+\n"))) << r.out;
  EXPECT_THAT(lines_of(r.err), SizeIs(1));
}

TEST(CliCat, DiscardAndOutputDirStreamLargeFiles) {
  // A 512 MiB file (sparse, so reading it costs no disk) used to be held whole: RSS past
  // 512 MiB. Streamed, memory holds buffers (14 MiB measured).
  TempDir dir;
  const std::string big = dir / "big.bin";
  const std::uint64_t size = 512ull << 20;
  {
    std::ofstream f(big, std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 1));
    f.put('z');
  }
  // ASan's quarantine would hold every freed buffer (256 MiB by default): keep it small, so
  // RSS shows what the program holds.
  auto run_small = [](std::vector<std::string> args) {
    CliRun run;
    run.args = std::move(args);
    run.env["ASAN_OPTIONS"] = "quarantine_size_mb=8:detect_leaks=1:abort_on_error=1";
    return run_cli(run);
  };
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // Shadow memory and the allocator's own caches add ~150 MiB under ASan; the body is 512.
  constexpr std::uint64_t kBoundMiB = 320;
#else
  constexpr std::uint64_t kBoundMiB = 64;
#endif
  auto r = run_small({"cat", "--discard", big});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_match(r.out, std::regex("files=1 bytes=536870912 seconds=[0-9.]+\n")))
      << r.out;
  EXPECT_LT(r.max_rss_kib, kBoundMiB << 10) << "cat --discard held the body";
  r = run_small({"cat", "-o", dir / "out", big});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::filesystem::file_size(dir / "out/big.bin"), size);
  EXPECT_LT(r.max_rss_kib, kBoundMiB << 10) << "cat -o held the body";
}

TEST(CliCat, ADeadServerIsOneLineNotOnePerFile) {
  // 20,000 URLs on a dead server printed 11,000-20,000 error lines over 12-138 s.
  const int port = pick_free_port();
  CliRun run;
  run.args = {"cat", "--discard", "--from-list", "-"};
  for (int i = 0; i < 2000; ++i) {
    run.stdin_data += "http://127.0.0.1:" + std::to_string(port) + "/f" + std::to_string(i) + "\n";
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_cli(run);
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
  EXPECT_LE(lines_of(r.err).size(), 40u) << r.err;
  EXPECT_NE(r.err.find("more files failed, not tried: the host refused connections"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(std::regex_match(r.out, std::regex("files=0 bytes=0 seconds=[0-9.]+\n"))) << r.out;
}

TEST(CliCat, ACompressionBombIsRefusedInBoundedMemory) {
  // 1 MB of gzip that decodes to 1 GiB: cat --discard reached 2.1 GB of RSS.
  auto& f = FaultServer::shared();
  CliRun run;
  run.args = {"cat", "--discard", f.url("bomb")};
  run.env["ASAN_OPTIONS"] = "quarantine_size_mb=8:detect_leaks=1:abort_on_error=1";
  const auto r = run_cli(run);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("max_decoded_ratio"), std::string::npos) << r.err;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  constexpr std::uint64_t kBoundMiB = 192;  // the sanitizer runtime's own memory on top
#else
  constexpr std::uint64_t kBoundMiB = 64;
#endif
  EXPECT_LT(r.max_rss_kib, kBoundMiB << 10) << "peak RSS " << r.max_rss_kib / 1024 << " MiB";
}

// A fault-server URL answering `body` after `delay_ms`: answers then finish out of order.
std::string delayed(const std::string& body, int delay_ms) {
  return FaultServer::shared().url("slow-headers?delay_ms=" + std::to_string(delay_ms) +
                                   "&body=" + body);
}

TEST(CliCat, OrderHoldsWhenAnswersFinishOutOfOrder) {
  // The earliest arguments answer last, so every file but the last finishes before the ones
  // in front of it: stdout must still follow the arguments.
  std::vector<std::string> args{"cat"};
  std::string expected;
  for (int i = 0; i < 60; ++i) {
    const std::string body = "b" + std::to_string(i) + ";";
    args.push_back(delayed(body, (60 - i) * 10));
    expected += body;
  }
  const auto r = run_cli(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected);
  EXPECT_THAT(r.err, IsEmpty());
}

TEST(CliCat, AFailingUrlInTheMiddleKeepsTheOrderOfTheRest) {
  auto& f = FaultServer::shared();
  std::vector<std::string> args{"cat"};
  std::string expected;
  for (int i = 0; i < 20; ++i) {
    if (i == 10) {
      args.push_back(f.url("status/404"));
      continue;
    }
    const std::string body = "m" + std::to_string(i) + ";";
    args.push_back(delayed(body, (20 - i) * 20));
    expected += body;
  }
  const auto r = run_cli(args);
  EXPECT_EQ(r.exit_code, 3) << r.err;  // not found (docs/cli.md, exit codes)
  EXPECT_EQ(r.out, expected);
  ASSERT_THAT(lines_of(r.err), SizeIs(1)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("status/404"));
}

TEST(CliCat, ASlowFileDoesNotHoldUpTheFilesAfterIt) {
  // One slow file at the start of every window's worth of arguments. Fetched in chunks of one
  // window, each chunk waited for its slow file (3 x 1.5 s); through one sliding window the
  // three slow files overlap and the rest flows past them.
  constexpr int kSlowMs = 1500;
  std::vector<std::string> args{"cat", "--batch-size", "4"};
  std::string expected;
  for (int i = 0; i < 12; ++i) {
    const std::string body = "s" + std::to_string(i) + ";";
    args.push_back(delayed(body, i % 4 == 0 ? kSlowMs : 0));
    expected += body;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_cli(args);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected);
  EXPECT_LT(took, std::chrono::milliseconds(2 * kSlowMs))
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
}

TEST(CliCat, StdoutStreamsALargeFileInItsTurn) {
  // 256 MiB to stdout, between two small files: held whole it made RSS pass 256 MiB; streamed
  // in its turn memory holds the ordering buffer and the stream's buffer.
  NginxServer& nginx = NginxServer::shared();
  TempDir dir;
  const std::uint64_t size = 256ull << 20;
  const auto sparse = [size](const std::string& path) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream f(path, std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 1));
    f.put('z');
  };
  sparse(nginx.path("cli-cat-stream/big.bin"));
  sparse(dir / "big.bin");
  nginx.write("cli-cat-stream/a.txt", "first");
  nginx.write("cli-cat-stream/b.txt", "last");
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  constexpr std::uint64_t kBoundMiB = 192;  // the sanitizer runtime's own memory on top
#else
  constexpr std::uint64_t kBoundMiB = 64;
#endif
  for (const std::string& big : {nginx.url("cli-cat-stream/big.bin"), dir / "big.bin"}) {
    CliRun run;
    run.args = {"cat", nginx.url("cli-cat-stream/a.txt"), big, nginx.url("cli-cat-stream/b.txt")};
    run.env["ASAN_OPTIONS"] = "quarantine_size_mb=8:detect_leaks=1:abort_on_error=1";
    run.stdout_keep = 4096;
    const auto r = run_cli(run);
    EXPECT_EQ(r.exit_code, 0) << big << ": " << r.err;
    EXPECT_EQ(r.out_bytes, size + 9) << big;
    EXPECT_EQ(r.out, "first" + std::string(4096 - 5, '\0')) << big;
    EXPECT_EQ(r.out_tail, std::string(4096 - 5, '\0') + "zlast") << big;
    EXPECT_LT(r.max_rss_kib, kBoundMiB << 10)
        << big << ": peak RSS " << r.max_rss_kib / 1024 << " MiB";
  }
}

TEST(CliCat, OutputDirKeepsRelativePaths) {
  TempDir dir;
  write_local_file(dir / "src/x/f.txt", "X");
  write_local_file(dir / "src/y/f.txt", "Y");
  write_local_file(dir / "src/y/deeper/g.txt", "G");
  const std::string out = dir / "out";
  const auto r = run_cli(
      {"cat", "-o", out, dir / "src/x/f.txt", dir / "src/y/f.txt", dir / "src/y/deeper/g.txt"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_EQ(read_local_file(out + "/x/f.txt"), "X");
  EXPECT_EQ(read_local_file(out + "/y/f.txt"), "Y");
  EXPECT_EQ(read_local_file(out + "/y/deeper/g.txt"), "G");
}

TEST(CliCat, OutputDirSingleFileUsesBasename) {
  TempDir dir;
  write_local_file(dir / "src/deep/name.bin", "N");
  const auto r = run_cli({"cat", "--output-dir", dir / "out", dir / "src/deep/name.bin"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_local_file(dir / "out/name.bin"), "N");
}

TEST(CliCat, OutputDirWithRangesAndGlob) {
  TempDir dir;
  write_local_file(dir / "src/a.txt", "abcdef");
  write_local_file(dir / "src/b.txt", "uvwxyz");
  const auto r =
      run_cli({"cat", "-o", dir / "out", "--start", "1", "--end", "3", dir / "src/*.txt"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_local_file(dir / "out/a.txt"), "bc");
  EXPECT_EQ(read_local_file(dir / "out/b.txt"), "vw");
}

TEST(CliCat, ForcedProgressGoesToStderrOnly) {
  TempDir dir;
  write_local_file(dir / "a", "A");
  write_local_file(dir / "b", "B");
  auto r = run_cli({"cat", "--progress", dir / "a", dir / "b"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "AB");
  EXPECT_THAT(r.err, HasSubstr("cat ["));
  EXPECT_THAT(r.err, HasSubstr("2/2 files"));
  EXPECT_EQ(r.err.back(), '\n');  // the bar is finished, not left dangling

  r = run_cli({"--progress", "cat", "--discard", dir / "a", dir / "b"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_match(r.out, std::regex("files=2 bytes=2 seconds=[0-9.]+\n"))) << r.out;
  EXPECT_THAT(r.err, HasSubstr("2/2 files"));

  r = run_cli({"cat", "--no-progress", dir / "a"});
  EXPECT_THAT(r.err, Not(HasSubstr("[")));
}

TEST(CliCat, ErrorLineDoesNotMixWithTheBar) {
  TempDir dir;
  write_local_file(dir / "a", "A");
  const auto r = run_cli({"cat", "--progress", dir / "a", dir / "missing"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "A");
  bool found = false;
  for (std::string line : lines_of(r.err)) {
    if (line.find(dir / "missing") == std::string::npos) continue;
    // What a terminal shows: a bar erased with "\r\x1b[K" leaves only what follows.
    const auto erased = line.rfind("\x1b[K");
    if (erased != std::string::npos) line = line.substr(erased + 3);
    found = true;
    // The error starts its own line (the bar's "\r" redraws never precede it on that line).
    EXPECT_EQ(line.rfind("asyncfs: ", 0), 0u) << line;
  }
  EXPECT_TRUE(found) << r.err;
}

}  // namespace
}  // namespace asyncfs::testing
