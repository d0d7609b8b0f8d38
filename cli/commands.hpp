#pragma once
// One function per command; each returns the process exit code (common.hpp kExit*) and throws
// UsageError for mistakes in the command line.

#include "args.hpp"

namespace asyncfs::cli {

int run_ls(const LsArgs& args, const GlobalArgs& global);
int run_info(const InfoArgs& args, const GlobalArgs& global);
int run_find(const FindArgs& args, const GlobalArgs& global);
int run_du(const DuArgs& args, const GlobalArgs& global);
int run_glob(const GlobArgs& args, const GlobalArgs& global);

int run_cat(const CatArgs& args, const GlobalArgs& global);

int run_get(const TransferArgs& args, const GlobalArgs& global);
int run_put(const TransferArgs& args, const GlobalArgs& global);
int run_cp(const TransferArgs& args, const GlobalArgs& global);
int run_mv(const TransferArgs& args, const GlobalArgs& global);

int run_rm(const RmArgs& args, const GlobalArgs& global);
int run_mkdir(const MkdirArgs& args, const GlobalArgs& global);

int run_firecrest(const FirecrestArgs& args, const GlobalArgs& global);

}  // namespace asyncfs::cli
