// What a host signs with its own key (fleet/host_keys.h), and the headers
// that carry it (issue #14). Shared by the host (goldroot-boot, the agent)
// and the server, so both build the very same bytes.
//
// Requests a host makes for itself (its boot manifest, its layer bundle):
// it takes a fresh challenge from GET /api/v1/challenge, then sends
//   X-Goldroot-Host-Key: <base64 of the raw 32-byte public key>
//   X-Goldroot-Challenge: <the challenge>
//   X-Goldroot-Host-Signature: ed25519=<base64 of the signature of
//                               request_statement(method, path, challenge)>
//   X-Goldroot-Key-Persistent: yes|no   (whether the host keeps the key on
//                                        disk; the manifest request only)
// The server accepts a challenge once per path and for a minute, so a
// recorded request cannot be sent again.
//
// Reports and uploads carry X-Goldroot-Signature: ed25519=<base64> over
// report_statement(body), resp. report_statement(upload_statement(id))
// (report/report.h); an upload's content is vouched for by the signed
// result report that names its sha256.
//
// Every statement starts with its own prefix, so a signature of one kind is
// never valid as another. Functions only; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "crypto/ed25519.h"

namespace goldroot {

inline constexpr const char* kHostKeyHeader = "x-goldroot-host-key";
inline constexpr const char* kChallengeHeader = "x-goldroot-challenge";
inline constexpr const char* kHostSignatureHeader = "x-goldroot-host-signature";
inline constexpr const char* kKeyPersistentHeader = "x-goldroot-key-persistent";

std::string request_statement(std::string_view method, std::string_view path,
                              std::string_view challenge);
std::string report_statement(std::string_view body);

// The header value "ed25519=<base64>" of `statement` signed with `key`.
Result<std::string> sign_statement(const SigningKey& key, std::string_view statement);
// Ok when `header_value` (as sign_statement makes it) is `key`'s signature
// of `statement`; a Corruption error saying what is wrong otherwise.
Status verify_statement(const VerifyKey& key, std::string_view header_value,
                        std::string_view statement);

// A public key as it travels in X-Goldroot-Host-Key.
std::string encode_public_key(const VerifyKey& key);
Result<VerifyKey> decode_public_key(std::string_view text);

}  // namespace goldroot
