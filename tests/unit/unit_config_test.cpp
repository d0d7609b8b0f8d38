// Configuration from files and environment; malformed input is an error naming its source.

#include <gtest/gtest.h>

#include "asyncfs/config.hpp"
#include "asyncfs/errors.hpp"
#include "support/temp_dir.hpp"

namespace asyncfs {
namespace {

using testing::TempDir;
using testing::write_local_file;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "no InvalidArgument";
}

TEST(Config, EmptyWhenNothingIsSet) {
  TempDir dir;
  Config cfg = load_config(dir.path(), {});
  EXPECT_FALSE(cfg.gather_batch_size);
  EXPECT_FALSE(cfg.nofiles_gather_batch_size);
  EXPECT_TRUE(cfg.protocols.empty());
  EXPECT_NO_THROW(load_config(dir / "does-not-exist", {}));
}

TEST(Config, FilesInNameOrderLaterWins) {
  TempDir dir;
  write_local_file(dir / "10-base.json",
                   R"({"gather_batch_size": 10, "http": {"block_size": 100, "headers": {"A": "1"},
                      "verify": true}})");
  write_local_file(dir / "20-override.json",
                   R"({"gather_batch_size": 20, "nofiles_gather_batch_size": -1,
                      "HTTP": {"block_size": "200"}, "memory": {}})");
  write_local_file(dir / "ignored.txt", "not json at all");
  Config cfg = load_config(dir.path(), {});
  EXPECT_EQ(cfg.gather_batch_size, 20);
  EXPECT_EQ(cfg.nofiles_gather_batch_size, -1);
  const Options& http = cfg.protocols.at("http");
  EXPECT_EQ(http.get("block_size"), "200");
  EXPECT_EQ(http.get("headers"), R"({"A":"1"})");
  EXPECT_EQ(http.get("verify"), "true");
  EXPECT_TRUE(cfg.protocols.count("memory"));
}

TEST(Config, EnvironmentBeatsFilesAndSingleKeysBeatObjects) {
  TempDir dir;
  write_local_file(dir / "a.json", R"({"gather_batch_size": 10, "http": {"block_size": 1}})");
  Config cfg = load_config(dir.path(), {{"ASYNCFS_GATHER_BATCH_SIZE", "7"},
                                        {"ASYNCFS_NOFILES_GATHER_BATCH_SIZE", "9"},
                                        {"ASYNCFS_HTTP", R"({"block_size": 2, "timeout": 3})"},
                                        {"ASYNCFS_HTTP_BLOCK_SIZE", "55"},
                                        {"ASYNCFS_FIRECREST_CLIENT_ID", "abc"},
                                        {"ASYNCFS_CONFIG_DIR", dir.path()},
                                        {"UNRELATED", "x"}});
  EXPECT_EQ(cfg.gather_batch_size, 7);
  EXPECT_EQ(cfg.nofiles_gather_batch_size, 9);
  EXPECT_EQ(cfg.protocols.at("http").get("block_size"), "55");
  EXPECT_EQ(cfg.protocols.at("http").get("timeout"), "3");
  EXPECT_EQ(cfg.protocols.at("firecrest").get("client_id"), "abc");
}

TEST(Config, MalformedFileNamesTheFile) {
  TempDir dir;
  write_local_file(dir / "bad.json", R"({"gather_batch_size": )");
  auto msg = error_of([&] { load_config(dir.path(), {}); });
  EXPECT_NE(msg.find("bad.json"), std::string::npos) << msg;
}

TEST(Config, WrongTypesAreErrorsNamingFileAndKey) {
  struct Case {
    const char* json;
    const char* expect;
  };
  for (const Case& c :
       {Case{R"([1, 2])", "JSON object"},
        Case{R"({"gather_batch_size": "ten"})", "gather_batch_size"},
        Case{R"({"gather_batch_size": 0})", "gather_batch_size"},
        Case{R"({"nofiles_gather_batch_size": -2})", "nofiles_gather_batch_size"},
        Case{R"({"http": 5})", "http"}, Case{R"({"http": {"proxy": null}})", "proxy"}}) {
    TempDir dir;
    write_local_file(dir / "c.json", c.json);
    auto msg = error_of([&] { load_config(dir.path(), {}); });
    EXPECT_NE(msg.find("c.json"), std::string::npos) << c.json << " -> " << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.json << " -> " << msg;
  }
}

TEST(Config, MalformedEnvironmentNamesTheVariable) {
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"ASYNCFS_GATHER_BATCH_SIZE", "lots"},
                                                        {"ASYNCFS_GATHER_BATCH_SIZE", "0"},
                                                        {"ASYNCFS_NOFILES_GATHER_BATCH_SIZE", ""},
                                                        {"ASYNCFS_HTTP", "[1]"},
                                                        {"ASYNCFS_HTTP", "{oops"},
                                                        {"ASYNCFS_", "x"},
                                                        {"ASYNCFS__X", "x"},
                                                        {"ASYNCFS_HTTP_", "x"}}) {
    auto msg = error_of([&] { load_config("", {{name, value}}); });
    EXPECT_NE(msg.find(name), std::string::npos) << name << "=" << value << " -> " << msg;
  }
}

TEST(Config, ProcessConfigCanBeReplacedAndReloaded) {
  Config cfg;
  cfg.gather_batch_size = 3;
  set_config(cfg);
  EXPECT_EQ(config().gather_batch_size, 3);
  reload_config();
  EXPECT_NO_THROW(config());
}

}  // namespace
}  // namespace asyncfs
