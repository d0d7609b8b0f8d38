// FirecREST JSON → models (see models.hpp).

#include "backends/firecrest/models.hpp"

#include <charconv>
#include <map>
#include <unordered_set>

#include "asyncfs/errors.hpp"

namespace asyncfs::firecrest::model {
namespace {

std::string join_keys(std::initializer_list<std::string_view> keys) {
  std::string out;
  for (auto k : keys) {
    if (!out.empty()) out += '/';
    out += k;
  }
  return out;
}

std::optional<std::int64_t> parse_decimal(std::string_view s) {
  std::int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end || s.empty()) return std::nullopt;
  return v;
}

std::string minified(const element& e) { return simdjson::minify(e); }

}  // namespace

std::optional<element> field(const object& obj, std::initializer_list<std::string_view> keys) {
  for (auto k : keys) {
    element e;
    if (obj.at_key(k).get(e) == simdjson::SUCCESS && !e.is_null()) return e;
  }
  return std::nullopt;
}

void Reader::fail(std::string_view name, std::string_view problem) const {
  throw ProtocolError(
      what, "unexpected FirecREST response: '" + std::string(name) + "' " + std::string(problem));
}

object Reader::as_object(const element& e, std::string_view name) const {
  object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) fail(name, "is not an object");
  return o;
}

std::string Reader::text_of(const element& e, std::string_view name) const {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  std::int64_t n = 0;
  if (e.get_int64().get(n) == simdjson::SUCCESS) return std::to_string(n);
  if (e.is_null()) return {};
  fail(name, "is not a string");
}

std::optional<std::int64_t> Reader::int_of(const element& e, std::string_view name) const {
  if (e.is_null()) return std::nullopt;
  std::int64_t n = 0;
  if (e.get_int64().get(n) == simdjson::SUCCESS) return n;
  std::uint64_t u = 0;
  if (e.get_uint64().get(u) == simdjson::SUCCESS) return static_cast<std::int64_t>(u);
  double d = 0;
  if (e.get_double().get(d) == simdjson::SUCCESS && d >= -9.2e18 && d <= 9.2e18) {
    return static_cast<std::int64_t>(d);
  }
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) {
    if (auto v = parse_decimal(s)) return v;
  }
  fail(name, "is not an integer");
}

std::string Reader::opt_str(const object& o, std::initializer_list<std::string_view> keys) const {
  auto e = field(o, keys);
  return e ? text_of(*e, join_keys(keys)) : std::string();
}

std::string Reader::str(const object& o, std::initializer_list<std::string_view> keys) const {
  if (!field(o, keys)) fail(join_keys(keys), "is missing");
  return opt_str(o, keys);
}

std::optional<std::int64_t> Reader::opt_integer(
    const object& o, std::initializer_list<std::string_view> keys) const {
  auto e = field(o, keys);
  return e ? int_of(*e, join_keys(keys)) : std::nullopt;
}

std::int64_t Reader::integer(const object& o, std::initializer_list<std::string_view> keys) const {
  auto v = opt_integer(o, keys);
  if (!v) fail(join_keys(keys), "is missing");
  return *v;
}

std::string Reader::id(const object& o, std::initializer_list<std::string_view> keys) const {
  auto e = field(o, keys);
  if (!e) fail(join_keys(keys), "is missing");
  std::string_view s;
  if (e->get_string().get(s) == simdjson::SUCCESS && !s.empty()) return std::string(s);
  std::int64_t n = 0;
  if (e->get_int64().get(n) == simdjson::SUCCESS) return std::to_string(n);
  fail(join_keys(keys), "is not a job id (string or integer)");
}

element Reader::output(const element& doc) const {
  object o = as_object(doc, "response");
  auto e = field(o, {"output"});
  if (!e) fail("output", "is missing");
  return *e;
}

// --- status ----------------------------------------------------------------------------------

