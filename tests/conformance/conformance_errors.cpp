// Argument validation and error reporting across operations: empty and non-UTF-8 paths,
// maxdepth/batch_size limits, URLs with the protocol, per-call timeouts, the error hierarchy
// and the "blocking call on the loop thread" guard.

#include <chrono>
#include <functional>

#include "conformance/conformance.hpp"

namespace asyncfs::conformance {
namespace {

using Names = std::vector<std::string>;
using namespace std::chrono_literals;

class ErrorsTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    seed("f", "data");
    seed_dir("d");
    seed("d/g", "more");
  }

  struct NamedOp {
    const char* name;
    std::function<void(const std::string&)> run;
  };

  /// Every operation taking one path, applied to `bad`; each must reject it up front.
  std::vector<NamedOp> path_ops() {
    std::vector<NamedOp> ops = {
        {"info", [this](const std::string& x) { fs().info(x); }},
        {"exists", [this](const std::string& x) { fs().exists(x); }},
        {"size", [this](const std::string& x) { fs().size(x); }},
        {"cat_file", [this](const std::string& x) { fs().cat_file(x); }},
        {"cat", [this](const std::string& x) { fs().cat(x); }},
        {"open", [this](const std::string& x) { fs().open(x); }},
        {"expand_path", [this](const std::string& x) { fs().expand_path(x); }},
        {"checksum", [this](const std::string& x) { fs().checksum(x); }},
    };
    if (caps().list) {
      ops.push_back({"ls", [this](const std::string& x) { fs().ls(x); }});
      ops.push_back({"find", [this](const std::string& x) { fs().find(x); }});
      ops.push_back({"walk", [this](const std::string& x) { fs().walk(x); }});
      ops.push_back({"du", [this](const std::string& x) { fs().du(x); }});
    }
    if (caps().write) {
      ops.push_back({"pipe_file", [this](const std::string& x) { fs().pipe_file(x, "z"); }});
      ops.push_back({"open wb", [this](const std::string& x) { fs().open(x, "wb").close(); }});
    }
    if (caps().mkdir) {
      ops.push_back({"mkdir", [this](const std::string& x) { fs().mkdir(x); }});
      ops.push_back({"makedirs", [this](const std::string& x) { fs().makedirs(x, true); }});
    }
    if (caps().remove) {
      ops.push_back({"rm_file", [this](const std::string& x) { fs().rm_file(x); }});
      ops.push_back({"rm", [this](const std::string& x) { fs().rm(x); }});
    }
    if (caps().copy && caps().write) {
      ops.push_back({"cp_file from", [this](const std::string& x) { fs().cp_file(x, p("c")); }});
      ops.push_back({"cp_file to", [this](const std::string& x) { fs().cp_file(p("f"), x); }});
    }
    return ops;
  }
};

TEST_P(ErrorsTest, EmptyPathIsInvalidArgument) {
  for (const auto& op : path_ops()) {
    SCOPED_TRACE(op.name);
    EXPECT_FS_THROW(kInvalidArgument, op.run(""));
  }
}

TEST_P(ErrorsTest, NonUtf8PathIsInvalidArgument) {
  const std::vector<std::string> bad = {
      p("\xff\xfe"),       // never valid in UTF-8
      p("ok/\xc0\xaf"),    // overlong encoding of '/'
      p("trunc\xe2\x82"),  // truncated sequence
      p("\xed\xa0\x80"),   // a UTF-16 surrogate
  };
  for (const auto& b : bad) {
    for (const auto& op : path_ops()) {
      SCOPED_TRACE(::testing::Message() << op.name << " on " << ::testing::PrintToString(b));
      EXPECT_FS_THROW(kInvalidArgument, op.run(b));
    }
  }
  if (caps().list) {
    // Nothing was created by any of the rejected calls.
    EXPECT_EQ(rel(fs().find(root())), (Names{"d/g", "f"}));
  }
}

TEST_P(ErrorsTest, NonUtf8InBulkInputsIsInvalidArgument) {
  EXPECT_FS_THROW(kInvalidArgument, fs().cat(Paths{p("f"), p("\xff")}));
  EXPECT_FS_THROW(kInvalidArgument, fs().sizes({p("f"), p("\xff")}));
  if (caps().write) {
    EXPECT_FS_THROW(kInvalidArgument, fs().pipe({{p("ok"), "1"}, {p("\xfe"), "2"}}));
  }
}

