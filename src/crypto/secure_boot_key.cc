#include "crypto/secure_boot_key.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "base/hash.h"
#include "crypto/key_file.h"
#include "crypto/openssl_util.h"
#include "crypto/self_signed.h"

namespace goldroot {

namespace {

constexpr int kKeyBits = 2048;  // what every UEFI firmware verifies
// The certificate's dates are not checked by firmware; a long life spares
// admins re-enrolling every PC.
constexpr long kValidDays = 100 * 365;

using openssl::Bio;
using openssl::Certificate;
using openssl::bio_contents;
using openssl::Key;

// A PEM passphrase callback that never asks: an encrypted key is refused
// rather than a terminal prompted from a server.
int no_passphrase(char*, int, int, void*) { return -1; }

Result<Key> parse_key(const std::string& text, const std::string& what) {
  if (text.find("ENCRYPTED") != std::string::npos)
    return make_error(ErrorCode::kInvalidArgument,
                      what + " is encrypted; goldroot signs unattended, so give it decrypted "
                             "(openssl pkey -in KEY -out KEY.plain)");
  Bio bio = openssl::read_bio(text);
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) return openssl::last_error(what + " is not a PEM private key");
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA)
    return make_error(ErrorCode::kInvalidArgument,
                      what + " is not an RSA key; UEFI firmware verifies only RSA signatures");
  return key;
}

Result<Certificate> parse_certificate(const std::string& text, const std::string& what) {
  Bio bio = openssl::read_bio(text);
  Certificate certificate(text.find("-----BEGIN") != std::string::npos
                              ? PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)
                              : d2i_X509_bio(bio.get(), nullptr));
  if (!certificate) return openssl::last_error(what + " is not an X.509 certificate (PEM or DER)");
  return certificate;
}

Result<std::string> certificate_pem(X509* certificate) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), certificate))
    return openssl::last_error("writing the Secure Boot certificate");
  return bio_contents(bio.get());
}

Result<std::string> certificate_der(X509* certificate) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!i2d_X509_bio(bio.get(), certificate))
    return openssl::last_error("encoding the Secure Boot certificate");
  return bio_contents(bio.get());
}

Result<std::string> key_pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr))
    return openssl::last_error("writing the Secure Boot key");
  return bio_contents(bio.get());
}

bool is_pair(X509* certificate, EVP_PKEY* key) {
  bool matches = X509_check_private_key(certificate, key) == 1;
  ERR_clear_error();
  return matches;
}

Result<Certificate> make_certificate(EVP_PKEY* key, const std::string& common_name) {
  return openssl::make_self_signed_certificate(key, common_name, kValidDays,
                                               {{NID_basic_constraints, "critical,CA:FALSE"},
                                                {NID_key_usage, "critical,digitalSignature"},
                                                {NID_ext_key_usage, "codeSigning"},
                                                {NID_subject_key_identifier, "hash"}},
                                               "the Secure Boot certificate");
}

// Writes `path` whole, replacing what is there (temp, fsync, rename).
Status replace_file(const std::string& path, const std::string& contents, mode_t mode) {
  std::string temporary = path + ".new";
  ::unlink(temporary.c_str());
  TRY(write_new_file(temporary, contents, mode));
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(temporary.c_str());
    return errno_error("installing " + path, saved);
  }
  return {};
}

Status write_if_missing(const std::string& path, const std::string& contents, mode_t mode) {
  if (::access(path.c_str(), F_OK) == 0) return {};
  Status written = write_new_file(path, contents, mode);
  if (!written.ok() && written.error().code != ErrorCode::kAlreadyExists) return written;
  return {};
}

}  // namespace

SecureBootFiles secure_boot_files(const std::string& keys_dir) {
  return {keys_dir + "/secureboot.key", keys_dir + "/secureboot.crt", keys_dir + "/secureboot.der"};
}

