#include "crypto/tls_identity.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <memory>
#include <set>

#include "base/hash.h"
#include "crypto/base64.h"
#include "crypto/key_file.h"
#include "crypto/openssl_util.h"
#include "crypto/self_signed.h"

namespace goldroot {

namespace {

constexpr const char* kKeyName = "tls.key";
constexpr const char* kCertificateName = "tls.crt";
constexpr std::string_view kPinPrefix = "sha256//";
// The certificate's dates mean nothing to goldroot's clients (they check
// the pin, not the dates); a long life spares admins a renewal chore.
constexpr long kValidDays = 100 * 365;

using openssl::Bio;
using openssl::Certificate;
using openssl::bio_contents;
using openssl::Key;

Error openssl_error(const std::string& what) { return openssl::last_error(what); }

Result<Key> load_key(const std::string& keys_dir) {
  std::string path = tls_key_path(keys_dir);
  std::string pem = TRY(read_small_file(path));
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return openssl_error(path + " is not a PEM private key");
  return key;
}

Result<std::string> generate_key_pem() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) return openssl_error("generating the TLS key");
  Bio bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
    return openssl_error("writing the TLS key");
  return bio_contents(bio.get());
}

bool is_ip_address(const std::string& name) {
  unsigned char address[16];
  return ::inet_pton(AF_INET, name.c_str(), address) == 1 ||
         ::inet_pton(AF_INET6, name.c_str(), address) == 1;
}

bool is_dns_name(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_')
      return false;
  return true;
}

// "DNS:pc-server,IP:10.0.0.1,…" for the names that are either.
std::string subject_alternative_names(const std::vector<std::string>& names) {
  std::set<std::string> seen;
  std::string list;
  for (const std::string& name : names) {
    std::string entry = is_ip_address(name) ? "IP:" + name
                        : is_dns_name(name) ? "DNS:" + name
                                            : std::string();
    if (entry.empty() || !seen.insert(entry).second) continue;
    list += (list.empty() ? "" : ",") + entry;
  }
  return list;
}

Result<std::string> make_certificate_pem(EVP_PKEY* key, const std::vector<std::string>& names) {
  std::string common_name = "goldroot server";
  for (const std::string& name : names)
    if (is_dns_name(name) && !is_ip_address(name) && name != "localhost") {
      common_name = name;
      break;
    }
  std::vector<openssl::CertificateExtension> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_key_identifier, "hash"}};
  std::string alternative = subject_alternative_names(names);
  if (!alternative.empty()) extensions.push_back({NID_subject_alt_name, alternative});
  Certificate certificate = TRY(openssl::make_self_signed_certificate(
      key, common_name, kValidDays, extensions, "the TLS certificate"));
  X509* raw = certificate.get();
  Bio bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), raw)) return openssl_error("writing the TLS certificate");
  return bio_contents(bio.get());
}

}  // namespace

std::string tls_key_path(const std::string& keys_dir) { return keys_dir + "/" + kKeyName; }
std::string tls_certificate_path(const std::string& keys_dir) {
  return keys_dir + "/" + kCertificateName;
}

Status ensure_tls_identity(const std::string& keys_dir, const std::vector<std::string>& names) {
  std::string key_path = tls_key_path(keys_dir);
  std::string certificate_path = tls_certificate_path(keys_dir);
  if (::access(key_path.c_str(), F_OK) != 0) {
    std::string pem = TRY(generate_key_pem());
    Status written = write_new_file(key_path, pem, 0600);
    if (!written.ok() && written.error().code != ErrorCode::kAlreadyExists) return written;
  }
  Key key = TRY(load_key(keys_dir));
  if (::access(certificate_path.c_str(), F_OK) != 0) {
    std::string pem = TRY(make_certificate_pem(key.get(), names));
    Status written = write_new_file(certificate_path, pem, 0644);
    if (!written.ok() && written.error().code != ErrorCode::kAlreadyExists) return written;
  }
  std::string pem = TRY(read_small_file(certificate_path));
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Certificate certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!certificate) return openssl_error(certificate_path + " is not a PEM certificate");
  if (X509_check_private_key(certificate.get(), key.get()) != 1) {
    ERR_clear_error();
    return make_error(ErrorCode::kCorruption,
                      certificate_path + " is not for " + key_path +
                          "; remove tls.crt and it is made again from the key");
  }
  return {};
}

Result<std::string> tls_public_key_pin(const std::string& keys_dir) {
  Key key = TRY(load_key(keys_dir));
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(key.get(), &der);
  if (length <= 0) return openssl_error("encoding the TLS public key");
  Digest digest = Sha256::of(std::string_view(reinterpret_cast<const char*>(der),
                                              static_cast<size_t>(length)));
  OPENSSL_free(der);
  return std::string(kPinPrefix) +
         base64_encode(std::string_view(reinterpret_cast<const char*>(digest.bytes.data()),
                                        digest.bytes.size()));
}

}  // namespace goldroot