System system(const Reader& r, const element& e) {
  object o = r.as_object(e, "systems[]");
  System s;
  s.name = r.str(o, {"name"});
  s.json = minified(e);
  if (auto fs = field(o, {"fileSystems", "file_systems"})) {
    simdjson::dom::array arr;
    if (fs->get_array().get(arr) != simdjson::SUCCESS) r.fail("fileSystems", "is not an array");
    for (element f : arr) {
      object fo = r.as_object(f, "fileSystems[]");
      FileSystemInfo info;
      info.path = r.str(fo, {"path"});
      info.data_type = r.opt_str(fo, {"dataType", "data_type"});
      if (auto d = field(fo, {"defaultWorkDir", "default_work_dir"})) {
        bool b = false;
        if (d->get_bool().get(b) == simdjson::SUCCESS) info.default_work_dir = b;
      }
      s.file_systems.push_back(std::move(info));
    }
  }
  if (auto sch = field(o, {"scheduler"})) {
    object so;
    if (sch->get_object().get(so) == simdjson::SUCCESS) s.scheduler = r.opt_str(so, {"type"});
  }
  if (auto health = field(o, {"servicesHealth", "services_health"})) {
    simdjson::dom::array arr;
    if (health->get_array().get(arr) == simdjson::SUCCESS) {
      for (element h : arr) {
        object ho;
        bool ok = true;
        if (h.get_object().get(ho) == simdjson::SUCCESS) {
          if (auto hv = field(ho, {"healthy"}); hv && hv->get_bool().get(ok) == simdjson::SUCCESS) {
            s.healthy = s.healthy && ok;
          }
        }
      }
    }
  }
  if (auto dop = field(o, {"dataOperation", "data_operation"})) {
    object d = r.as_object(*dop, "dataOperation");
    if (auto m = r.opt_integer(d, {"max_ops_file_size", "maxOpsFileSize"}); m && *m > 0) {
      s.max_ops_file_size = static_cast<std::uint64_t>(*m);
    }
    if (auto dt = field(d, {"data_transfer", "dataTransfer"})) {
      object t = r.as_object(*dt, "data_transfer");
      s.transfer_service = r.opt_str(t, {"serviceType", "service_type"});
      s.transfer_ttl = r.opt_integer(t, {"ttl"});
      if (auto mp = field(t, {"multipart"})) {
        object mo = r.as_object(*mp, "multipart");
        if (auto p = r.opt_integer(mo, {"max_part_size", "maxPartSize"}); p && *p > 0) {
          s.max_part_size = static_cast<std::uint64_t>(*p);
        }
      }
    }
  }
  return s;
}

std::vector<System> systems(const Reader& r, const element& doc) {
  object o = r.as_object(doc, "response");
  auto list = field(o, {"systems"});
  if (!list) r.fail("systems", "is missing");
  simdjson::dom::array arr;
  if (list->get_array().get(arr) != simdjson::SUCCESS) r.fail("systems", "is not an array");
  std::vector<System> out;
  for (element e : arr) out.push_back(system(r, e));
  return out;
}

UserInfo userinfo(const Reader& r, const element& doc) {
  object o = r.as_object(doc, "response");
  UserInfo u;
  u.json = minified(doc);
  auto id_name = [&r](const element& e, std::string_view name) {
    object x = r.as_object(e, name);
    return IdName{r.opt_str(x, {"id"}), r.opt_str(x, {"name"})};
  };
  auto user = field(o, {"user"});
  if (!user) r.fail("user", "is missing");
  u.user = id_name(*user, "user");
  if (auto g = field(o, {"group"})) u.group = id_name(*g, "group");
  if (auto gs = field(o, {"groups"})) {
    simdjson::dom::array arr;
    if (gs->get_array().get(arr) != simdjson::SUCCESS) r.fail("groups", "is not an array");
    for (element g : arr) u.groups.push_back(id_name(g, "groups[]"));
  }
  return u;
}

// --- filesystem ------------------------------------------------------------------------------

RemoteFile remote_file(const Reader& r, const element& e) {
  // One pass over the fields (a listing has thousands of entries): a lookup per field and
  // spelling would scan each object a dozen times.
  object o = r.as_object(e, "output");
  RemoteFile f;
  bool named = false;
  for (auto [key, value] : o) {
    if (key == "name") {
      f.name = r.text_of(value, "name");
      named = true;
    } else if (key == "type") {
      const std::string t = r.text_of(value, "type");
      f.type = t.empty() ? '-' : t[0];
    } else if (key == "linkTarget" || key == "link_target") {
      f.link_target = r.text_of(value, "linkTarget");
    } else if (key == "user") {
      f.user = r.text_of(value, "user");
    } else if (key == "group") {
      f.group = r.text_of(value, "group");
    } else if (key == "permissions") {
      f.permissions = r.text_of(value, "permissions");
    } else if (key == "lastModified" || key == "last_modified") {
      f.last_modified = r.text_of(value, "lastModified");
    } else if (key == "size") {
      auto size = r.int_of(value, "size");
      if (size && *size < 0) r.fail("size", "is negative");
      f.size = static_cast<std::uint64_t>(size.value_or(0));
    }
  }
  if (!named) r.fail("name", "is missing");
  return f;
}

