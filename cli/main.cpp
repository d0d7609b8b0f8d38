// asyncfs: the command-line tool. Parsing and commands live in the other files of cli/; this
// file only maps failures to exit codes (0 ok, 1 an operation failed, 2 usage error).

#include <malloc.h>

#include <cstdio>
#include <exception>
#include <string>

#include "asyncfs/errors.hpp"
#include "asyncfs/io_thread.hpp"
#include "asyncfs/registry.hpp"
#include "common.hpp"
#include "parser.hpp"

int main(int argc, char** argv) {
  using asyncfs::cli::Console;
  int rc = asyncfs::cli::kExitFailed;
  // Listings build and free megabytes of small objects per call; with glibc's default trim
  // threshold every free gives the heap's top back to the kernel and the next listing faults
  // it in again. A short-lived tool gains nothing from returning memory early: measured on an
  // ls of 10,000 FirecREST entries, 48 ms of CPU per call with the default, 10 ms with this.
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  try {
    asyncfs::register_builtin_implementations();
    rc = asyncfs::cli::parse_and_run(argc, argv);
    asyncfs::cli::report_suppressed();
  } catch (const asyncfs::cli::UsageError& e) {
    Console::instance().error(e.what());
    rc = asyncfs::cli::kExitUsage;
  } catch (const asyncfs::Error& e) {
    // A malformed configuration (file or ASYNCFS_* variable) is reported like a usage error:
    // nothing ran, and the fix is in how the tool is invoked.
    Console::instance().error(asyncfs::cli::one_line(e.what()));
    rc = e.kind() == asyncfs::ErrorKind::kInvalidArgument ? asyncfs::cli::kExitUsage
                                                          : asyncfs::cli::kExitFailed;
  } catch (const std::exception& e) {
    Console::instance().error(asyncfs::cli::one_line(e.what()));
    rc = asyncfs::cli::kExitFailed;
  }
  std::fflush(stdout);
  // Stop the IO thread before static destructors run, so no loop outlives what it uses.
  asyncfs::shutdown_default_io_thread();
  return rc;
}
