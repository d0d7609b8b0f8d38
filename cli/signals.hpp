#pragma once
// SIGINT and SIGTERM: cancel the work in flight so the library's failure paths remove their
// temporary files, then exit 130 / 143 (docs/cli.md "Signals").

namespace asyncfs::cli {

/// \brief Installs the handlers and starts the watcher thread. The handler only writes the
/// signal number to a pipe (async-signal-safe); the watcher shuts the default IoThread down,
/// which cancels every running operation and waits (bounded) for them to unwind. If the
/// process has not exited 2 s after the signal (or on a second signal), it exits at once.
void install_signal_handlers();

/// The signal that interrupted the tool, or 0.
int received_signal() noexcept;

/// \brief `rc`, or 128 + the signal when one arrived. Tells the watcher the process is about
/// to exit normally, so it no longer forces an exit.
int exit_code_after_signals(int rc);

}  // namespace asyncfs::cli