TEST_P(ErrorsTest, Utf8NamesRoundTrip) {
  REQUIRE_CAP(write);
  REQUIRE_CAP(list);
  const std::string dir = p(enc("h\xc3\xa9llo"));                // "héllo"
  const std::string file = dir + "/" + enc("\xe6\x97\xa5.txt");  // "日.txt"
  fs().pipe_file(file, "unicode");
  EXPECT_EQ(fs().cat_file(file), "unicode");
  EXPECT_EQ(fs().info(file).name, file);
  EXPECT_EQ(fs().ls_names(dir), (Names{file}));
  EXPECT_EQ(keys(fs().glob(dir + "/*.txt")), (Names{file}));
}

TEST_P(ErrorsTest, SpecialCharactersInNamesRoundTrip) {
  REQUIRE_CAP(write);
  REQUIRE_CAP(list);
  // Characters that mean something in URLs or shells, but not in asyncfs paths.
  for (const char* n :
       {"with space", "hash#mark", "pct%20enc", "semi;colon", "q=1&r=2", "~tilde"}) {
    SCOPED_TRACE(n);
    const std::string path = p("sp/" + enc(n));
    fs().pipe_file(path, n);
    EXPECT_EQ(fs().cat_file(path), n);
    EXPECT_TRUE(fs().exists(path));
  }
  EXPECT_EQ(fs().ls(p("sp")).size(), 6u);
}

TEST_P(ErrorsTest, MaxdepthZeroIsInvalidEverywhere) {
  REQUIRE_CAP(list);
  FindOptions fo;
  fo.maxdepth = 0;
  EXPECT_FS_THROW(kInvalidArgument, fs().find(root(), fo));
  WalkOptions wo;
  wo.maxdepth = 0;
  EXPECT_FS_THROW(kInvalidArgument, fs().walk(root(), wo));
  DuOptions dop;
  dop.maxdepth = 0;
  EXPECT_FS_THROW(kInvalidArgument, fs().du_total(root(), dop));
  GlobOptions go;
  go.maxdepth = 0;
  EXPECT_FS_THROW(kInvalidArgument, fs().glob(p("**"), go));
  EXPECT_FS_THROW(kInvalidArgument, fs().expand_path(root(), true, 0));
  if (caps().remove) {
    RmOptions ro;
    ro.recursive = true;
    ro.maxdepth = 0;
    EXPECT_FS_THROW(kInvalidArgument, fs().rm(p("d"), ro));
    EXPECT_TRUE(fs().exists(p("d/g"))) << "nothing is removed after a refused call";
  }
}

TEST_P(ErrorsTest, BatchSizeValidationInCoroutineApi) {
  EXPECT_FS_THROW(kInvalidArgument, sync(fs().io(), fs()._sizes({p("f")}, 0)));
  EXPECT_FS_THROW(kInvalidArgument, sync(fs().io(), fs()._sizes({p("f")}, -5)));
  auto unbounded = sync(fs().io(), fs()._sizes({p("f"), p("d/g")}, -1));
  ASSERT_EQ(unbounded.size(), 2u);
  EXPECT_EQ(unbounded[0], std::optional<std::uint64_t>(4));
  EXPECT_EQ(unbounded[1], std::optional<std::uint64_t>(4));
}

TEST_P(ErrorsTest, ErrorsAreOneHierarchy) {
  try {
    fs().cat_file(p("missing"));
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    // Catchable generically, and downcastable to the typed exception.
    EXPECT_NE(dynamic_cast<const NotFound*>(&e), nullptr) << e.what();
    const auto* err = dynamic_cast<const Error*>(&e);
    ASSERT_NE(err, nullptr);
    EXPECT_EQ(err->kind(), ErrorKind::kNotFound);
    if (caps().errors_carry_http_status) {
      EXPECT_EQ(err->http_status(), 404) << "the server's answer";
    } else {
      EXPECT_EQ(err->http_status(), 0) << "not an HTTP failure";
    }
  }
}

TEST_P(ErrorsTest, NotFoundIsNotConfusedWithOtherKinds) {
  // exists() is false only for NotFound; an invalid path is an error, not "missing" (fsspec
  // §7 fix: a failure that is not "not found" must propagate).
  EXPECT_FS_THROW(kInvalidArgument, fs().exists(""));
  EXPECT_FALSE(fs().exists(p("missing")));
}

