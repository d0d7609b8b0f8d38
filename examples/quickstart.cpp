// quickstart: the asyncfs API in one page. Usage: example_quickstart SCRATCH_DIR
//
// Blocking calls work from any thread; the same operations are coroutines (`_cat`, `_info`,
// ...) for code that already runs on the IO loop.

#include <fmt/format.h>

#include <asyncfs/asyncfs.hpp>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: {} SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  const std::string scratch = argv[1];
  try {
    // One filesystem per protocol, shared per options.
    auto mem = asyncfs::filesystem("memory");
    mem->pipe({{"/demo/a.txt", "alpha"}, {"/demo/b.txt", "beta"}, {"/demo/sub/c.csv", "1,2,3"}});

    // Bulk cat: fetched concurrently through a bounded window; results keyed by path.
    asyncfs::CatResult all = mem->cat("/demo/*.txt");
    for (const auto& [path, bytes] : all.items) fmt::print("{} -> {}\n", path, bytes.value());

    // Python-slice ranges.
    fmt::print("last 3 bytes of a.txt: {}\n", mem->cat_file("/demo/a.txt", -3));

    // find / glob / du.
    for (const auto& [name, info] : mem->find("/demo")) {
      fmt::print("found {} ({} bytes)\n", name, info.size.value_or(0));
    }
    fmt::print("du /demo = {} bytes\n", mem->du_total("/demo"));

    // Download a tree to local disk (get), then read it back through file://.
    mem->get("/demo/", scratch + "/copy/", {.recursive = true});
    auto [local, path] = asyncfs::url_to_fs("file://" + scratch + "/copy/sub/c.csv");
    fmt::print("{} on {} holds '{}'\n", path, local->protocol(), local->cat_file(path));

    // Errors are typed and name the path.
    try {
      mem->cat_file("/demo/missing");
    } catch (const asyncfs::NotFound& e) {
      fmt::print("expected error: {}\n", e.what());
    }

    // The coroutine API: await operations from your own coroutine on the IO thread.
    auto task = [](std::shared_ptr<asyncfs::AsyncFileSystem> fs) -> asyncfs::Task<std::size_t> {
      auto listing = co_await fs->_ls("/demo");
      co_return listing.size();
    };
    fmt::print("entries in /demo: {}\n", asyncfs::sync(mem->io(), task(mem)));
  } catch (const asyncfs::Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
