#include "core/http/redirect.hpp"

#include <curl/curl.h>

#include <new>

#include "core/http/header_util.hpp"

namespace asyncfs::http {
namespace {

/// "scheme://host:port" of a URL ("" when it cannot be parsed): credentials stay within it.
std::string origin_of(const std::string& url) {
  CURLU* u = curl_url();
  if (!u) return {};
  std::string out;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* scheme = nullptr;
    char* host = nullptr;
    char* port = nullptr;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
      out = lower(scheme) + "://" + lower(host) + ":" + port;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
  }
  curl_url_cleanup(u);
  return out;
}

void drop_header(Headers& headers, std::string_view lower_name) {
  std::erase_if(headers, [&](const auto& h) { return iequals(h.first, lower_name); });
}

}  // namespace

void prepare_redirect(Request& rq, long status, const std::string& location) {
  const std::string from = origin_of(rq.url);
  const std::string to = origin_of(location);
  if (from.empty() || from != to) {
    // Never hand credentials to another host (or port or scheme).
    drop_header(rq.headers, "authorization");
    drop_header(rq.headers, "cookie");
    for (const std::string& name : rq.private_headers) drop_header(rq.headers, name);
  }
  const bool to_get = (status == 303 && rq.method != "HEAD") ||
                      ((status == 301 || status == 302) && rq.method == "POST");
  if (to_get) {
    rq.method = "GET";
    rq.body.reset();
    rq.upload_path.clear();
    drop_header(rq.headers, "content-type");
  }
  rq.url = location;
}

bool is_followed_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string resolve_location(const std::string& base, const std::string& location) {
  CURLU* u = curl_url();
  if (!u) throw std::bad_alloc();
  std::string out;
  if (curl_url_set(u, CURLUPART_URL, base.c_str(), 0) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_URL, location.c_str(),
                   CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE) == CURLUE_OK) {
    char* full = nullptr;
    if (curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK && full) out = full;
    curl_free(full);
  }
  curl_url_cleanup(u);
  return out;
}

}  // namespace asyncfs::http
