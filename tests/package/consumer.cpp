// A program outside the asyncfs tree, built against an installed asyncfs three ways
// (scripts/test_package.sh): it writes, lists and reads memory:// and file:// and logs
// through its own sink. Exits 0 only when every result is right.

#include <asyncfs/asyncfs.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  // The log API links: records of the library would come here instead of stderr.
  asyncfs::set_log_sink([](asyncfs::LogLevel, std::string_view, std::string_view msg) {
    std::fprintf(stderr, "consumer log: %.*s\n", static_cast<int>(msg.size()), msg.data());
  });
  asyncfs::set_log_level(asyncfs::LogLevel::kWarn);

  auto mem = asyncfs::filesystem("memory");
  mem->pipe_file("/consumer/a.txt", "hello");
  const auto listing = mem->ls("/consumer");
  const std::string back = mem->cat_file("/consumer/a.txt");

  auto [local, dir] = asyncfs::url_to_fs(std::string("file://") + argv[1]);
  local->mkdir(dir + "/sub", true);
  local->pipe_file(dir + "/sub/b.txt", "world");
  const std::string disk = local->cat_file(dir + "/sub/b.txt");

  const bool ok = listing.size() == 1 && back == "hello" && disk == "world";
  std::printf("consumer: %s (%zu entries, '%s' '%s')\n", ok ? "ok" : "WRONG", listing.size(),
              back.c_str(), disk.c_str());
  asyncfs::set_log_sink({});
  asyncfs::shutdown_default_io_thread();
  return ok ? 0 : 1;
}