TEST_P(ErrorsTest, UrlsWithProtocolAreAccepted) {
  const std::string u = fixture().url(p("f"));
  EXPECT_NE(u.find("://"), std::string::npos) << u;
  EXPECT_EQ(fs().cat_file(u), "data");
  EXPECT_EQ(fs().info(u).name, p("f")) << "names are reported without the protocol";
  EXPECT_TRUE(fs().exists(u));
  EXPECT_EQ(fs().strip_protocol(u), p("f"));
  EXPECT_EQ(fs().strip_protocol(p("d") + "/"), d("d"));
  EXPECT_EQ(fs().unstrip_protocol(p("f")), u);
  EXPECT_EQ(fs().parent(p("d/g")), p("d"));
  if (caps().list) {
    EXPECT_EQ(fs().ls_names(fixture().url(p("d"))), (Names{p("d/g")}));
  }
}

TEST_P(ErrorsTest, PerCallTimeoutIsAccepted) {
  const CallTimeout t = std::chrono::duration_cast<Duration>(30s);
  EXPECT_EQ(fs().cat_file(p("f"), {}, {}, t), "data");
  EXPECT_EQ(fs().info(p("f"), t).size, std::optional<std::uint64_t>(4));
  EXPECT_TRUE(fs().exists(p("f"), t));
  EXPECT_TRUE(fs().isfile(p("f"), t));
  EXPECT_TRUE(fs().isdir(p("d"), t));
  EXPECT_EQ(fs().size(p("f"), t), std::optional<std::uint64_t>(4));
  EXPECT_EQ(fs().sizes({p("f")}, t).size(), 1u);
  EXPECT_EQ(fs().cat(p("f"), {}, t).value(), "data");
  EXPECT_EQ(fs().cat_ranges({p("f")}, {1}, {3}, t).at(0).value(), "at");
  EXPECT_EQ(fs().expand_path(p("f"), false, {}, t), (Names{p("f")}));
  EXPECT_EQ(fs().open(p("f"), "rb", {}, t).read(-1, t), "data");
  if (caps().list) {
    EXPECT_EQ(fs().ls(p("d"), t).size(), 1u);
    EXPECT_EQ(fs().ls_names(p("d"), t).size(), 1u);
    EXPECT_EQ(fs().find(root(), {}, t).size(), 2u);
    EXPECT_EQ(fs().glob(p("*"), {}, t).size(), 2u);
    EXPECT_EQ(fs().walk(root(), {}, t).size(), 2u);
    EXPECT_EQ(fs().du_total(root(), {}, t), 8u);
    EXPECT_EQ(fs().du(root(), {}, t).size(), 2u);
  }
  if (caps().write) {
    fs().pipe_file(p("t1"), "x", WriteMode::kOverwrite, t);
    fs().pipe({{p("t2"), "y"}}, t);
    EXPECT_EQ(fs().cat_file(p("t2")), "y");
    if (caps().copy) fs().cp_file(p("t1"), p("t3"), t);
    if (caps().mkdir) fs().mkdir(p("td"), true, t);
    if (caps().mkdir) fs().makedirs(p("td2/x"), false, t);
    if (caps().list && caps().copy) fs().copy(p("t1"), p("t4"), {}, t);
    if (caps().remove) {
      fs().rm_file(p("t1"), t);
      fs().rm(p("t2"), {}, t);
      fs().mv(p("f"), p("f2"), {}, t);
      EXPECT_EQ(fs().cat_file(p("f2")), "data");
    }
    if (caps().real_directories && caps().mkdir) fs().rmdir(p("td"), t);
  }
}

TEST_P(ErrorsTest, TinyTimeoutEitherCompletesOrTimesOut) {
  // A 1 ns budget races the IO thread; the only acceptable outcomes are the value or Timeout
  // (never a hang, a crash or a different error).
  for (int i = 0; i < 20; ++i) {
    try {
      EXPECT_EQ(fs().cat_file(p("f"), {}, {}, std::chrono::nanoseconds(1)), "data");
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kTimeout) << e.what();
    }
  }
  // The filesystem is still usable afterwards.
  EXPECT_EQ(fs().cat_file(p("f")), "data");
}

Task<int> blocking_call_inside_loop(std::shared_ptr<AsyncFileSystem> fs, std::string path) {
  try {
    fs->info(path);
  } catch (const InvalidArgument&) {
    co_return 1;
  } catch (...) {
    co_return 2;
  }
  co_return 0;
}

TEST_P(ErrorsTest, BlockingCallOnLoopThreadThrowsInsteadOfDeadlocking) {
  const int r = sync(fs().io(), blocking_call_inside_loop(fs_ptr(), p("f")),
                     std::chrono::duration_cast<Duration>(10s));
  EXPECT_EQ(r, 1) << "0: the call ran (it would deadlock for real work), 2: wrong error kind";
}

}  // namespace

ASYNCFS_CONFORMANCE_SUITE(ErrorsTest);

}  // namespace asyncfs::conformance