std::vector<RemoteFile> files(const Reader& r, const element& doc) {
  element out = r.output(doc);
  std::vector<RemoteFile> list;
  if (out.is_null()) return list;
  simdjson::dom::array arr;
  if (out.get_array().get(arr) != simdjson::SUCCESS) r.fail("output", "is not an array");
  list.reserve(arr.size());
  for (element e : arr) list.push_back(remote_file(r, e));
  return list;
}

RemoteFile output_file(const Reader& r, const element& doc) {
  return remote_file(r, r.output(doc));
}

std::string output_text(const Reader& r, const element& doc) {
  std::string_view text;
  if (r.output(doc).get_string().get(text) != simdjson::SUCCESS)
    r.fail("output", "is not a string");
  return std::string(text);
}

StatResult stat(const Reader& r, const element& doc) {
  object o = r.as_object(r.output(doc), "output");
  StatResult s;
  s.mode = static_cast<std::uint32_t>(r.integer(o, {"mode"}));
  s.ino = static_cast<std::uint64_t>(r.opt_integer(o, {"ino"}).value_or(0));
  s.dev = static_cast<std::uint64_t>(r.opt_integer(o, {"dev"}).value_or(0));
  s.nlink = static_cast<std::uint64_t>(r.opt_integer(o, {"nlink"}).value_or(0));
  s.uid = static_cast<std::uint64_t>(r.opt_integer(o, {"uid"}).value_or(0));
  s.gid = static_cast<std::uint64_t>(r.opt_integer(o, {"gid"}).value_or(0));
  const std::int64_t size = r.integer(o, {"size"});
  if (size < 0) r.fail("size", "is negative");
  s.size = static_cast<std::uint64_t>(size);
  s.atime = r.opt_integer(o, {"atime"}).value_or(0);
  s.mtime = r.opt_integer(o, {"mtime"}).value_or(0);
  s.ctime = r.opt_integer(o, {"ctime"}).value_or(0);
  return s;
}

HeadTailResult head_tail(const Reader& r, const element& doc) {
  element out = r.output(doc);
  HeadTailResult h;
  std::string_view text;
  if (out.get_string().get(text) == simdjson::SUCCESS) {  // older servers: the text itself
    h.content = std::string(text);
    return h;
  }
  object o = r.as_object(out, "output");
  h.content = r.str(o, {"content"});
  h.content_type = r.opt_str(o, {"contentType", "content_type"});
  h.start_position = r.opt_integer(o, {"startPosition", "start_position"}).value_or(0);
  h.end_position = r.opt_integer(o, {"endPosition", "end_position"}).value_or(0);
  return h;
}

Checksum checksum(const Reader& r, const element& doc) {
  element out = r.output(doc);
  Checksum c;
  std::string_view text;
  if (out.get_string().get(text) == simdjson::SUCCESS) {  // v1 shape: the hex digest only
    c.algorithm = "SHA256";
    c.checksum = std::string(text);
    return c;
  }
  object o = r.as_object(out, "output");
  c.algorithm = r.opt_str(o, {"algorithm"});
  c.checksum = r.str(o, {"checksum"});
  return c;
}

// --- compute ---------------------------------------------------------------------------------

