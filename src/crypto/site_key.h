// The site's signing key, kept in SITE/keys:
//   site.key  the ed25519 private key, PKCS#8 PEM, mode 0600
//   site.pub  its public key, PEM, mode 0644 (clients pin this one)
// `goldroot init` calls ensure_site_key; it never replaces an existing key,
// because every manifest ever signed and every client that pinned the
// public key depend on it.
// Written as crypto/key_file.h says (never readable by others, durable,
// two racing inits keep one key).
// Functions only; thread-safe as far as the filesystem is.
#pragma once

#include <string>

#include "base/result.h"
#include "crypto/ed25519.h"

namespace goldroot {

// Creates site.key and site.pub in `keys_dir` unless site.key exists; then
// checks that site.pub matches it (rewriting a missing site.pub).
Status ensure_site_key(const std::string& keys_dir);
Result<SigningKey> load_site_key(const std::string& keys_dir);
Result<VerifyKey> load_site_public_key(const std::string& keys_dir);

}  // namespace goldroot
