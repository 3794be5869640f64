// HMAC-SHA256 (OpenSSL) and the per-host agent credentials built on it.
//
//   hmac_sha256(key, data)       the 32-byte MAC, as lowercase hex
//   agent_token(secret, host)    a host's token: HMAC(site secret, host name)
//   report_signature(token, body)  what an agent puts in X-Goldroot-Signature
//
// The site keeps one secret (SITE/keys/agent.secret); a host's token is
// derived from it, so the server needs no token table and replacing the
// secret rotates every token at once. Functions only; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace goldroot {

std::string hmac_sha256_hex(std::string_view key, std::string_view data);

std::string agent_token(std::string_view secret, std::string_view host);

// "hmac-sha256=<hex>", the header value.
std::string report_signature(std::string_view token, std::string_view body);

// Compares in time independent of where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// `bytes` random bytes as hex (OpenSSL's RAND_bytes).
Result<std::string> random_hex(size_t bytes);

// Reads the secret at `path`, or creates it (random, mode 0600, written
// atomically) when missing. The file holds hex and a newline.
Result<std::string> load_or_create_secret(const std::string& path, size_t bytes);

}  // namespace goldroot