Job job(const Reader& r, const element& e, bool keep_json) {
  object o = r.as_object(e, "jobs[]");
  Job j;
  bool have_id = false;
  std::optional<element> st;
  for (auto [key, value] : o) {  // one pass: job lists are long
    if (key == "jobId" || key == "job_id" || key == "jobid") {
      std::int64_t n = 0;
      std::string_view s;
      if (value.get_string().get(s) == simdjson::SUCCESS && !s.empty()) {
        j.job_id = std::string(s);
      } else if (value.get_int64().get(n) == simdjson::SUCCESS) {
        j.job_id = std::to_string(n);
      } else {
        r.fail("jobId", "is not a job id (string or integer)");
      }
      have_id = true;
    } else if (key == "name") {
      j.name = r.text_of(value, "name");
    } else if (key == "user") {
      j.user = r.text_of(value, "user");
    } else if (key == "workingDirectory" || key == "working_directory") {
      j.working_directory = r.text_of(value, "workingDirectory");
    } else if (key == "partition") {
      j.partition = r.text_of(value, "partition");
    } else if (key == "account") {
      j.account = r.text_of(value, "account");
    } else if (key == "status") {
      st = value;
    } else if (key == "time") {
      object to;
      if (value.get_object().get(to) == simdjson::SUCCESS) {
        j.start_time = r.opt_integer(to, {"start"});
        j.end_time = r.opt_integer(to, {"end"});
      }
    }
  }
  if (!have_id) r.fail("jobId", "is missing");
  if (!st) r.fail("status", "is missing");
  if (keep_json) j.json = minified(e);
  object so = r.as_object(*st, "status");
  auto state = field(so, {"state"});
  if (!state) r.fail("status.state", "is missing");
  std::string_view s;
  simdjson::dom::array parts;
  if (state->get_string().get(s) == simdjson::SUCCESS) {
    j.status.state = std::string(s);
  } else if (state->get_array().get(parts) == simdjson::SUCCESS) {
    for (element p : parts) {
      if (p.get_string().get(s) != simdjson::SUCCESS) r.fail("status.state[]", "is not a string");
      if (!j.status.state.empty()) j.status.state += ',';
      j.status.state += s;
    }
  } else {
    r.fail("status.state", "is neither a string nor a list");
  }
  j.status.state_reason = r.opt_str(so, {"stateReason", "state_reason"});
  j.status.exit_code = r.opt_integer(so, {"exitCode", "exit_code"});
  j.status.interrupt_signal = r.opt_integer(so, {"interruptSignal", "interrupt_signal"});
  return j;
}

std::vector<Job> jobs(const Reader& r, const element& doc) {
  object o = r.as_object(doc, "response");
  std::vector<Job> out;
  auto list = field(o, {"jobs"});
  if (!list) return out;  // {"jobs": null}: none
  simdjson::dom::array arr;
  if (list->get_array().get(arr) != simdjson::SUCCESS) r.fail("jobs", "is not an array");
  out.reserve(arr.size());
  for (element e : arr) out.push_back(job(r, e));
  return out;
}

JobMetadata job_metadata(const Reader& r, const element& doc) {
  object o = r.as_object(doc, "response");
  auto list = field(o, {"jobs"});
  if (!list) r.fail("jobs", "is missing");
  simdjson::dom::array arr;
  if (list->get_array().get(arr) != simdjson::SUCCESS || arr.size() == 0) {
    r.fail("jobs", "is not a non-empty array");
  }
  element first = arr.at(0).value_unsafe();
  object j = r.as_object(first, "jobs[0]");
  JobMetadata m;
  m.job_id = r.id(j, {"jobId", "job_id"});
  m.script = r.opt_str(j, {"script"});
  m.standard_input = r.opt_str(j, {"standardInput", "standard_input"});
  m.standard_output = r.opt_str(j, {"standardOutput", "standard_output"});
  m.standard_error = r.opt_str(j, {"standardError", "standard_error"});
  m.json = minified(first);
  return m;
}

std::string submitted_id(const Reader& r, const element& doc) {
  object o = r.as_object(doc, "response");
  return r.id(o, {"jobId", "job_id"});
}

TransferJob transfer_job(const Reader& r, const element& doc) {
  object o = r.as_object(doc, "response");
  auto tj = field(o, {"transferJob", "transfer_job"});
  if (!tj) r.fail("transferJob", "is missing");
  object t = r.as_object(*tj, "transferJob");
  TransferJob out;
  out.job_id = r.id(t, {"jobId", "job_id"});
  out.system = r.opt_str(t, {"system"});
  out.working_directory = r.opt_str(t, {"workingDirectory", "working_directory"});
  if (auto logs = field(t, {"logs"})) {
    object l = r.as_object(*logs, "transferJob.logs");
    out.output_log = r.opt_str(l, {"outputLog", "output_log"});
    out.error_log = r.opt_str(l, {"errorLog", "error_log"});
  }
  return out;
}

