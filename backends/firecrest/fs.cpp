// FirecrestFileSystem: options, paths, listings and metadata operations. Reads, writes and
// file objects are in fs_io.cpp.
//
// A stripped path is "system/abs/path". Every operation splits it, checks both parts (the
// client refuses what the server would misread) and calls the client.

#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "asyncfs/errors.hpp"
#include "asyncfs/gather.hpp"
#include "asyncfs/path.hpp"
#include "backends/firecrest/client_impl.hpp"
#include "backends/firecrest/fs_state.hpp"
#include "core/filesystem_detail.hpp"

namespace asyncfs::firecrest {

// --- paths -----------------------------------------------------------------------------------

std::string RemotePath::url() const { return display(system, path); }

RemotePath split_remote(std::string_view stripped) {
  const auto slash = stripped.find('/');
  RemotePath rp;
  rp.system = check_system(std::string(stripped.substr(0, slash)));
  rp.path = slash == std::string_view::npos ? "/" : std::string(stripped.substr(slash));
  return rp;
}

namespace {

constexpr std::string_view kScheme = "firecrest://";

std::uint32_t type_bits(char type) {
  switch (type) {
    case 'd':
      return S_IFDIR;
    case 'l':
      return S_IFLNK;
    case 'c':
      return S_IFCHR;
    case 'b':
      return S_IFBLK;
    case 'p':
      return S_IFIFO;
    case 's':
      return S_IFSOCK;
    default:
      return S_IFREG;
  }
}

/// "rwxr-sr-t" → 02755 | 01000 ...; unknown characters count as '-'.
std::uint32_t permission_bits(std::string_view p) {
  if (p.size() < 9) return 0;
  std::uint32_t m = 0;
  static constexpr std::uint32_t kBits[9] = {0400, 0200, 0100, 0040, 0020, 0010, 0004, 0002, 0001};
  for (int i = 0; i < 9; ++i) {
    const char c = p[i];
    if (c == 'r' || c == 'w' || c == 'x' || c == 's' || c == 't') m |= kBits[i];
  }
  if (p[2] == 's' || p[2] == 'S') m |= S_ISUID;
  if (p[5] == 's' || p[5] == 'S') m |= S_ISGID;
  if (p[8] == 't' || p[8] == 'T') m |= S_ISVTX;
  return m;
}

FileType type_of_mode(std::uint32_t mode) {
  if (S_ISDIR(mode)) return FileType::kDirectory;
  if (S_ISREG(mode)) return FileType::kFile;
  return FileType::kOther;
}

std::string join_name(const std::string& dir, std::string_view rel) {
  return dir + "/" + std::string(rel);
}

}  // namespace

FileInfo info_of(std::string name, RemoteFile f) {
  FileInfo i;
  i.name = std::move(name);
  i.type = f.type == 'd'   ? FileType::kDirectory
           : f.type == '-' ? FileType::kFile
                           : FileType::kOther;
  i.size = f.size;
  i.mode = type_bits(f.type) | permission_bits(f.permissions);
  if (f.type == 'l') {
    i.link_target = std::move(f.link_target);
    i.extra.emplace("islink", "true");
  }
  i.extra.emplace("user", std::move(f.user));
  i.extra.emplace("group", std::move(f.group));
  // Server-local wall-clock time without a zone: kept as text, not guessed into mtime (info()
  // has the exact time).
  i.extra.emplace("last_modified", std::move(f.last_modified));
  return i;
}

FileInfo info_of(std::string name, const StatResult& st) {
  FileInfo i;
  i.name = std::move(name);
  i.type = type_of_mode(st.mode);
  i.size = st.size;
  i.mtime = static_cast<double>(st.mtime);
  i.mode = st.mode;
  i.extra["uid"] = std::to_string(st.uid);
  i.extra["gid"] = std::to_string(st.gid);
  return i;
}

// --- options and construction ----------------------------------------------------------------

FirecrestFsOptions FirecrestFsOptions::from(Options opts, std::shared_ptr<IoThread> io) {
  FirecrestFsOptions out;
  out.base = FsBaseOptions::from(opts, io);
  if (auto v = opts.get_int("block_size")) {
    if (*v <= 0) throw InvalidArgument("block_size", "block_size must be a positive number");
    out.block_size = static_cast<std::size_t>(*v);
  }
  if (auto v = opts.get_bool("verify_checksum")) out.verify_checksum = *v;
  opts.take("block_size");
  opts.take("verify_checksum");
  out.client = FirecrestOptions::from_config(std::move(opts), std::move(io));
  return out;
}

FirecrestFileSystem::FirecrestFileSystem(FirecrestFsOptions options)
    : AsyncFileSystem(options.base), options_(std::move(options)) {
  options_.client.io = io_ptr();
  client_ = Client::create(options_.client);
  state_ = std::make_unique<State>();
}

FirecrestFileSystem::~FirecrestFileSystem() = default;

std::shared_ptr<FirecrestFileSystem> make_filesystem(FirecrestFsOptions options) {
  return std::make_shared<FirecrestFileSystem>(std::move(options));
}

Capabilities FirecrestFileSystem::capabilities() const {
  Capabilities c;
  c.range_read = true;  // large files: ranged GETs of one staged copy
  c.rename = true;      // server-side mv (a transfer job: no data through this machine)
  c.copy = true;        // server-side cp
  c.modified_time = true;
  c.errors_carry_http_status = true;
  return c;
}

std::string FirecrestFileSystem::strip_protocol(std::string_view in) const {
  std::string_view p = in;
  if (p.size() >= kScheme.size() &&
      std::equal(kScheme.begin(), kScheme.end(), p.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
    p.remove_prefix(kScheme.size());
  }
  if (p.empty() || p.front() == '/') {
    throw InvalidArgument(path::escape_for_message(in),
                          "no system name: firecrest URLs are firecrest://SYSTEM/abs/path");
  }
  // Collapse repeated '/' and drop a trailing one: "daint//a/" names "daint/a".
  std::string out;
  out.reserve(p.size());
  for (char c : p) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  while (out.ends_with('/')) out.pop_back();
  RemotePath rp = split_remote(out);
  check_path(rp.system, rp.path);
  return rp.name();
}

// --- listings --------------------------------------------------------------------------------

namespace {

/// The remote path of a name made by RemotePath::name() ("system/abs/path", or "system").
std::string remote_path_of(const std::string& system, const std::string& name) {
  return name.size() > system.size() ? name.substr(system.size()) : std::string("/");
}

/// Symbolic links in a listing take their target's type and size (as a local disk's info
/// does), keeping link_target; a dangling link stays "other".
Task<void> resolve_links(Client* client, std::string system, std::vector<FileInfo>* infos) {
  std::vector<std::size_t> links;
  for (std::size_t i = 0; i < infos->size(); ++i) {
    if ((*infos)[i].link_target) links.push_back(i);
  }
  if (links.empty()) co_return;
  auto make = [&](std::size_t k) {
    return client->_stat(system, remote_path_of(system, (*infos)[links[k]].name), true);
  };
  GatherOptions g;
  g.batch_size = 16;
  auto outs = co_await gather<StatResult>(links.size(), make, g);
  for (std::size_t k = 0; k < links.size(); ++k) {
    FileInfo& fi = (*infos)[links[k]];
    if (outs[k].has_error()) {
      try {
        std::rethrow_exception(outs[k].error());
      } catch (const NotFound&) {
        continue;  // dangling
      }
    }
    const StatResult& st = outs[k].value();
    fi.type = type_of_mode(st.mode);
    fi.size = st.size;
    fi.mtime = static_cast<double>(st.mtime);
  }
}

}  // namespace

Task<std::vector<FileInfo>> FirecrestFileSystem::_ls(std::string path) {
  RemotePath rp = split_remote(strip_protocol(path));
  ListOptions lo;
  lo.show_hidden = true;
  std::vector<RemoteFile> entries = co_await client_->_list_files(rp.system, rp.path, lo);
  // `ls -l` of anything but a directory prints the operand as given: one absolute name.
  const bool self = entries.size() == 1 && entries[0].name.starts_with('/');
  if (self && entries[0].type == 'l') {
    // A link to a directory lists the directory, as fsspec's ls does on a local disk.
    StatResult target{};
    bool dir = false;
    try {
      target = co_await client_->_stat(rp.system, rp.path, true);
      dir = S_ISDIR(target.mode);
    } catch (const NotFound&) {
    }
    if (dir) entries = co_await client_->_list_files(rp.system, rp.path + "/", lo);
  }
  const bool listed_self = entries.size() == 1 && entries[0].name.starts_with('/');
  std::vector<FileInfo> out;
  out.reserve(entries.size());
  const std::string base = rp.name();
  for (RemoteFile& e : entries) {
    std::string name = listed_self ? base : join_name(base, e.name);
    out.push_back(info_of(std::move(name), std::move(e)));
  }
  co_await resolve_links(client_.get(), rp.system, &out);
  co_return out;
}

Task<FileInfo> FirecrestFileSystem::_info(std::string path) {
  RemotePath rp = split_remote(strip_protocol(path));
  StatResult st = co_await client_->_stat(rp.system, rp.path, false);
  if (!S_ISLNK(st.mode)) co_return info_of(rp.name(), st);
  FileInfo link = info_of(rp.name(), st);
  link.extra["islink"] = "true";
  try {
    StatResult target = co_await client_->_stat(rp.system, rp.path, true);
    FileInfo i = info_of(rp.name(), target);
    i.extra["islink"] = "true";
    co_return i;
  } catch (const NotFound&) {
  }
  co_return link;  // dangling: the link itself
}

Task<std::map<std::string, FileInfo>> FirecrestFileSystem::_find(std::string path,
                                                                 FindOptions opts) {
  detail::check_maxdepth(opts.maxdepth, "find");
  const std::string root = strip_protocol(path);
  RemotePath rp = split_remote(root);
  ListOptions lo;
  lo.show_hidden = true;
  lo.recursive = true;
  std::vector<RemoteFile> entries;
  bool missing = false;
  bool walk = false;
  try {
    entries = co_await client_->_list_files(rp.system, rp.path, lo);
  } catch (const NotFound&) {
    missing = true;
  } catch (const Timeout&) {
    walk = true;  // the server's command timeout: directory by directory instead
  } catch (const TooLarge&) {
    walk = true;  // the listing passed the output cap
  }
  if (walk) co_return co_await AsyncFileSystem::_find(root, std::move(opts));
  std::map<std::string, FileInfo> out;
  if (missing) co_return out;

  std::vector<FileInfo> infos;
  infos.reserve(entries.size());
  const bool self = entries.size() == 1 && entries[0].name.starts_with('/');
  for (RemoteFile& e : entries) {
    if (self) {
      infos.push_back(info_of(root, std::move(e)));
      continue;
    }
    if (opts.maxdepth) {
      const auto depth = 1 + std::count(e.name.begin(), e.name.end(), '/');
      if (depth > *opts.maxdepth) continue;
    }
    std::string name = join_name(root, e.name);
    infos.push_back(info_of(std::move(name), std::move(e)));
  }
  co_await resolve_links(client_.get(), rp.system, &infos);
  if (self) {
    // find of a file is the file; of a link to a directory, the directory's tree.
    if (infos[0].is_dir()) co_return co_await AsyncFileSystem::_find(root, std::move(opts));
    if (infos[0].is_file()) out.emplace(root, std::move(infos[0]));
    co_return out;
  }
  if (opts.withdirs) {
    FileInfo self_info = co_await _info(root);
    if (self_info.is_dir()) out.insert_or_assign(root, std::move(self_info));
  }
  for (FileInfo& i : infos) {
    if (i.is_dir() && !opts.withdirs) continue;
    std::string name = i.name;
    out.insert_or_assign(std::move(name), std::move(i));
  }
  if (!opts.prefix.empty()) {
    const std::string want = path::join(root, opts.prefix);
    std::erase_if(out, [&want](const auto& kv) { return !kv.first.starts_with(want); });
  }
  co_return out;
}

// --- metadata changes ------------------------------------------------------------------------

Task<void> FirecrestFileSystem::_mkdir(std::string path, bool create_parents) {
  RemotePath rp = split_remote(strip_protocol(path));
  if (create_parents) {
    // mkdir -p succeeds on an existing directory; fsspec's mkdir does not.
    bool exists = true;
    try {
      co_await client_->_stat(rp.system, rp.path, false);
    } catch (const NotFound&) {
      exists = false;
    }
    if (exists) throw AlreadyExists(rp.url(), "mkdir: the path exists");
  }
  co_await client_->_mkdir(rp.system, rp.path, create_parents);
}

Task<void> FirecrestFileSystem::_makedirs(std::string path, bool exist_ok) {
  RemotePath rp = split_remote(strip_protocol(path));
  if (rp.path == "/") co_return;
  if (!exist_ok) {
    bool exists = true;
    try {
      co_await client_->_stat(rp.system, rp.path, false);
    } catch (const NotFound&) {
      exists = false;
    }
    if (exists) throw AlreadyExists(rp.url(), "makedirs: the path exists");
  }
  co_await client_->_mkdir(rp.system, rp.path, /*parent=*/true);
}

Task<void> FirecrestFileSystem::_rmdir(std::string path) {
  RemotePath rp = split_remote(strip_protocol(path));
  StatResult st = co_await client_->_stat(rp.system, rp.path, false);
  if (!S_ISDIR(st.mode)) throw NotADirectory(rp.url(), "rmdir: not a directory");
  ListOptions lo;
  lo.show_hidden = true;
  auto entries = co_await client_->_list_files(rp.system, rp.path, lo);
  if (!entries.empty()) throw DirectoryNotEmpty(rp.url(), "rmdir: the directory is not empty");
  co_await client_->_rm(rp.system, rp.path);
}

Task<void> FirecrestFileSystem::_rm_file(std::string path) {
  RemotePath rp = split_remote(strip_protocol(path));
  // The server's rm is `rm -r`: check first, so that removing "a file" never takes a tree.
  StatResult st = co_await client_->_stat(rp.system, rp.path, false);
  if (S_ISDIR(st.mode)) {
    throw IsADirectory(rp.url(), "rm_file: a directory (use rm with recursive=true)");
  }
  co_await client_->_rm(rp.system, rp.path);
}

Task<void> FirecrestFileSystem::_rm(Paths paths, RmOptions opts) {
  if (!opts.recursive || opts.maxdepth) {
    co_return co_await AsyncFileSystem::_rm(std::move(paths), std::move(opts));
  }
  // The server removes a whole tree in one command: one request per top-level path instead
  // of one per file.
  std::vector<std::string> names = co_await _expand_path(std::move(paths), false, std::nullopt);
  std::sort(names.begin(), names.end());
  std::vector<RemotePath> tops;
  for (const std::string& n : names) {
    if (!tops.empty() && n.starts_with(tops.back().name() + "/")) continue;
    tops.push_back(split_remote(n));
  }
  auto make = [&](std::size_t i) { return client_->_rm(tops[i].system, tops[i].path); };
  GatherOptions g;
  g.batch_size = window(opts.batch_size, /*nofiles=*/false);
  auto outs = co_await gather<void>(tops.size(), make, g);
  for (auto& o : outs) {
    if (o.has_error()) std::rethrow_exception(o.error());
  }
}

Task<void> FirecrestFileSystem::_cp_file(std::string path1, std::string path2) {
  RemotePath a = split_remote(strip_protocol(path1));
  RemotePath b = split_remote(strip_protocol(path2));
  if (a.system == b.system) {
    co_await client_->_cp(a.system, a.path, b.path);
    co_return;
  }
  // Two clusters: through a local temporary file (the API has no cross-system copy).
  co_await copy_between_systems(a.name(), b.name());
}

Task<void> FirecrestFileSystem::_mv_file(std::string path1, std::string path2) {
  RemotePath a = split_remote(strip_protocol(path1));
  RemotePath b = split_remote(strip_protocol(path2));
  if (a.system == b.system) {
    co_await client_->_mv(a.system, a.path, b.path);
    co_return;
  }
  co_await _cp_file(a.name(), b.name());
  co_await client_->_rm(a.system, a.path);
}

Task<bool> FirecrestFileSystem::tree_in_one_job(Paths from, Paths to, TransferOptions opts,
                                                bool move) {
  // fsspec's copy(dir, dst, recursive=True) makes dst a copy of dir when dst does not exist,
  // and dst/basename(dir) when dst is a directory: exactly what `cp -R dir dst` and
  // `mv dir dst` do. A trailing "/" (the contents of dir), globs, lists and maxdepth differ.
  (void)window(opts.batch_size, /*nofiles=*/true);  // a bad window is refused either way
  if (!opts.recursive || opts.maxdepth || from.is_list || to.is_list) co_return false;
  if (from.items.size() != 1 || to.items.size() != 1) co_return false;
  const std::string& raw_src = from.items[0];
  const std::string& raw_dst = to.items[0];
  if (raw_src.ends_with('/') || path::has_magic(raw_src)) co_return false;
  RemotePath a = split_remote(strip_protocol(raw_src));
  RemotePath b = split_remote(strip_protocol(raw_dst));
  if (a.system != b.system || a.path == "/" || b.path == a.path ||
      b.path.starts_with(a.path + "/")) {
    co_return false;
  }
  StatResult src{};
  try {
    src = co_await client_->_stat(a.system, a.path, false);
  } catch (const NotFound&) {
    co_return false;  // the general way reports it
  }
  if (!S_ISDIR(src.mode)) co_return false;
  bool dst_missing = false;
  StatResult dst{};
  try {
    dst = co_await client_->_stat(b.system, b.path, true);
  } catch (const NotFound&) {
    dst_missing = true;
  }
  if (!dst_missing && !S_ISDIR(dst.mode)) co_return false;
  if (dst_missing && raw_dst.ends_with('/')) co_return false;
  if (dst_missing) {
    // The parent must exist for cp/mv; fsspec makes it.
    co_await client_->_mkdir(b.system, path::parent(b.path), /*parent=*/true);
  }
  if (opts.progress) opts.progress->set_size(1);
  if (move) {
    co_await client_->_mv(a.system, a.path, b.path);
  } else {
    co_await client_->_cp(a.system, a.path, b.path);
  }
  if (opts.progress) opts.progress->relative_update(1);
  co_return true;
}

Task<void> FirecrestFileSystem::_copy(Paths path1, Paths path2, TransferOptions opts) {
  bool done = co_await tree_in_one_job(path1, path2, opts, /*move=*/false);
  if (done) co_return;
  co_await AsyncFileSystem::_copy(std::move(path1), std::move(path2), std::move(opts));
}

Task<void> FirecrestFileSystem::_mv(Paths path1, Paths path2, TransferOptions opts) {
  bool done = co_await tree_in_one_job(path1, path2, opts, /*move=*/true);
  if (done) co_return;
  co_await AsyncFileSystem::_mv(std::move(path1), std::move(path2), std::move(opts));
}

Task<double> FirecrestFileSystem::_modified(std::string path) {
  FileInfo i = co_await _info(std::move(path));
  co_return i.mtime.value_or(0);
}

Task<FileInfo> FirecrestFileSystem::_chmod(std::string path, std::string mode) {
  RemotePath rp = split_remote(strip_protocol(path));
  RemoteFile f = co_await client_->_chmod(rp.system, rp.path, std::move(mode));
  co_return info_of(rp.name(), std::move(f));
}

Task<FileInfo> FirecrestFileSystem::_chown(std::string path, std::string owner, std::string group) {
  RemotePath rp = split_remote(strip_protocol(path));
  RemoteFile f = co_await client_->_chown(rp.system, rp.path, std::move(owner), std::move(group));
  co_return info_of(rp.name(), std::move(f));
}

Task<FileInfo> FirecrestFileSystem::_symlink(std::string target, std::string link) {
  RemotePath t = split_remote(strip_protocol(target));
  RemotePath l = split_remote(strip_protocol(link));
  if (t.system != l.system) {
    throw InvalidArgument(l.url(), "symlink: the target must be on the same system");
  }
  RemoteFile f = co_await client_->_symlink(l.system, t.path, l.path);
  co_return info_of(l.name(), std::move(f));
}

Task<std::string> FirecrestFileSystem::_sha256(std::string path) {
  RemotePath rp = split_remote(strip_protocol(path));
  Checksum c = co_await client_->_checksum(rp.system, rp.path);
  co_return c.checksum;
}

Task<std::string> FirecrestFileSystem::_file_type(std::string path) {
  RemotePath rp = split_remote(strip_protocol(path));
  co_return co_await client_->_file_type(rp.system, rp.path);
}

}  // namespace asyncfs::firecrest
