#pragma once
// Command-line parsing (CLI11) and dispatch to the commands.

namespace asyncfs::cli {

/// \brief Parses argv and runs the chosen command.
/// \returns the exit code; parse errors are reported here (exit 2), help/version exit 0.
/// \throws UsageError and whatever the command lets escape (main maps them to exit codes).
int parse_and_run(int argc, char** argv);

}  // namespace asyncfs::cli
