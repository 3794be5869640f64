// HMAC-SHA256 (OpenSSL), constant-time comparison, random secrets: what
// the admin token and the server's challenges (bootserver/host_auth.h) are
// made of. Hosts prove who they are with keys of their own
// (crypto/host_signature.h), not with anything derived from a secret here.
// Functions only; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace goldroot {

std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// Compares in time independent of where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// `bytes` random bytes as hex (OpenSSL's RAND_bytes).
Result<std::string> random_hex(size_t bytes);

// Reads the secret at `path`, or creates it (random, mode 0600, written
// atomically) when missing. The file holds hex and a newline.
Result<std::string> load_or_create_secret(const std::string& path, size_t bytes);

}  // namespace goldroot
