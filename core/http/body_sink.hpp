#pragma once
// Delivery of received body bytes to a request's BodySink, shared by both transports so that a
// sink, a size limit and progress behave the same whichever transport carries the request.

#include <exception>
#include <string_view>

#include "asyncfs/callback.hpp"
#include "core/http/engine.hpp"

namespace asyncfs::http {

/// Why delivering body bytes stopped the transfer.
enum class SinkStop { kNone, kTooLarge, kDeclined, kThrew };

/// Counts `data` in resp.body_bytes and hands it to rq.sink.on_data, or appends it to
/// resp.body within sink.max_bytes; then reports it to `progress` (may be null). On kThrew the
/// sink's exception is stored in `sink_error`. Runs inside transport callbacks: no resumption.
SinkStop deliver_body(Request& rq, Response& resp, std::string_view data, Callback* progress,
                      std::exception_ptr& sink_error);

/// The error a stopped delivery ends the request with: TooLarge (naming the limit), Cancelled
/// (the sink declined) or the sink's own exception.
std::exception_ptr sink_stop_error(SinkStop stop, const Request& rq, std::exception_ptr sink_error);

}  // namespace asyncfs::http
