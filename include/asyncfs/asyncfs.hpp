#pragma once
/// \file asyncfs.hpp
/// \brief Umbrella header: everything a user of asyncfs needs.

#include "asyncfs/backends/local.hpp"
#include "asyncfs/backends/memory.hpp"
#include "asyncfs/callback.hpp"
#include "asyncfs/config.hpp"
#include "asyncfs/errors.hpp"
#include "asyncfs/file.hpp"
#include "asyncfs/file_info.hpp"
#include "asyncfs/filesystem.hpp"
#include "asyncfs/gather.hpp"
#include "asyncfs/io_thread.hpp"
#include "asyncfs/log.hpp"
#include "asyncfs/options.hpp"
#include "asyncfs/outcome.hpp"
#include "asyncfs/path.hpp"
#include "asyncfs/registry.hpp"
#include "asyncfs/sync.hpp"
#include "asyncfs/task.hpp"
