// asyncfs: the command-line tool. Parsing and commands live in the other files of cli/; this
// file only maps failures to exit codes (exit_codes.hpp, docs/cli.md).

#include <malloc.h>

#include <cstdio>
#include <exception>
#include <string>

#include "asyncfs/errors.hpp"
#include "asyncfs/io_thread.hpp"
#include "asyncfs/registry.hpp"
#include "common.hpp"
#include "parser.hpp"
#include "signals.hpp"

int main(int argc, char** argv) {
  using asyncfs::cli::Console;
  namespace cli = asyncfs::cli;
  int rc = cli::kExitFailed;
  // Listings build and free megabytes of small objects per call; with glibc's default trim
  // threshold every free gives the heap's top back to the kernel and the next listing faults
  // it in again. A short-lived tool gains nothing from returning memory early: measured on an
  // ls of 10,000 FirecREST entries, 48 ms of CPU per call with the default, 10 ms with this.
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  cli::install_signal_handlers();
  try {
    asyncfs::register_builtin_implementations();
    rc = cli::final_exit_code(cli::parse_and_run(argc, argv));
    cli::report_suppressed();
  } catch (const cli::UsageError& e) {
    Console::instance().error(e.what());
    rc = cli::kExitUsage;
  } catch (const asyncfs::Error& e) {
    if (cli::received_signal() == 0) Console::instance().error(cli::one_line(e.what()));
    // Invalid arguments that escape a command are mistakes in how the tool was invoked.
    rc = e.kind() == asyncfs::ErrorKind::kInvalidArgument
             ? cli::kExitUsage
             : cli::exit_code_for(std::current_exception());
  } catch (const std::exception& e) {
    if (cli::received_signal() == 0) Console::instance().error(cli::one_line(e.what()));
    rc = cli::kExitFailed;
  }
  std::fflush(stdout);
  // Stop the IO thread before static destructors run, so no loop outlives what it uses.
  asyncfs::shutdown_default_io_thread();
  return cli::exit_code_after_signals(rc);
}
