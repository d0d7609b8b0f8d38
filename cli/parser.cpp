#include "parser.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>

#include "args.hpp"
#include "asyncfs/log.hpp"
#include "asyncfs/registry.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "completion.hpp"
#include "output.hpp"
#include "suggest.hpp"
#include "version.hpp"

namespace asyncfs::cli {

namespace {

// Options that are absent unless given: CLI11 writes through a function into a std::optional.
template <class T>
CLI::Option* add_optional(CLI::App* app, const std::string& name, std::optional<T>& target,
                          const std::string& help) {
  return app->add_option_function<T>(
      name, [&target](const T& v) { target = v; }, help);
}

void add_maxdepth(CLI::App* app, std::optional<int>& target) {
  add_optional(app, "--maxdepth", target, "Descend at most N directory levels")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
}

void add_batch_size(CLI::App* app, std::optional<int>& target) {
  add_optional(app, "--batch-size", target,
               "At most N operations in flight (-1 = unbounded; default from config)")
      ->type_name("N");
}

std::vector<CLI::App*> subcommands_of(CLI::App* app) {
  return app->get_subcommands([](CLI::App*) { return true; });
}

// The command tree as completion sees it: every named option, every subcommand.
CommandSpec spec_of(CLI::App* app) {
  CommandSpec spec{app->get_name(), app->get_description(), {}, {}};
  for (const CLI::Option* opt : app->get_options()) {
    for (const auto& s : opt->get_snames()) spec.options.push_back("-" + s);
    for (const auto& l : opt->get_lnames()) spec.options.push_back("--" + l);
  }
  for (CLI::App* sub : subcommands_of(app)) spec.subcommands.push_back(spec_of(sub));
  return spec;
}

// A mistyped command is caught before CLI11 parses: it would only say that a subcommand is
// required. Global options are flags without values, so the first word that is not an option
// names the command (and the next one a firecrest action).
void check_command_names(CLI::App& app, int argc, char** argv) {
  CLI::App* cur = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("-")) continue;
    const auto subs = subcommands_of(cur);
    if (subs.empty()) return;
    CLI::App* found = nullptr;
    std::vector<std::string> names;
    for (CLI::App* sub : subs) {
      names.push_back(sub->get_name());
      if (sub->get_name() == arg) found = sub;
    }
    if (found) {
      cur = found;
      continue;
    }
    const std::string kind = cur == &app ? "a command" : "a " + cur->get_name() + " command";
    const std::string guess = nearest(arg, names);
    if (!guess.empty()) {
      throw UsageError(
          fmt::format("'{}' is not {}; did you mean '{}'?", one_line(arg), kind, guess));
    }
    throw UsageError(fmt::format("'{}' is not {} (see asyncfs {}--help)", one_line(arg), kind,
                                 cur == &app ? "" : cur->get_name() + " "));
  }
}

// "asyncfs ls" or "asyncfs firecrest submit": the deepest command parsed so far.
std::string command_path(CLI::App& app) {
  std::string path = "asyncfs";
  CLI::App* cur = &app;
  for (;;) {
    const auto parsed = cur->get_subcommands();
    if (parsed.empty()) return path;
    cur = parsed.front();
    path += " " + cur->get_name();
  }
}

// CLI11 lists the arguments it did not expect (last first); an option among them is named
// alone, the way other tools report an unknown option.
std::string extras_message(CLI::App& app, const CLI::ExtrasError& e) {
  std::string_view what = e.what();
  const std::size_t colon = what.find(": ");
  if (colon != std::string_view::npos) what.remove_prefix(colon + 2);
  std::vector<std::string> words;
  std::size_t pos = 0;
  while (pos < what.size()) {
    const std::size_t sp = what.find(' ', pos);
    const std::size_t end = sp == std::string_view::npos ? what.size() : sp;
    if (end > pos) words.emplace_back(what.substr(pos, end - pos));
    pos = end + 1;
  }
  const std::string cmd = command_path(app);
  std::string option;
  for (auto it = words.rbegin(); it != words.rend(); ++it) {
    if (it->size() > 1 && it->front() == '-') {
      option = *it;
      break;
    }
  }
  // "ls: " after the "asyncfs: " every error line starts with; nothing for the tool itself.
  const std::string where = cmd == "asyncfs" ? "" : cmd.substr(sizeof("asyncfs")) + ": ";
  if (!option.empty()) {
    return fmt::format("{}unknown option '{}' (see {} --help)", where,
                       one_line(option.substr(0, option.find('='))), cmd);
  }
  return fmt::format("{}unexpected argument '{}' (see {} --help)", where,
                     words.empty() ? std::string() : one_line(words.back()), cmd);
}

}  // namespace

