#include "core/http/body_sink.hpp"

#include <new>
#include <string>

#include "asyncfs/errors.hpp"
#include "core/http/body_buffer.hpp"

namespace asyncfs::http {

SinkStop deliver_body(Request& rq, Response& resp, std::string_view data, Callback* progress,
                      std::exception_ptr& sink_error) {
  resp.body_bytes += data.size();
  BodySink& sink = rq.sink;
  if (sink.on_data) {
    try {
      if (!sink.on_data(data)) return SinkStop::kDeclined;
    } catch (...) {
      sink_error = std::current_exception();
      return SinkStop::kThrew;
    }
  } else {
    if (sink.max_bytes && resp.body.size() + data.size() > *sink.max_bytes) {
      return SinkStop::kTooLarge;
    }
    try {
      append_body(resp.body, data);
    } catch (const std::bad_alloc&) {
      // Inside a libuv or libcurl callback: it must not escape (std::terminate). The one
      // transfer fails with a typed error instead.
      sink_error = std::make_exception_ptr(
          OutOfMemory(rq.url, "the response body does not fit in memory",
                      ErrorDetails{0, std::to_string(resp.body.size()) + " bytes held"}));
      return SinkStop::kThrew;
    }
  }
  if (progress) progress->relative_update(data.size());
  return SinkStop::kNone;
}

std::exception_ptr sink_stop_error(SinkStop stop, const Request& rq,
                                   std::exception_ptr sink_error) {
  switch (stop) {
    case SinkStop::kTooLarge:
      return std::make_exception_ptr(TooLarge(
          rq.url,
          "response body larger than " + std::to_string(rq.sink.max_bytes.value_or(0)) + " bytes"));
    case SinkStop::kDeclined:
      return std::make_exception_ptr(Cancelled(rq.url, "transfer aborted by its body sink"));
    case SinkStop::kThrew:
      return sink_error;
    case SinkStop::kNone:
      break;
  }
  return nullptr;
}

}  // namespace asyncfs::http
