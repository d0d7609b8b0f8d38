// custom_backend: a complete asyncfs backend in one file, walked through in
// docs/writing-a-backend.md. Usage: example_custom_backend [SCRATCH_DIR]
//
// kv:// (alias keyvalue://) is a key-value store: named buckets, each a std::map from a key
// ("/data/a.txt") to its bytes behind a mutex. Like an object store, it has no directories of
// its own: "/data" is a directory because some key starts with "/data/". The program registers
// the protocol, gets instances through asyncfs::filesystem("kv"), exercises them with the
// generic operations (ls, cat, find, glob, du, get, rm) and checks every result: it exits 1 on
// a wrong one, so CI runs it as a test.

#include <fmt/format.h>
#include <stdlib.h>

#include <asyncfs/asyncfs.hpp>
#include <asyncfs/slice.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kv {

using asyncfs::AlreadyExists;
using asyncfs::AsyncFileSystem;
using asyncfs::Bytes;
using asyncfs::Capabilities;
using asyncfs::FileInfo;
using asyncfs::FileType;
using asyncfs::FsBaseOptions;
using asyncfs::InvalidArgument;
using asyncfs::IoThread;
using asyncfs::IsADirectory;
using asyncfs::NotADirectory;
using asyncfs::NotFound;
using asyncfs::Options;
using asyncfs::Task;
using asyncfs::WriteMode;

// --- [storage] ----------------------------------------------------------------------------------
// One bucket: sorted keys, so a directory's entries are one contiguous range of the map. The
// mutex is needed although every hook of one instance runs on its IoThread: two instances on
// different IoThreads may share a bucket.
struct Bucket {
  std::mutex mu;
  std::map<std::string, Bytes, std::less<>> blobs;
};

// Buckets are process-wide by name (like a server's): every instance naming "demo" sees the
// same keys. Leaked on purpose, as the registry is: instances may outlive main().
std::shared_ptr<Bucket> open_bucket(const std::string& name) {
  static auto* mu = new std::mutex;
  static auto* buckets = new std::map<std::string, std::shared_ptr<Bucket>>;
  std::lock_guard lock(*mu);
  auto& slot = (*buckets)[name];
  if (!slot) slot = std::make_shared<Bucket>();
  return slot;
}

// --- [options] ----------------------------------------------------------------------------------
struct KvOptions {
  FsBaseOptions base;  // io, batch_size, asynchronous: every backend takes them
  std::string bucket = "default";

  // Options come as strings (code, config files, ASYNCFS_KV_BUCKET). FsBaseOptions::from
  // takes its keys out; check_known then rejects anything left that we do not know, so a typo
  // is an error instead of a silently ignored setting.
  static KvOptions from(Options opts, std::shared_ptr<IoThread> io) {
    KvOptions out;
    out.base = FsBaseOptions::from(opts, std::move(io));
    if (auto b = opts.take("bucket")) out.bucket = *b;
    if (out.bucket.empty()) throw InvalidArgument("bucket", "bucket must not be empty");
    opts.check_known("kv", {});
    return out;
  }
};

// --- [class] ------------------------------------------------------------------------------------
class KvFileSystem final : public AsyncFileSystem {
 public:
  // The base needs its FsBaseOptions: it binds the instance to its IoThread (the default one
  // when base.io is null) and keeps batch_size / asynchronous.
  explicit KvFileSystem(KvOptions opts)
      : AsyncFileSystem(std::move(opts.base)), bucket_(open_bucket(opts.bucket)) {}

  // protocol() and capabilities() are pure virtual. protocol() is the canonical name: the
  // base's strip_protocol/unstrip_protocol and every error message use it.
  std::string protocol() const override { return "kv"; }

  Capabilities capabilities() const override {
    Capabilities caps;
    caps.real_directories = false;  // a directory exists only while a key is below it
    caps.mkdir = false;             // so mkdir cannot make an empty one
    caps.rename = false;            // _mv_file: the base's copy-then-remove
    return caps;
  }

  std::string root_marker() const override { return "/"; }

