#pragma once
// Whether a finished curl easy handle may carry another transfer.

#include <curl/curl.h>

namespace asyncfs::http {

/// False on libcurl before 8.1.0: its header store keeps a pointer to the last header of the
/// handle's previous transfer (freed when the next one starts), and a response whose first
/// field line is an obs-fold continuation then appends to freed memory (heap-use-after-free;
/// found by tests/fuzz/fuzz_h1_differential on 7.88.1; libcurl 8.1.0 clears that pointer
/// when a transfer starts). The connection cache lives in the multi handle, so connections
/// are reused all the same; only the easy handle and its receive buffer are not.
inline bool easy_handles_reusable() {
  static const bool ok = curl_version_info(CURLVERSION_NOW)->version_num >= 0x080100;
  return ok;
}

}  // namespace asyncfs::http