Directives directives(const Reader& r, const element& doc) {
  object o = r.as_object(doc, "response");
  // 2.5: camelCase under transferDirectives; 2.4: snake_case there; 2.3: at the top level.
  object d = o;
  if (auto td = field(o, {"transferDirectives", "transfer_directives"})) {
    d = r.as_object(*td, "transferDirectives");
  }
  Directives out;
  auto pick = [&](std::initializer_list<std::string_view> keys) {
    std::string v = r.opt_str(d, keys);
    return v.empty() ? r.opt_str(o, keys) : v;
  };
  out.download_url = pick({"downloadUrl", "download_url"});
  out.complete_upload_url = pick({"completeUploadUrl", "complete_upload_url"});
  std::optional<element> parts = field(d, {"partsUploadUrls", "parts_upload_urls"});
  if (!parts) parts = field(o, {"partsUploadUrls", "parts_upload_urls"});
  if (parts) {
    simdjson::dom::array arr;
    if (parts->get_array().get(arr) != simdjson::SUCCESS) r.fail("partsUploadUrls", "not a list");
    for (element p : arr) {
      std::string_view s;
      if (p.get_string().get(s) != simdjson::SUCCESS) r.fail("partsUploadUrls[]", "not a string");
      out.parts_upload_urls.emplace_back(s);
    }
  }
  auto mp = r.opt_integer(d, {"maxPartSize", "max_part_size"});
  if (!mp) mp = r.opt_integer(o, {"maxPartSize", "max_part_size"});
  if (mp && *mp > 0) out.max_part_size = static_cast<std::uint64_t>(*mp);
  return out;
}

namespace {

using simdjson::ondemand::json_type;

/// A string, a number (as text) or null (""), from an On-Demand value.
std::string od_text(simdjson::ondemand::value v, const Reader& rd, std::string_view name) {
  json_type t;
  if (v.type().get(t) != simdjson::SUCCESS) rd.fail(name, "is not valid JSON");
  if (t == json_type::null) return {};
  if (t == json_type::number) {
    std::int64_t n = 0;
    if (v.get_int64().get(n) != simdjson::SUCCESS) rd.fail(name, "is not an integer");
    return std::to_string(n);
  }
  std::string_view sv;
  if (v.get_string().get(sv) != simdjson::SUCCESS) rd.fail(name, "is not a string");
  return std::string(sv);
}

std::optional<std::int64_t> od_int(simdjson::ondemand::value v, const Reader& rd,
                                   std::string_view name) {
  json_type t;
  if (v.type().get(t) != simdjson::SUCCESS) rd.fail(name, "is not valid JSON");
  if (t == json_type::null) return std::nullopt;
  std::int64_t n = 0;
  if (t == json_type::number && v.get_int64().get(n) == simdjson::SUCCESS) return n;
  const std::string text = od_text(v, rd, name);
  try {
    std::size_t used = 0;
    const long long parsed = std::stoll(text, &used);
    if (used == text.size()) return parsed;
  } catch (const std::exception&) {
  }
  rd.fail(name, "is not an integer");
}

/// One job record of the list, in one forward pass (On-Demand cannot go back).
Job od_job(simdjson::ondemand::object o, const Reader& rd) {
  Job j;
  bool have_status = false;
  for (auto f : o) {
    simdjson::ondemand::field field;
    std::string_view key;
    if (std::move(f).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(key) != simdjson::SUCCESS) {
      rd.fail("jobs[]", "is not a valid object");
    }
    simdjson::ondemand::value v = field.value();
    if (key == "jobId" || key == "job_id" || key == "jobid") {
      j.job_id = od_text(v, rd, "jobId");
    } else if (key == "name") {
      j.name = od_text(v, rd, "name");
    } else if (key == "user") {
      j.user = od_text(v, rd, "user");
    } else if (key == "workingDirectory" || key == "working_directory") {
      j.working_directory = od_text(v, rd, "workingDirectory");
    } else if (key == "partition") {
      j.partition = od_text(v, rd, "partition");
    } else if (key == "account") {
      j.account = od_text(v, rd, "account");
    } else if (key == "status") {
      simdjson::ondemand::object so;
      if (v.get_object().get(so) != simdjson::SUCCESS) rd.fail("status", "is not an object");
      have_status = true;
      for (auto sf : so) {
        simdjson::ondemand::field s;
        std::string_view skey;
        if (std::move(sf).get(s) != simdjson::SUCCESS ||
            s.unescaped_key().get(skey) != simdjson::SUCCESS) {
          rd.fail("status", "is not a valid object");
        }
        simdjson::ondemand::value sv = s.value();
        if (skey == "state") {
          simdjson::ondemand::array parts;
          if (sv.get_array().get(parts) == simdjson::SUCCESS) {
            for (auto part : parts) {
              std::string_view p;
              if (part.get_string().get(p) != simdjson::SUCCESS) {
                rd.fail("status.state[]", "is not a string");
              }
              if (!j.status.state.empty()) j.status.state += ',';
              j.status.state += p;
            }
          } else {
            j.status.state = od_text(sv, rd, "status.state");
          }
        } else if (skey == "stateReason" || skey == "state_reason") {
          j.status.state_reason = od_text(sv, rd, "status.stateReason");
        } else if (skey == "exitCode" || skey == "exit_code") {
          j.status.exit_code = od_int(sv, rd, "status.exitCode");
        } else if (skey == "interruptSignal" || skey == "interrupt_signal") {
          j.status.interrupt_signal = od_int(sv, rd, "status.interruptSignal");
        }
      }
    } else if (key == "time") {
      simdjson::ondemand::object to;
      if (v.get_object().get(to) == simdjson::SUCCESS) {
        for (auto tf : to) {
          simdjson::ondemand::field t;
          std::string_view tkey;
          if (std::move(tf).get(t) != simdjson::SUCCESS ||
              t.unescaped_key().get(tkey) != simdjson::SUCCESS) {
            rd.fail("time", "is not a valid object");
          }
          simdjson::ondemand::value tv = t.value();
          if (tkey == "start") j.start_time = od_int(tv, rd, "time.start");
          if (tkey == "end") j.end_time = od_int(tv, rd, "time.end");
        }
      }
    }
  }
  if (j.job_id.empty()) rd.fail("jobId", "is missing");
  if (!have_status || j.status.state.empty()) rd.fail("status.state", "is missing");
  return j;
}

}  // namespace

