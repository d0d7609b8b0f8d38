// rm and mkdir: one library call per URL, so each failure names its URL.

#include <string>
#include <vector>

#include "asyncfs/filesystem.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "progress.hpp"

namespace asyncfs::cli {

int run_rm(const RmArgs& args, const GlobalArgs& global) {
  std::vector<Target> targets;
  for (const auto& u : args.urls) targets.push_back(resolve(u));
  // RmOptions has no progress callback, so the bar counts finished URL arguments and shows
  // the elapsed time; it is drawn only for recursive removal, the case that can take long.
  Progress progress(args.recursive && progress_wanted(global.progress), "rm", "paths");
  progress.set_total(targets.size());
  progress.start();
  int rc = kExitOk;
  for (const auto& t : targets) {
    try {
      RmOptions opts;
      opts.recursive = args.recursive;
      opts.maxdepth = args.maxdepth;
      t.fs->rm(Paths(t.path), opts);
    } catch (...) {
      report_error(t.url, t.path, std::current_exception());
      rc = kExitFailed;
    }
    progress.add_done(1);
  }
  progress.finish();
  return rc;
}

int run_mkdir(const MkdirArgs& args, const GlobalArgs&) {
  std::vector<Target> targets;
  for (const auto& u : args.urls) targets.push_back(resolve(u));
  int rc = kExitOk;
  for (const auto& t : targets) {
    try {
      // -p as in mkdir(1): create missing parents and accept an existing directory.
      if (args.parents) {
        t.fs->makedirs(t.path, /*exist_ok=*/true);
      } else {
        t.fs->mkdir(t.path, /*create_parents=*/false);
      }
    } catch (...) {
      report_error(t.url, t.path, std::current_exception());
      rc = kExitFailed;
    }
  }
  return rc;
}

}  // namespace asyncfs::cli
