// The self-signed X.509 certificates goldroot makes for its own keys (the
// server's TLS key, the site's Secure Boot key). Internal to src/crypto.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace goldroot::openssl {

struct FreeCertificate {
  void operator()(X509* certificate) const { X509_free(certificate); }
};
using Certificate = std::unique_ptr<X509, FreeCertificate>;

struct CertificateExtension {
  int nid;            // NID_key_usage, NID_subject_alt_name, ...
  std::string value;  // in openssl's configuration syntax: "critical,CA:FALSE"
};

// A v3 certificate of `key`, issued by itself and signed with SHA-256: a
// random positive 128-bit serial, valid from an hour ago (a client whose
// clock is a little behind still sees it valid) for `valid_days`, subject
// O=goldroot, CN=`common_name`, and `extensions` in order. Errors name
// `what` ("the TLS certificate").
Result<Certificate> make_self_signed_certificate(EVP_PKEY* key, const std::string& common_name,
                                                 long valid_days,
                                                 const std::vector<CertificateExtension>& extensions,
                                                 const std::string& what);

}  // namespace goldroot::openssl
