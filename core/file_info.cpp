// Names of file types, as fsspec's info dicts spell them.

#include "asyncfs/file_info.hpp"

namespace asyncfs {

std::string_view file_type_name(FileType t) noexcept {
  switch (t) {
    case FileType::kFile:
      return "file";
    case FileType::kDirectory:
      return "directory";
    case FileType::kOther:
      return "other";
  }
  return "other";
}

}  // namespace asyncfs
