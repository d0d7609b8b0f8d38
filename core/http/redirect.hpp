#pragma once
// Redirect rules shared by the engine (native hops) and the libcurl transport (requests with a
// body, whose redirects it follows itself): what the next hop sends and where it goes.

#include <string>

#include "core/http/engine.hpp"

namespace asyncfs::http {

/// 301, 302, 303, 307 and 308: the statuses that are followed.
bool is_followed_redirect(long status);

/// The absolute URL a Location header points to from `base` ("" when it cannot be resolved).
/// Done like curl's own following: relative references resolve against the request URL, and
/// other schemes are kept (the next hop then refuses them as curl does).
std::string resolve_location(const std::string& base, const std::string& location);

/// Turns `rq` into the request for the next hop of a redirect, with the rules curl applies
/// when it follows by itself (POST becomes GET on 301/302/303, anything but HEAD on 303), and
/// without credentials when the next hop is another scheme, host or port.
void prepare_redirect(Request& rq, long status, const std::string& location);

}  // namespace asyncfs::http
