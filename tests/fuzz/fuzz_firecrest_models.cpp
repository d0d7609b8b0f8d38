// libFuzzer target: FirecREST responses of any shape through the model layer. Whatever the
// server sends, the client gets a model or a ProtocolError, never a crash.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "asyncfs/errors.hpp"
#include "backends/firecrest/models.hpp"

namespace m = asyncfs::firecrest::model;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)m::error_message(text);
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
