#include "crypto/self_signed.h"

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "crypto/openssl_util.h"

namespace goldroot::openssl {

namespace {

struct FreeExtension {
  void operator()(X509_EXTENSION* extension) const { X509_EXTENSION_free(extension); }
};
struct FreeBignum {
  void operator()(BIGNUM* number) const { BN_free(number); }
};

Status add_extension(X509* certificate, const CertificateExtension& wanted,
                     const std::string& what) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, FreeExtension> extension(
      X509V3_EXT_conf_nid(nullptr, &context, wanted.nid, wanted.value.c_str()));
  if (!extension || !X509_add_ext(certificate, extension.get(), -1))
    return last_error(what + "'s " + std::string(OBJ_nid2sn(wanted.nid)) + " '" + wanted.value +
                      "'");
  return {};
}

}  // namespace

Result<Certificate> make_self_signed_certificate(EVP_PKEY* key, const std::string& common_name,
                                                 long valid_days,
                                                 const std::vector<CertificateExtension>& extensions,
                                                 const std::string& what) {
  Certificate certificate(X509_new());
  if (!certificate) return last_error("making " + what);
  X509* raw = certificate.get();
  X509_set_version(raw, 2);  // v3: extensions
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1)
    return last_error("a serial number for " + what);
  serial_bytes[0] &= 0x7f;  // positive
  std::unique_ptr<BIGNUM, FreeBignum> serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  if (!serial || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(raw)))
    return last_error("a serial number for " + what);
  X509_gmtime_adj(X509_getm_notBefore(raw), -3600);
  X509_time_adj_ex(X509_getm_notAfter(raw), valid_days, 0, nullptr);
  X509_NAME* subject = X509_get_subject_name(raw);
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("goldroot"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(raw, subject);
  if (!X509_set_pubkey(raw, key)) return last_error(what + "'s key");
  for (const CertificateExtension& extension : extensions)
    TRY(add_extension(raw, extension, what));
  if (!X509_sign(raw, key, EVP_sha256())) return last_error("signing " + what);
  return certificate;
}

}  // namespace goldroot::openssl
