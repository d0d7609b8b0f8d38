// Byte-range planning and validation (see ranges.hpp).

#include "core/http/ranges.hpp"

#include <algorithm>

namespace asyncfs::http {
namespace {

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

SlicePlan plan_slice(std::optional<std::int64_t> start, std::optional<std::int64_t> end,
                     std::optional<std::uint64_t> size) {
  SlicePlan plan;
  if (size) {
    auto [s, e] = slice_bounds(*size, start, end);
    if (e <= s) {
      plan.kind = SlicePlan::kEmpty;
    } else if (s == 0 && e == *size) {
      plan.kind = SlicePlan::kWhole;
    } else if (e == *size) {
      plan.kind = SlicePlan::kFrom;
      plan.first = s;
    } else {
      plan.kind = SlicePlan::kBounded;
      plan.first = s;
      plan.last = e - 1;
    }
    return plan;
  }
  if (end && *end < 0) {
    plan.kind = SlicePlan::kNeedSize;
    return plan;
  }
  if (start && *start < 0) {
    if (end) {
      plan.kind = SlicePlan::kNeedSize;
    } else {
      plan.kind = SlicePlan::kSuffix;
      plan.suffix = static_cast<std::uint64_t>(-(*start + 1)) + 1;
    }
    return plan;
  }
  const std::uint64_t s = start ? static_cast<std::uint64_t>(*start) : 0;
  if (!end) {
    plan.kind = s == 0 ? SlicePlan::kWhole : SlicePlan::kFrom;
    plan.first = s;
    return plan;
  }
  const auto e = static_cast<std::uint64_t>(*end);
  if (e <= s) {
    plan.kind = SlicePlan::kEmpty;
    return plan;
  }
  plan.kind = SlicePlan::kBounded;
  plan.first = s;
  plan.last = e - 1;
  return plan;
}

std::string range_header(const SlicePlan& plan) {
  switch (plan.kind) {
    case SlicePlan::kFrom:
      return "bytes=" + std::to_string(plan.first) + "-";
    case SlicePlan::kBounded:
      return "bytes=" + std::to_string(plan.first) + "-" + std::to_string(plan.last);
    case SlicePlan::kSuffix:
      return "bytes=-" + std::to_string(plan.suffix);
    default:
      return "";
  }
}

std::optional<ContentRange> parse_content_range(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) {
    v.remove_suffix(1);
  }
  if (v.size() < 6) return std::nullopt;
  std::string unit(v.substr(0, 6));
  for (char& c : unit) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (unit != "bytes ") return std::nullopt;
  v.remove_prefix(6);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  const std::size_t slash = v.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view span = v.substr(0, slash);
  const std::string_view total = v.substr(slash + 1);
  ContentRange out;
  if (total != "*") {
    out.total = parse_u64(total);
    if (!out.total) return std::nullopt;
  }
  if (span == "*") {
    if (!out.total) return std::nullopt;
    return out;
  }
  const std::size_t dash = span.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  out.first = parse_u64(span.substr(0, dash));
  out.last = parse_u64(span.substr(dash + 1));
  if (!out.first || !out.last || *out.last < *out.first) return std::nullopt;
  if (out.total && *out.last >= *out.total) return std::nullopt;
  return out;
}

RangeCheck check_partial(const SlicePlan& plan, std::optional<std::string_view> content_range,
                         std::uint64_t body_size) {
  RangeCheck r;
  std::optional<ContentRange> cr;
  if (content_range) cr = parse_content_range(*content_range);
  if (!cr || !cr->first) {
    r.problem = content_range ? "malformed Content-Range '" + std::string(*content_range) + "'"
                              : "206 without Content-Range";
    return r;
  }
  const std::uint64_t span = *cr->last - *cr->first + 1;
  if (body_size != span) {
    r.truncated = body_size < span;
    r.problem = "body of " + std::to_string(body_size) + " bytes for Content-Range of " +
                std::to_string(span);
    return r;
  }
  std::uint64_t want_first = plan.first;
  std::optional<std::uint64_t> want_last;
  switch (plan.kind) {
    case SlicePlan::kFrom:
      if (cr->total) want_last = *cr->total - 1;
      break;
    case SlicePlan::kBounded:
      want_last = cr->total ? std::min(plan.last, *cr->total - 1) : plan.last;
      break;
    case SlicePlan::kSuffix:
      if (cr->total) {
        want_first = *cr->total > plan.suffix ? *cr->total - plan.suffix : 0;
        want_last = *cr->total - 1;
      } else {
        want_first = *cr->first;  // unverifiable without a total: take the server's word
      }
      break;
    default:
      r.problem = "unexpected partial response";
      return r;
  }
  if (want_last && *want_last < want_first) {
    r.problem = "range starts beyond the end of the file";
    return r;
  }
  if (*cr->first > want_first || (want_last && *cr->last < *want_last)) {
    r.problem = "Content-Range '" + std::string(*content_range) + "' does not cover the request";
    return r;
  }
  r.ok = true;
  r.offset = want_first - *cr->first;
  r.length = (want_last ? *want_last : *cr->last) - want_first + 1;
  return r;
}

}  // namespace asyncfs::http