Result<bool> ensure_secure_boot_key(const std::string& keys_dir, const std::string& common_name) {
  SecureBootFiles files = secure_boot_files(keys_dir);
  bool made = false;
  if (::access(files.key.c_str(), F_OK) != 0) {
    Key key(EVP_RSA_gen(kKeyBits));
    if (!key) return openssl::last_error("generating the Secure Boot key");
    Certificate certificate = TRY(make_certificate(key.get(), common_name));
    // The certificate first: a key without one would have to be thrown away.
    TRY(replace_file(files.certificate, TRY(certificate_pem(certificate.get())), 0644));
    Status written = write_new_file(files.key, TRY(key_pem(key.get())), 0600);
    if (!written.ok() && written.error().code != ErrorCode::kAlreadyExists) return std::move(written).error();
    made = written.ok();
  }
  Key key = TRY(parse_key(TRY(read_small_file(files.key)), files.key));
  Certificate certificate =
      TRY(parse_certificate(TRY(read_small_file(files.certificate)), files.certificate));
  if (!is_pair(certificate.get(), key.get()))
    return make_error(ErrorCode::kCorruption,
                      files.certificate + " is not the certificate of " + files.key +
                          "; import the pair again with 'goldroot site secure-boot --import KEY "
                          "CERT --force'");
  TRY(write_if_missing(files.der, TRY(certificate_der(certificate.get())), 0644));
  return made;
}

Status check_secure_boot_pair(const std::string& key_text, const std::string& certificate_text) {
  Key key = TRY(parse_key(key_text, "the key"));
  Certificate certificate = TRY(parse_certificate(certificate_text, "the certificate"));
  if (!is_pair(certificate.get(), key.get()))
    return make_error(ErrorCode::kInvalidArgument,
                      "the certificate is not for that key (their public keys differ); "
                      "nothing was imported");
  return {};
}

Status import_secure_boot_key(const std::string& keys_dir, const std::string& key_text,
                              const std::string& certificate_text, ReplaceKey replace) {
  SecureBootFiles files = secure_boot_files(keys_dir);
  TRY(check_secure_boot_pair(key_text, certificate_text));
  Key key = TRY(parse_key(key_text, "the key"));
  Certificate certificate = TRY(parse_certificate(certificate_text, "the certificate"));
  std::string new_key = TRY(key_pem(key.get()));
  std::string new_certificate = TRY(certificate_pem(certificate.get()));
  if (::access(files.key.c_str(), F_OK) == 0) {
    auto installed = read_small_file(files.key);
    auto installed_certificate = read_small_file(files.certificate);
    if (installed.ok() && *installed == new_key && installed_certificate.ok() &&
        *installed_certificate == new_certificate) {
      TRY(write_if_missing(files.der, TRY(certificate_der(certificate.get())), 0644));
      return {};
    }
    if (replace == ReplaceKey::kNo)
      return make_error(ErrorCode::kAlreadyExists,
                        files.key + " already holds another key; PCs that enrolled its "
                                    "certificate would refuse what the new one signs, so give "
                                    "--force to replace it");
  }
  TRY(replace_file(files.der, TRY(certificate_der(certificate.get())), 0644));
  TRY(replace_file(files.certificate, new_certificate, 0644));
  TRY(replace_file(files.key, new_key, 0600));
  return {};
}

Result<SecureBootCertificateInfo> describe_secure_boot_certificate(const std::string& keys_dir) {
  SecureBootFiles files = secure_boot_files(keys_dir);
  Certificate certificate =
      TRY(parse_certificate(TRY(read_small_file(files.certificate)), files.certificate));
  SecureBootCertificateInfo info;
  Bio subject(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(subject.get(), X509_get_subject_name(certificate.get()), 0,
                     XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
  info.subject = bio_contents(subject.get());
  Bio date(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(date.get(), X509_get0_notAfter(certificate.get()));
  info.not_after = bio_contents(date.get());
  Digest digest = Sha256::of(TRY(certificate_der(certificate.get())));
  static const char kHex[] = "0123456789ABCDEF";
  for (uint8_t byte : digest.bytes) {
    if (!info.fingerprint.empty()) info.fingerprint += ':';
    info.fingerprint += kHex[byte >> 4];
    info.fingerprint += kHex[byte & 15];
  }
  return info;
}

}  // namespace goldroot
