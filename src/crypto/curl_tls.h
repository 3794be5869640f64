// How goldroot's clients (goldroot-boot, the agent) set up a libcurl
// handle for a URL: for https://, the server's pinned key (tls_pin.h) is
// the trust — no CA is asked (the server's certificate is self-signed) —
// and a redirect may not leave TLS. An https URL without a pin is refused,
// never fetched unverified. Plain http:// is left as it is.
//
// Header-only, so the crypto library needs no libcurl: include it only in
// code that links libcurl. Thread-safe as libcurl's handles are.
#pragma once

#include <curl/curl.h>

#include <string>

#include "base/result.h"
#include "crypto/tls_pin.h"

namespace goldroot {

inline Status use_pinned_tls(CURL* handle, const std::string& url, const std::string& pin) {
  if (!is_https_url(url)) return {};
  if (pin.empty()) return make_error(ErrorCode::kInvalidArgument, refusal_without_pin(url));
  // libcurl still checks the pin with peer verification off (see
  // http_fetch_test's wrong-pin case): the pin replaces the CA, not the check.
  curl_easy_setopt(handle, CURLOPT_PINNEDPUBLICKEY, pin.c_str());
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(handle, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  return {};
}

}  // namespace goldroot
