// libFuzzer target: FirecREST responses of any shape through the model layer. Whatever the
// server sends, the client gets a model or a ProtocolError, never a crash.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>

#include "asyncfs/errors.hpp"
#include "backends/firecrest/models.hpp"

namespace m = asyncfs::firecrest::model;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)m::error_message(text);
  {
    // The On-Demand path of polled job lists reads the raw text (and may pad it).
    static simdjson::ondemand::parser od;
    static const std::unordered_set<std::string_view> wanted = {"1", "12", "100001", "abc"};
    std::string body = text;
    try {
      (void)m::wanted_jobs(m::Reader{"fuzz"}, body, wanted, od);
    } catch (const asyncfs::Error&) {
    }
  }
  if (parser.parse(text).get(doc) != simdjson::SUCCESS) return 0;
  const m::Reader r{"fuzz"};
  auto attempt = [&](auto fn) {
    try {
      fn();
    } catch (const asyncfs::Error&) {
    }
  };
  attempt([&] { (void)m::systems(r, doc); });
  attempt([&] { (void)m::userinfo(r, doc); });
  attempt([&] { (void)m::files(r, doc); });
  attempt([&] { (void)m::stat(r, doc); });
  attempt([&] { (void)m::head_tail(r, doc); });
  attempt([&] { (void)m::checksum(r, doc); });
  attempt([&] { (void)m::jobs(r, doc); });
  attempt([&] { (void)m::job_metadata(r, doc); });
  attempt([&] { (void)m::submitted_id(r, doc); });
  attempt([&] { (void)m::transfer_job(r, doc); });
  attempt([&] { (void)m::directives(r, doc); });
  return 0;
}
