#pragma once
/// \file bytes.hpp
/// \brief The byte buffer every API here passes file contents and bodies in.

#include <string>

namespace asyncfs {

/// File contents. std::string is used as a byte buffer: cheap to grow and to move.
using Bytes = std::string;

}  // namespace asyncfs