std::map<std::string, Job> wanted_jobs_unchecked(const Reader& rd, std::string& body,
                                                 const std::unordered_set<std::string_view>& wanted,
                                                 simdjson::ondemand::parser& parser);

std::map<std::string, Job> wanted_jobs(const Reader& rd, std::string& body,
                                       const std::unordered_set<std::string_view>& wanted,
                                       simdjson::ondemand::parser& parser) {
  try {
    return wanted_jobs_unchecked(rd, body, wanted, parser);
  } catch (const simdjson::simdjson_error& e) {
    // On-Demand reports some malformed input only when a value is used: still a bad response.
    rd.fail("jobs", e.what());
  }
}

std::map<std::string, Job> wanted_jobs_unchecked(const Reader& rd, std::string& body,
                                                 const std::unordered_set<std::string_view>& wanted,
                                                 simdjson::ondemand::parser& parser) {
  // The engine leaves room for simdjson's padding after a body of announced length; a
  // chunked one gets it here.
  if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING) {
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  }
  simdjson::padded_string_view view(body.data(), body.size(), body.capacity());
  simdjson::ondemand::document doc;
  simdjson::ondemand::object top;
  if (parser.iterate(view).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(top) != simdjson::SUCCESS) {
    rd.fail("response", "is not a JSON object");
  }
  std::map<std::string, Job> out;
  for (auto f : top) {
    simdjson::ondemand::field field;
    std::string_view key;
    if (std::move(f).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(key) != simdjson::SUCCESS) {
      rd.fail("response", "is not a valid object");
    }
    if (key != "jobs") continue;
    simdjson::ondemand::value v = field.value();
    bool null = false;  // checks the literal, not only its first letter
    if (v.is_null().get(null) != simdjson::SUCCESS) rd.fail("jobs", "is not valid JSON");
    if (null) break;
    simdjson::ondemand::array arr;
    if (v.get_array().get(arr) != simdjson::SUCCESS) rd.fail("jobs", "is not an array");
    for (auto item : arr) {
      simdjson::ondemand::object jo;
      if (item.get_object().get(jo) != simdjson::SUCCESS) rd.fail("jobs[]", "is not an object");
      Job j = od_job(jo, rd);
      if (wanted.contains(j.job_id)) {
        std::string id = j.job_id;
        out.emplace(std::move(id), std::move(j));
      }
    }
  }
  return out;
}

std::string error_message(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS) return {};
  simdjson::dom::object o;
  if (doc.get_object().get(o) != simdjson::SUCCESS) return {};
  for (auto key : {"message", "detail", "error_description", "error"}) {
    std::string_view s;
    if (o[key].get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  }
  return {};
}

}  // namespace asyncfs::firecrest::model
