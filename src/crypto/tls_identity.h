// The server's TLS identity, kept in SITE/keys beside site.key:
//   tls.key  an ECDSA P-256 private key, PKCS#8 PEM, mode 0600
//   tls.crt  a self-signed X.509 certificate for it, PEM, mode 0644, whose
//            SubjectAltName lists the server's names (host names, addresses)
//
// Clients trust no CA for it: they pin the key (tls_public_key_pin), and
// the goldroot initrd carries the pin to them. So the key is never
// replaced once it exists — every booted client and every initrd built
// holds its pin — while the certificate is only its wrapper: a missing
// tls.crt is made again from the key (e.g. with new names), and the pin
// stays the same. Files are written as crypto/key_file.h says.
// Functions only; thread-safe as far as the filesystem is.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace goldroot {

std::string tls_key_path(const std::string& keys_dir);
std::string tls_certificate_path(const std::string& keys_dir);

// Creates tls.key unless it exists and tls.crt unless it exists (for
// `names`: DNS names or IP addresses; those that are neither are left
// out), then checks that the certificate is for the key.
Status ensure_tls_identity(const std::string& keys_dir, const std::vector<std::string>& names);

// The key's pin in libcurl's CURLOPT_PINNEDPUBLICKEY form:
// "sha256//<base64 of the SHA-256 of the DER SubjectPublicKeyInfo>".
Result<std::string> tls_public_key_pin(const std::string& keys_dir);

}  // namespace goldroot