  // --- [paths] ----------------------------------------------------------------------------------
  // Hooks get the caller's string as it was given: "kv://demo/a", "keyvalue://demo/a/",
  // "/demo//a". The base strips only "<protocol()>://" and trailing slashes; the alias and the
  // normal form ("/a/b": one leading slash, no empty segments) are ours.
  std::string strip_protocol(std::string_view path) const override {
    constexpr std::string_view kAlias = "keyvalue://";
    if (path.starts_with(kAlias)) path.remove_prefix(kAlias.size());
    if (path.empty()) return "/";                                    // "keyvalue://" is the root
    const std::string base = AsyncFileSystem::strip_protocol(path);  // validates, "kv://"
    if (base.find("://") != std::string::npos) {
      throw InvalidArgument(base, "not a kv:// path");
    }
    std::string out;
    std::istringstream segments(base);
    for (std::string seg; std::getline(segments, seg, '/');) {
      if (!seg.empty()) out += "/" + seg;
    }
    return out.empty() ? "/" : out;
  }

  // --- [hooks: listing] -------------------------------------------------------------------------
  Task<std::vector<FileInfo>> _ls(std::string path) override {
    path = strip_protocol(path);
    std::lock_guard lock(bucket_->mu);
    const auto& blobs = bucket_->blobs;
    if (auto it = blobs.find(path); it != blobs.end()) {
      co_return std::vector<FileInfo>{file_info(it->first, it->second)};  // a file lists itself
    }
    std::vector<FileInfo> out;
    const std::string prefix = child_prefix(path);
    for (auto it = blobs.lower_bound(prefix);
         it != blobs.end() && std::string_view(it->first).starts_with(prefix);) {
      const auto slash = it->first.find('/', prefix.size());
      if (slash == std::string::npos) {
        out.push_back(file_info(it->first, it->second));
        ++it;
      } else {
        // A key deeper down implies the directory; report it once and skip its whole subtree,
        // which sorts within ["<dir>/", "<dir>0") because '0' follows '/'.
        const std::string dir = it->first.substr(0, slash);
        out.push_back(dir_info(dir));
        it = blobs.lower_bound(dir + "0");
      }
    }
    if (out.empty() && path != "/") throw NotFound(path, "no such file or directory");
    co_return out;
  }

  Task<FileInfo> _info(std::string path) override {
    path = strip_protocol(path);
    std::lock_guard lock(bucket_->mu);
    if (auto it = bucket_->blobs.find(path); it != bucket_->blobs.end()) {
      co_return file_info(it->first, it->second);
    }
    if (is_dir_locked(path)) co_return dir_info(path);
    throw NotFound(path, "no such file or directory");
  }

  // --- [hooks: reading and writing] -------------------------------------------------------------
  Task<Bytes> _cat_file(std::string path, std::optional<std::int64_t> start,
                        std::optional<std::int64_t> end) override {
    path = strip_protocol(path);
    std::lock_guard lock(bucket_->mu);
    auto it = bucket_->blobs.find(path);
    if (it == bucket_->blobs.end()) {
      if (is_dir_locked(path)) throw IsADirectory(path, "is a directory");
      throw NotFound(path, "no such file");
    }
    // Python slice semantics (negative from the end, clamped) in one shared helper.
    const auto [first, last] = asyncfs::slice_bounds(it->second.size(), start, end);
    co_return it->second.substr(first, last - first);
  }

  Task<void> _pipe_file(std::string path, Bytes data, WriteMode mode) override {
    path = strip_protocol(path);
    if (path == "/") throw IsADirectory(path, "is a directory");
    std::lock_guard lock(bucket_->mu);
    auto& blobs = bucket_->blobs;
    if (blobs.contains(path) && mode == WriteMode::kCreate) {
      throw AlreadyExists(path, "file exists");
    }
    if (is_dir_locked(path)) throw IsADirectory(path, "is a directory");
    check_no_file_above_locked(path);
    blobs.insert_or_assign(path, std::move(data));  // one map write: readers see old or new
    co_return;
  }

  Task<void> _rm_file(std::string path) override {
    path = strip_protocol(path);
    std::lock_guard lock(bucket_->mu);
    if (bucket_->blobs.erase(path) == 0) {
      if (is_dir_locked(path)) throw IsADirectory(path, "is a directory (use rm -r)");
      throw NotFound(path, "no such file");
    }
    co_return;
  }

