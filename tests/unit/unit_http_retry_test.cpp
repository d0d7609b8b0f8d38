// Pure helpers of the HTTP backend: retry decisions, Retry-After, backoff, Range planning and
// Content-Range validation.

#include <gtest/gtest.h>

#include <chrono>

#include "asyncfs/errors.hpp"
#include "core/http/ranges.hpp"
#include "core/http/retry.hpp"

namespace asyncfs::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::system_clock;

// 1994-11-06 08:49:37 UTC, the example date of RFC 9110.
const system_clock::time_point kRfcDate = system_clock::time_point(seconds(784111777));

TEST(Retry, Statuses) {
  for (long s : {408, 425, 429, 500, 502, 503, 504}) EXPECT_TRUE(retryable_status(s)) << s;
  for (long s : {200, 206, 301, 400, 401, 403, 404, 410, 416, 501, 505}) {
    EXPECT_FALSE(retryable_status(s)) << s;
  }
  EXPECT_TRUE(idempotent_method("GET"));
  EXPECT_TRUE(idempotent_method("PUT"));
  EXPECT_TRUE(idempotent_method("DELETE"));
  EXPECT_FALSE(idempotent_method("POST"));
  EXPECT_FALSE(idempotent_method("MKCOL"));
}

TEST(Retry, Errors) {
  EXPECT_TRUE(retryable_error(std::make_exception_ptr(NetworkError("u", "reset"))));
  EXPECT_TRUE(retryable_error(std::make_exception_ptr(Timeout("u", "slow"))));
  EXPECT_FALSE(retryable_error(std::make_exception_ptr(Cancelled("u"))));
  EXPECT_FALSE(retryable_error(std::make_exception_ptr(TooLarge("u"))));
  EXPECT_FALSE(retryable_error(std::make_exception_ptr(std::runtime_error("x"))));
  EXPECT_FALSE(retryable_error(nullptr));
}

TEST(RetryAfter, Seconds) {
  EXPECT_EQ(parse_retry_after("120", kRfcDate), milliseconds(120000));
  EXPECT_EQ(parse_retry_after(" 0 ", kRfcDate), milliseconds(0));
  EXPECT_FALSE(parse_retry_after("-1", kRfcDate));
  EXPECT_FALSE(parse_retry_after("1.5", kRfcDate));
  EXPECT_FALSE(parse_retry_after("", kRfcDate));
  EXPECT_FALSE(parse_retry_after("soon", kRfcDate));
  EXPECT_TRUE(parse_retry_after("99999999999999999999", kRfcDate));  // huge, not overflowing
}

TEST(RetryAfter, HttpDates) {
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", kRfcDate), milliseconds(10000));
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:47 GMT", kRfcDate), milliseconds(10000));
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:47 1994", kRfcDate), milliseconds(10000));
  // In the past: retry now.
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", kRfcDate), milliseconds(0));
  EXPECT_FALSE(parse_retry_after("Sun, 06 Foo 1994 08:49:47 GMT", kRfcDate));
  EXPECT_FALSE(parse_retry_after("Sun, 06 Nov 1994 8:49 GMT", kRfcDate));
  EXPECT_FALSE(parse_retry_after("Sun, 32 Nov 1994 08:49:47 GMT", kRfcDate));
  // Found by tests/fuzz/fuzz_retry_after.cpp: a 12-digit year overflowed the seconds.
  EXPECT_FALSE(
      parse_retry_after("Sunday, 06-Nov-900000000000  *60000100000008 08:49:37 GMT", kRfcDate));
  EXPECT_FALSE(parse_retry_after("Sun, 06 Nov 123456 08:49:47 GMT", kRfcDate));
}

TEST(Backoff, ExponentialWithFullJitterCapped) {
  const milliseconds base(100);
  const milliseconds cap(1000);
  EXPECT_EQ(backoff_delay(1, base, cap, 0.999999), milliseconds(99));
  EXPECT_EQ(backoff_delay(2, base, cap, 0.5), milliseconds(100));
  EXPECT_EQ(backoff_delay(3, base, cap, 0.5), milliseconds(200));
  EXPECT_EQ(backoff_delay(10, base, cap, 0.5), milliseconds(500));     // capped at 1000
  EXPECT_EQ(backoff_delay(1000, base, cap, 1.0), milliseconds(1000));  // no overflow
  EXPECT_EQ(backoff_delay(3, base, cap, 0.0), milliseconds(0));
}

TEST(Backoff, RetryWaitPrefersRetryAfterCapped) {
  RetryPolicy p;
  p.backoff = milliseconds(10);
  p.max_wait = milliseconds(5000);
  EXPECT_EQ(retry_wait(p, 1, std::string_view("2")), milliseconds(2000));
  EXPECT_EQ(retry_wait(p, 1, std::string_view("3600")), milliseconds(5000));
  EXPECT_LE(retry_wait(p, 1, std::string_view("garbage")), milliseconds(10));
  EXPECT_LE(retry_wait(p, 2, std::nullopt), milliseconds(20));
}