int parse_and_run(int argc, char** argv) {
  CLI::App app{"asyncfs: one command line for every asyncfs filesystem (file, memory, ...)",
               "asyncfs"};
  // Help is --help only: -h means human-readable sizes where ls(1) and du(1) take it. Set
  // before the subcommands are added, which inherit it.
  app.set_help_flag("--help", "Print this help message and exit");
  app.require_subcommand(1);
  // Global options may also follow the command ("asyncfs cat --progress URL").
  app.fallthrough();
  app.set_version_flag(
      "--version",
      [] {
        std::string v = version_text();
        if (!v.empty() && v.back() == '\n') v.pop_back();  // CLI11 adds the newline
        return v;
      },
      "Print the version of asyncfs and of the libraries it runs with");
  app.footer(
      "Exit codes: 0 ok, 1 failed, 2 usage error, 3 not found, 4 permission denied,\n"
      "5 retryable (timeout, network, 429/5xx), 130/143 interrupted (SIGINT/SIGTERM).\n"
      "URLs: protocol://path or a local path. See docs/cli.md for every command.");
  bool want_progress = false;
  bool no_progress = false;
  CLI::Option* progress_on = app.add_flag(
      "--progress", want_progress, "Draw progress bars on stderr even when it is not a terminal");
  CLI::Option* progress_off =
      app.add_flag("--no-progress", no_progress, "Never draw progress bars");
  progress_on->excludes(progress_off);
  int verbosity = 0;
  app.add_flag("-v,--verbose", verbosity,
               "Log what the library does on stderr: -v retries and waits (info), -vv every "
               "request (debug), -vvv headers too (trace); overrides ASYNCFS_LOG");

  std::function<int(const GlobalArgs&)> command;
  const auto bind = [&command](CLI::App* sub, auto fn, auto& args) {
    sub->final_callback([&command, fn, &args] {
      command = [fn, &args](const GlobalArgs& g) { return fn(args, g); };
    });
  };

  LsArgs ls;
  {
    auto* sub = app.add_subcommand("ls", "List directory contents");
    sub->add_option("url", ls.urls, "Directories (or files) to list")->required();
    sub->add_flag("-l,--long", ls.long_format, "Long format: mode, size, mtime, name");
    sub->add_flag("-h,--human-readable", ls.human, "With -l: sizes as 1.5K, 23M, 4.0G");
    sub->add_flag("--json", ls.json, "Print one JSON array of info objects");
    bind(sub, run_ls, ls);
  }
  InfoArgs info;
  {
    auto* sub = app.add_subcommand("info", "Show what the filesystem knows about paths");
    sub->add_option("url", info.urls, "Paths to describe")->required();
    sub->add_flag("--json", info.json, "Print one JSON object per URL, one per line");
    bind(sub, run_info, info);
  }
  CatArgs cat;
  {
    auto* sub = app.add_subcommand("cat", "Print, save or count file contents (concurrently)");
    sub->add_option("url", cat.urls, "Files or globs, fetched concurrently");
    sub->add_option("--from-list", cat.from_list,
                    "Read more URLs from FILE, one per line (- = stdin)")
        ->type_name("FILE");
    add_optional(sub, "--start", cat.start, "First byte (negative: from the end)")->type_name("N");
    add_optional(sub, "--end", cat.end, "Stop before this byte (negative: from the end)")
        ->type_name("N");
    add_batch_size(sub, cat.batch_size);
    auto* out = sub->add_option("-o,--output-dir", cat.output_dir,
                                "Write each file below DIR instead of stdout")
                    ->type_name("DIR");
    auto* discard = sub->add_flag("--discard", cat.discard,
                                  "Keep nothing; print files=N bytes=B seconds=T on stdout");
    out->excludes(discard);
    bind(sub, run_cat, cat);
  }
  TransferArgs get, put, cp, mv;
  const auto add_transfer = [&](const char* name, const char* help, TransferArgs& args,
                                int (*fn)(const TransferArgs&, const GlobalArgs&),
                                const char* paths_help) {
    auto* sub = app.add_subcommand(name, help);
    sub->add_option("paths", args.paths, paths_help)->required();
    sub->add_flag("-r,--recursive", args.recursive, "Copy directories and their contents");
    add_maxdepth(sub, args.maxdepth);
    add_batch_size(sub, args.batch_size);
    bind(sub, fn, args);
  };
  add_transfer("get", "Download remote files to a local path", get, run_get,
               "Remote sources..., then the local destination");
  add_transfer("put", "Upload local files to a remote path", put, run_put,
               "Local sources..., then the remote destination");
  add_transfer("cp", "Copy within one filesystem", cp, run_cp, "Sources..., then the destination");
  add_transfer("mv", "Move within one filesystem", mv, run_mv, "Sources..., then the destination");
  RmArgs rm;
  {
    auto* sub = app.add_subcommand("rm", "Remove files (and directories with -r)");
    sub->add_option("url", rm.urls, "Paths or globs to remove")->required();
    sub->add_flag("-r,--recursive", rm.recursive, "Remove directories and their contents");
    add_maxdepth(sub, rm.maxdepth);
    bind(sub, run_rm, rm);
  }
  MkdirArgs mkdir;
  {
    auto* sub = app.add_subcommand("mkdir", "Create directories");
    sub->add_option("url", mkdir.urls, "Directories to create")->required();
    sub->add_flag("-p,--parents", mkdir.parents,
                  "Create missing parents; an existing directory is fine");
    bind(sub, run_mkdir, mkdir);
  }
  FindArgs find;
  {
    auto* sub = app.add_subcommand("find", "List every file below paths");
    sub->add_option("url", find.urls, "Roots to search")->required();
    add_maxdepth(sub, find.maxdepth);
    sub->add_flag("--withdirs", find.withdirs, "Also list directories");
    sub->add_flag("--json", find.json, "Print one JSON array of info objects per URL");
    bind(sub, run_find, find);
  }
  DuArgs du;
  {
    auto* sub = app.add_subcommand("du", "Total size of the files below paths");
    sub->add_option("url", du.urls, "Roots to measure")->required();
    add_maxdepth(sub, du.maxdepth);
    sub->add_flag("-a,--all", du.all, "Also print the size of every file");
    sub->add_flag("-h,--human-readable,--human", du.human, "Sizes as 1.5K, 23M, 4.0G");
    bind(sub, run_du, du);
  }
  GlobArgs glob;
  {
    auto* sub = app.add_subcommand("glob", "List paths matching patterns (*, **, ?, [...])");
    sub->add_option("pattern", glob.patterns, "Patterns; quote them from the shell")->required();
    add_maxdepth(sub, glob.maxdepth);
    sub->add_flag("--json", glob.json, "Print one JSON array of info objects per pattern");
    bind(sub, run_glob, glob);
  }

  FirecrestArgs fc_systems, fc_submit, fc_jobs, fc_wait, fc_cancel, fc_view;
  {
    auto* group = app.add_subcommand(
        "firecrest", "FirecREST jobs and files (FIRECREST_URL, FIRECREST_CLIENT_ID, ...)");
    group->require_subcommand(1);
    const auto action = [&](const char* name, const char* help, FirecrestArgs& args) {
      args.action = name;
      auto* sub = group->add_subcommand(name, help);
      bind(sub, run_firecrest, args);
      return sub;
    };
    auto* systems = action("systems", "List the systems and their status", fc_systems);
    systems->add_flag("--json", fc_systems.json, "Print the systems as a JSON array");
    auto* submit = action("submit", "Submit a job script; prints the job id", fc_submit);
    submit->add_option("system", fc_submit.system, "System name")->required();
    submit->add_option("script", fc_submit.script, "Local batch script file")->required();
    submit->add_option("--workdir", fc_submit.workdir, "Working directory (default: home)")
        ->type_name("DIR");
    submit->add_option("--env", fc_submit.env, "Environment variable for the job")
        ->type_name("K=V");
    auto* jobs = action("jobs", "List your jobs", fc_jobs);
    jobs->add_option("system", fc_jobs.system, "System name")->required();
    jobs->add_flag("--json", fc_jobs.json, "Print the jobs as a JSON array");
    auto* wait = action("wait", "Wait until jobs finish; exit 0 only if all completed", fc_wait);
    wait->add_option("system", fc_wait.system, "System name")->required();
    wait->add_option("jobid", fc_wait.job_ids, "Job ids")->required();
    add_optional(wait, "--timeout", fc_wait.timeout, "Give up after this many seconds")
        ->type_name("SECONDS");
    auto* cancel = action("cancel", "Cancel jobs", fc_cancel);
    cancel->add_option("system", fc_cancel.system, "System name")->required();
    cancel->add_option("jobid", fc_cancel.job_ids, "Job ids")->required();
    auto* view = action("view", "Print a (text) file of the cluster", fc_view);
    view->add_option("system", fc_view.system, "System name")->required();
    view->add_option("path", fc_view.path, "Absolute path")->required();
  }

  std::string shell;
  {
    auto* sub = app.add_subcommand("completion", "Print a shell completion script");
    sub->add_option("shell", shell, "bash, zsh or fish")->required();
    sub->final_callback([&command, &app, &shell] {
      command = [&app, &shell](const GlobalArgs&) {
        write_stdout(completion_script(shell, spec_of(&app), available_protocols()));
        return kExitOk;
      };
    });
  }

  check_command_names(app, argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ExtrasError& e) {
    Console::instance().error(extras_message(app, e));
    return kExitUsage;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    Console::instance().error(one_line(std::string(e.what()) + " (see asyncfs --help)"));
    return kExitUsage;
  }
  GlobalArgs global;
  if (want_progress) global.progress = ProgressMode::kOn;
  if (no_progress) global.progress = ProgressMode::kOff;
  if (!command) throw UsageError("no command given (see asyncfs --help)");
  // A bad ASYNCFS_LOG stops the command like a bad option (docs/logging.md).
  try {
    LogLevel level = log_level_from_env();
    if (verbosity > 0) {
      level = verbosity == 1   ? LogLevel::kInfo
              : verbosity == 2 ? LogLevel::kDebug
                               : LogLevel::kTrace;
    }
    set_log_level(level);
  } catch (const Error& e) {
    throw UsageError(one_line(e.what()));
  }
  // A broken configuration stops every command before it starts; completion needs none.
  if (command_path(app) != "asyncfs completion") check_config();
  return command(global);
}

}  // namespace asyncfs::cli