  // --- [own operation] --------------------------------------------------------------------------
  // A coroutine only this backend has (how many keys lie below a prefix), and its blocking twin
  // in one line: sync_wrapper runs it through sync() on this instance's IoThread.
  Task<std::size_t> _key_count(std::string prefix) {
    prefix = child_prefix(strip_protocol(prefix));
    std::lock_guard lock(bucket_->mu);
    std::size_t n = 0;
    for (auto it = bucket_->blobs.lower_bound(prefix);
         it != bucket_->blobs.end() && std::string_view(it->first).starts_with(prefix); ++it) {
      ++n;
    }
    co_return n;
  }
  std::size_t key_count(std::string prefix) {
    return sync_wrapper(&KvFileSystem::_key_count, std::move(prefix));
  }

  // --- [hooks: directories] ---------------------------------------------------------------------
  // Nothing to create (capabilities().real_directories is false), but mkdir still checks what
  // it can: a file in the way is an error, as it would be on a real filesystem.
  Task<void> _mkdir(std::string path, bool create_parents) override {
    path = strip_protocol(path);
    std::lock_guard lock(bucket_->mu);
    if (bucket_->blobs.contains(path)) throw AlreadyExists(path, "a file exists at this path");
    check_no_file_above_locked(path);
    (void)create_parents;  // parents are implied like the directory itself
    co_return;
  }

  // Server-side copy: one map insert instead of the base's read-then-write.
  Task<void> _cp_file(std::string path1, std::string path2) override {
    path1 = strip_protocol(path1);
    path2 = strip_protocol(path2);
    std::lock_guard lock(bucket_->mu);
    auto it = bucket_->blobs.find(path1);
    if (it == bucket_->blobs.end()) {
      // fsspec: copying a directory entry creates the directory; ours are implied.
      if (is_dir_locked(path1)) co_return;
      throw NotFound(path1, "no such file");
    }
    if (is_dir_locked(path2)) throw IsADirectory(path2, "destination is a directory");
    check_no_file_above_locked(path2);
    Bytes copy = it->second;
    bucket_->blobs.insert_or_assign(path2, std::move(copy));
    co_return;
  }

 private:
  static std::string child_prefix(const std::string& dir) { return dir == "/" ? dir : dir + "/"; }

  static FileInfo file_info(const std::string& name, const Bytes& data) {
    FileInfo info;
    info.name = name;  // the full stripped path, no protocol
    info.type = FileType::kFile;
    info.size = data.size();
    return info;
  }

  // A directory's size is its own (0 here: an implied directory holds no bytes), never the
  // total of its contents: du() adds up the files itself.
  static FileInfo dir_info(const std::string& name) {
    FileInfo info;
    info.name = name;
    info.type = FileType::kDirectory;
    info.size = 0;
    return info;
  }

  bool is_dir_locked(const std::string& path) const {
    if (path == "/") return true;
    const std::string prefix = path + "/";
    auto it = bucket_->blobs.lower_bound(prefix);
    return it != bucket_->blobs.end() && std::string_view(it->first).starts_with(prefix);
  }

  void check_no_file_above_locked(const std::string& path) const {
    for (auto slash = path.find('/', 1); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      const std::string ancestor = path.substr(0, slash);
      if (bucket_->blobs.contains(ancestor)) {
        throw NotADirectory(path, ancestor + " is a file");
      }
    }
  }

  std::shared_ptr<Bucket> bucket_;
};

// --- [register] ---------------------------------------------------------------------------------
// The implementation's name ("example.kv") is its identity: registering the same name again is
// a no-op, another name on a taken protocol needs clobber.
void register_kv() {
  asyncfs::register_implementation(
      {{"kv", "keyvalue"},  // the first protocol is canonical
       [](const std::string& /*protocol*/, Options opts, std::shared_ptr<IoThread> io) {
         return std::make_shared<KvFileSystem>(KvOptions::from(std::move(opts), std::move(io)));
       },
       "example.kv"});
}

}  // namespace kv