// fsspec's _process_limits table (reference/fsspec.md §2.6), in slice terms.
TEST(Ranges, PlanWithoutSize) {
  EXPECT_EQ(plan_slice(std::nullopt, std::nullopt).kind, SlicePlan::kWhole);
  EXPECT_EQ(plan_slice(0, std::nullopt).kind, SlicePlan::kWhole);
  auto p = plan_slice(1, 10);
  EXPECT_EQ(range_header(p), "bytes=1-9");
  EXPECT_EQ(range_header(plan_slice(1, std::nullopt)), "bytes=1-");
  EXPECT_EQ(range_header(plan_slice(-10, std::nullopt)), "bytes=-10");
  EXPECT_EQ(plan_slice(-10, -2).kind, SlicePlan::kNeedSize);
  EXPECT_EQ(plan_slice(std::nullopt, -10).kind, SlicePlan::kNeedSize);
  EXPECT_EQ(plan_slice(-10, 5).kind, SlicePlan::kNeedSize);
  EXPECT_EQ(plan_slice(5, 5).kind, SlicePlan::kEmpty);
  EXPECT_EQ(plan_slice(7, 3).kind, SlicePlan::kEmpty);
  EXPECT_EQ(range_header(plan_slice(std::nullopt, 10)), "bytes=0-9");
  EXPECT_EQ(range_header(plan_slice(-INT64_MAX - 1, std::nullopt)), "bytes=-9223372036854775808");
}

TEST(Ranges, PlanWithSize) {
  EXPECT_EQ(range_header(plan_slice(-10, -2, 100)), "bytes=90-97");
  EXPECT_EQ(range_header(plan_slice(std::nullopt, -10, 100)), "bytes=0-89");
  EXPECT_EQ(range_header(plan_slice(-10, std::nullopt, 100)), "bytes=90-");
  EXPECT_EQ(plan_slice(-1000, std::nullopt, 100).kind, SlicePlan::kWhole);
  EXPECT_EQ(plan_slice(100, std::nullopt, 100).kind, SlicePlan::kEmpty);
  EXPECT_EQ(plan_slice(5, 1000, 100).kind, SlicePlan::kFrom);
  EXPECT_EQ(plan_slice(0, 0, 0).kind, SlicePlan::kEmpty);
}

TEST(Ranges, SliceBoundsArePythonSlices) {
  const std::string data = "0123456789";
  auto slice = [&](std::optional<std::int64_t> s, std::optional<std::int64_t> e) {
    auto [a, b] = slice_bounds(data.size(), s, e);
    return data.substr(a, b - a);
  };
  EXPECT_EQ(slice(2, 5), "234");
  EXPECT_EQ(slice(-3, std::nullopt), "789");
  EXPECT_EQ(slice(std::nullopt, -3), "0123456");
  EXPECT_EQ(slice(-3, -1), "78");
  EXPECT_EQ(slice(8, 2), "");
  EXPECT_EQ(slice(20, 30), "");
  EXPECT_EQ(slice(-20, 2), "01");
}

TEST(Ranges, ParseContentRange) {
  auto cr = parse_content_range("bytes 0-9/100");
  ASSERT_TRUE(cr);
  EXPECT_EQ(cr->first, 0u);
  EXPECT_EQ(cr->last, 9u);
  EXPECT_EQ(cr->total, 100u);
  auto unknown = parse_content_range("Bytes 5-9/*");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->total);
  auto unsat = parse_content_range("bytes */42");
  ASSERT_TRUE(unsat);
  EXPECT_FALSE(unsat->first);
  EXPECT_EQ(unsat->total, 42u);
  for (const char* bad : {"", "bytes", "bytes 9-0/10", "bytes 0-10/10", "items 0-1/2", "bytes 0-1",
                          "bytes */*", "bytes a-b/c", "bytes -1-2/3"}) {
    EXPECT_FALSE(parse_content_range(bad)) << bad;
  }
}

TEST(Ranges, CheckPartial) {
  auto plan = plan_slice(10, 20);
  auto ok = check_partial(plan, std::string_view("bytes 10-19/100"), 10);
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.offset, 0u);
  EXPECT_EQ(ok.length, 10u);
  // A wider range is sliced.
  auto wide = check_partial(plan, std::string_view("bytes 0-99/100"), 100);
  EXPECT_TRUE(wide.ok);
  EXPECT_EQ(wide.offset, 10u);
  EXPECT_EQ(wide.length, 10u);
  // The end clamps to the file.
  auto end = check_partial(plan_slice(95, 200), std::string_view("bytes 95-99/100"), 5);
  EXPECT_TRUE(end.ok);
  EXPECT_EQ(end.length, 5u);
  // Wrong start, missing header, short body.
  EXPECT_FALSE(check_partial(plan, std::string_view("bytes 11-20/100"), 10).ok);
  EXPECT_FALSE(check_partial(plan, std::nullopt, 10).ok);
  auto short_body = check_partial(plan, std::string_view("bytes 10-19/100"), 4);
  EXPECT_FALSE(short_body.ok);
  EXPECT_TRUE(short_body.truncated);
  // Suffix: the last n bytes of the total.
  auto suffix =
      check_partial(plan_slice(-10, std::nullopt), std::string_view("bytes 90-99/100"), 10);
  EXPECT_TRUE(suffix.ok);
  EXPECT_FALSE(
      check_partial(plan_slice(-10, std::nullopt), std::string_view("bytes 0-9/100"), 10).ok);
  // From: must run to the end.
  EXPECT_FALSE(check_partial(plan_slice(5, std::nullopt), std::string_view("bytes 5-9/100"), 5).ok);
}

}  // namespace
}  // namespace asyncfs::http
