// The pin of the server's TLS key as clients hold it (goldroot-boot, the
// agent): libcurl's CURLOPT_PINNEDPUBLICKEY form,
// "sha256//<base64 of the SHA-256 of the DER SubjectPublicKeyInfo>", one
// line in a file (the goldroot initrd's usr/lib/goldroot/tls.pin, and
// /run/goldroot/tls.pin once booted). The server makes it with
// tls_public_key_pin (tls_identity.h).
//
// With a pin a client needs no CA: the pin is the trust. An https:// URL
// without one is refused, never fetched unverified. Pure functions and
// file reads; thread-safe.
#pragma once

#include <string>

#include "base/result.h"

namespace goldroot {

// Whether `text` is a pin in that form.
bool is_tls_pin(const std::string& text);

// The pin in `path`; "" when there is no such file (a server without TLS).
// A file that holds something else is an error naming it.
Result<std::string> read_tls_pin_file(const std::string& path);

// Whether `url` is https:// (any case of the scheme).
bool is_https_url(const std::string& url);

// The one sentence for an https URL that comes without a pin.
std::string refusal_without_pin(const std::string& url);

}  // namespace goldroot