// --- [use]
// ----------------------------------------------------------------------------------------
namespace {

int failures = 0;

template <class A, class B>
void expect_eq(const A& got, const B& want, std::string_view what) {
  if (got == want) {
    fmt::print("ok    {}\n", what);
  } else {
    ++failures;
    fmt::print("FAIL  {}\n", what);
  }
}

template <class E, class F>
void expect_throws(F&& f, std::string_view what) {
  try {
    f();
    ++failures;
    fmt::print("FAIL  {}: nothing thrown\n", what);
  } catch (const E& e) {
    fmt::print("ok    {} ({})\n", what, e.what());
  } catch (const std::exception& e) {
    ++failures;
    fmt::print("FAIL  {}: wrong error: {}\n", what, e.what());
  }
}

std::vector<std::string> keys(const std::map<std::string, asyncfs::FileInfo>& m) {
  std::vector<std::string> out;
  for (const auto& [name, info] : m) out.push_back(name);
  return out;
}

std::string read_local(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A coroutine of our own on the IO thread: parameters by value, every co_await into a named
// local (docs/writing-a-backend.md, g++ 12 rules).
asyncfs::Task<std::uint64_t> total_csv_bytes(std::shared_ptr<asyncfs::AsyncFileSystem> fs,
                                             std::string pattern) {
  asyncfs::GlobOptions opts;
  auto found = co_await fs->_glob(std::move(pattern), opts);
  std::uint64_t total = 0;
  for (const auto& [name, info] : found) {
    auto bytes = co_await fs->_cat_file(name, std::nullopt, std::nullopt);
    total += bytes.size();
  }
  co_return total;
}

}  // namespace

int main(int argc, char** argv) {
  std::string scratch;
  if (argc > 1) {
    scratch = argv[1];
  } else {
    char tmpl[] = "/tmp/asyncfs-custom-backend-XXXXXX";
    if (!mkdtemp(tmpl)) return 2;
    scratch = tmpl;
  }
  try {
    kv::register_kv();
    kv::register_kv();  // the same implementation name again: a no-op

    auto fs = asyncfs::filesystem("kv", {{"bucket", "demo"}});
    expect_eq(fs->protocol(), "kv", "filesystem(\"kv\") builds our backend");
    expect_eq(fs == asyncfs::filesystem("kv", {{"bucket", "demo"}}), true,
              "same protocol and options: the cached instance");

    fs->pipe({{"/data/a.txt", "alpha"},
              {"kv://data/b.txt", "beta"},  // hooks strip the protocol themselves
              {"/data/csv/1.csv", "1,2,3"},
              {"/data/csv/2.csv", "4,5"},
              {"/readme", "kv demo"}});

    // ls: files and the implied directory, full stripped names.
    std::vector<std::string> names;
    for (const auto& i : fs->ls("kv://data/")) names.push_back(i.name);
    expect_eq(names, std::vector<std::string>{"/data/a.txt", "/data/b.txt", "/data/csv"},
              "ls lists files and implied directories");
    expect_eq(fs->info("/data/csv").is_dir(), true, "info of an implied directory");
    expect_eq(fs->info("/data/csv").size, std::optional<std::uint64_t>(0),
              "a directory's own size is 0");

    // cat: one file with Python-slice ranges, many files at once through the base's window.
    expect_eq(fs->cat_file("/data/a.txt", -3), "pha", "cat_file with a negative start");
    auto texts = fs->cat("/data/*.txt");
    expect_eq(texts.items.size(), 2u, "cat of a glob reads both files");
    expect_eq(texts.items.at("/data/b.txt").value(), "beta", "cat result for b.txt");

    // find / glob / du come from the base class, built on _ls and _info.
    expect_eq(keys(fs->find("/data")),
              std::vector<std::string>{"/data/a.txt", "/data/b.txt", "/data/csv/1.csv",
                                       "/data/csv/2.csv"},
              "find walks the implied tree");
    expect_eq(keys(fs->glob("kv://data/**/*.csv")),
              std::vector<std::string>{"/data/csv/1.csv", "/data/csv/2.csv"}, "glob with **");
    expect_eq(fs->du_total("/data"), 5u + 4u + 5u + 3u, "du adds up the files");
    expect_eq(asyncfs::sync(fs->io(), total_csv_bytes(fs, "/data/csv/*.csv")), 8u,
              "our own coroutine awaiting _glob and _cat_file");

    auto* kv_fs = dynamic_cast<kv::KvFileSystem*>(fs.get());
    expect_eq(kv_fs && kv_fs->key_count("kv://data") == 4, true, "our own blocking method");

    // The alias reaches the same backend; our strip_protocol removes it (the base's would not).
    expect_eq(fs->AsyncFileSystem::strip_protocol("keyvalue://data/a.txt"), "keyvalue://data/a.txt",
              "the base strip_protocol leaves an alias alone");
    auto [alias_fs, alias_path] = asyncfs::url_to_fs("keyvalue://data/a.txt", {{"bucket", "demo"}});
    expect_eq(alias_path, "/data/a.txt", "url_to_fs strips the alias");
    expect_eq(alias_fs->cat_file(alias_path), "alpha", "the alias sees the same bucket");

    // get: a recursive download to local disk, through the base's _get_file (_cat_file).
    fs->get("/data/", scratch + "/copy/", {.recursive = true});
    expect_eq(read_local(scratch + "/copy/csv/2.csv"), "4,5", "get wrote the tree locally");

    // Errors are typed and name the path.
    expect_throws<asyncfs::NotFound>([&] { fs->cat_file("/data/nope"); }, "missing file");
    expect_throws<asyncfs::IsADirectory>([&] { fs->cat_file("/data/csv"); }, "cat a directory");
    expect_throws<asyncfs::AlreadyExists>(
        [&] { fs->pipe_file("/readme", "x", asyncfs::WriteMode::kCreate); }, "create over a file");
    expect_throws<asyncfs::NotADirectory>([&] { fs->pipe_file("/readme/x", "x"); },
                                          "a file as a parent");
    expect_throws<asyncfs::InvalidArgument>(
        [&] {
          asyncfs::filesystem("kv", {{"buckett", "typo"}});
        },
        "unknown option");
    expect_throws<asyncfs::AlreadyExists>(
        [&] {
          asyncfs::register_implementation(
              {{"kv"},
               [](const std::string&, asyncfs::Options, std::shared_ptr<asyncfs::IoThread>)
                   -> std::shared_ptr<asyncfs::AsyncFileSystem> { return nullptr; },
               "someone.else"});
        },
        "another implementation name on kv without clobber");

    // rm: files, then (recursively) a tree; implied directories vanish with their last key.
    fs->rm_file("/data/a.txt");
    fs->rm("/data/csv", {.recursive = true});
    expect_eq(fs->exists("/data/csv"), false, "rm -r removed the directory");
    expect_eq(fs->ls_names("/data"), std::vector<std::string>{"/data/b.txt"}, "what is left");
    fs->mkdir("/empty");  // accepted, but nothing exists until a key is below it
    expect_eq(fs->exists("/empty"), false, "mkdir makes no empty directory (real_directories)");

    // clobber replaces the implementation, not the instances already cached: the same
    // (protocol, options, IoThread) still gets the old instance until the cache is cleared.
    static int v2_built = 0;
    asyncfs::register_implementation(
        {{"kv", "keyvalue"},
         [](const std::string&, asyncfs::Options opts, std::shared_ptr<asyncfs::IoThread> io) {
           ++v2_built;
           return std::make_shared<kv::KvFileSystem>(
               kv::KvOptions::from(std::move(opts), std::move(io)));
         },
         "example.kv.v2"},
        /*clobber=*/true);
    expect_eq(asyncfs::filesystem("kv", {{"bucket", "demo"}}) == fs, true,
              "after clobber: still the old cached instance");
    expect_eq(v2_built, 0, "the new factory was not called");
    asyncfs::clear_instance_cache();
    expect_eq(asyncfs::filesystem("kv", {{"bucket", "demo"}}) == fs, false,
              "after clear_instance_cache(): a new instance");
    expect_eq(v2_built, 1, "built by the new factory");
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    ++failures;
  }
  std::error_code ec;
  if (argc <= 1) std::filesystem::remove_all(scratch, ec);
  if (failures) {
    fmt::print(stderr, "{} check(s) failed\n", failures);
    return 1;
  }
  fmt::print("all checks passed\n");
  return 0;
}
