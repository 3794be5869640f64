// The site's Secure Boot key, kept in SITE/keys beside site.key:
//   secureboot.key  an RSA private key, PKCS#8 PEM, mode 0600: sbsign signs
//                   the site's unified kernel images with it
//   secureboot.crt  its X.509 certificate, PEM, 0644: what sbverify checks
//                   against and what goes into a firmware's db
//   secureboot.der  the same certificate, DER, 0644: for `mokutil --import`
//
// An admin enrols the certificate once per PC; from then on the PC runs
// only what this key signed. So the key is never replaced by accident:
// `goldroot init` makes one (RSA 2048, self-signed) unless the admin brings
// one, and an import over a different key needs ReplaceKey::kYes. Firmware
// verifies RSA signatures only, so other key types are refused.
// Files are written as crypto/key_file.h says. Functions only; thread-safe
// as far as the filesystem is.
#pragma once

#include <string>

#include "base/result.h"

namespace goldroot {

struct SecureBootFiles {
  std::string key, certificate, der;
};
SecureBootFiles secure_boot_files(const std::string& keys_dir);

// Makes secureboot.key and its certificate (subject CN `common_name`)
// unless secureboot.key exists, writes a missing secureboot.der, and checks
// that the certificate is for the key. Returns whether it made a new key.
Result<bool> ensure_secure_boot_key(const std::string& keys_dir, const std::string& common_name);

enum class ReplaceKey { kNo, kYes };

// Installs the admin's key (PEM, unencrypted) and certificate (PEM or DER)
// after checking that they are an RSA pair. Nothing is written when they
// are not, or when another key is installed and `replace` is kNo;
// importing the installed pair again is a no-op.
Status import_secure_boot_key(const std::string& keys_dir, const std::string& key_text,
                              const std::string& certificate_text, ReplaceKey replace);

// The checks of import_secure_boot_key alone: that `key_text` and
// `certificate_text` are an RSA pair goldroot can sign with.
Status check_secure_boot_pair(const std::string& key_text, const std::string& certificate_text);

// What `goldroot site secure-boot` shows of the certificate.
struct SecureBootCertificateInfo {
  std::string subject;      // "CN = goldroot site lab Secure Boot"
  std::string fingerprint;  // SHA-256 of the DER, "AB:CD:…"
  std::string not_after;    // "Dec  4 20:00:00 2126 GMT"
};
Result<SecureBootCertificateInfo> describe_secure_boot_certificate(const std::string& keys_dir);

}  // namespace goldroot
