#include "crypto/ed25519.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base/hash.h"
#include "crypto/openssl_util.h"

namespace goldroot {

namespace {

struct FreeContext {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
using DigestContext = std::unique_ptr<EVP_MD_CTX, FreeContext>;
using openssl::Bio;
using openssl::bio_contents;
using openssl::FreeKey;
using openssl::read_bio;

Error openssl_error(const std::string& what) { return openssl::last_error(what); }

}  // namespace

void SigningKey::Free::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

SigningKey::~SigningKey() = default;

Result<SigningKey> SigningKey::generate() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!key) return openssl_error("generating an ed25519 key");
  return SigningKey(key);
}

Result<SigningKey> SigningKey::from_pem(std::string_view pem) {
  Bio bio = read_bio(pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!key) return openssl_error("reading private key");
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(key);
    return make_error(ErrorCode::kInvalidArgument, "private key is not an ed25519 key");
  }
  return SigningKey(key);
}

std::string SigningKey::to_pem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return bio_contents(bio.get());
}

VerifyKey SigningKey::public_key() const {
  std::array<uint8_t, 32> raw{};
  size_t length = raw.size();
  EVP_PKEY_get_raw_public_key(key_.get(), raw.data(), &length);
  return VerifyKey::from_raw(std::string_view(reinterpret_cast<const char*>(raw.data()), length))
      .value();
}

Result<std::string> SigningKey::sign(std::string_view message) const {
  DigestContext context(EVP_MD_CTX_new());
  std::string signature(64, '\0');
  size_t length = signature.size();
  // Ed25519 hashes internally: no digest, one-shot EVP_DigestSign.
  if (!context || EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
    return openssl_error("signing");
  signature.resize(length);
  return signature;
}

Result<VerifyKey> VerifyKey::from_raw(std::string_view raw) {
  if (raw.size() != 32)
    return make_error(ErrorCode::kInvalidArgument, "an ed25519 public key is 32 bytes");
  VerifyKey key;
  std::copy(raw.begin(), raw.end(), key.raw_.begin());
  return key;
}

Result<VerifyKey> VerifyKey::from_pem(std::string_view pem) {
  Bio bio = read_bio(pem);
  std::unique_ptr<EVP_PKEY, FreeKey> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return openssl_error("reading public key");
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519)
    return make_error(ErrorCode::kInvalidArgument, "public key is not an ed25519 key");
  VerifyKey out;
  size_t length = out.raw_.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), out.raw_.data(), &length) != 1 || length != 32)
    return openssl_error("reading public key");
  return out;
}

std::string VerifyKey::to_pem() const {
  std::unique_ptr<EVP_PKEY, FreeKey> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw_.data(), raw_.size()));
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key.get());
  return bio_contents(bio.get());
}

std::string VerifyKey::key_id() const {
  return Sha256::of(std::string_view(reinterpret_cast<const char*>(raw_.data()), raw_.size()))
      .hex()
      .substr(0, 16);
}

Status VerifyKey::verify(std::string_view message, std::string_view signature) const {
  std::unique_ptr<EVP_PKEY, FreeKey> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw_.data(), raw_.size()));
  DigestContext context(EVP_MD_CTX_new());
  if (!key || !context) return openssl_error("loading public key");
  bool valid =
      signature.size() == 64 &&
      EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
      EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) == 1;
  ERR_clear_error();
  if (!valid) return make_error(ErrorCode::kCorruption, "bad signature (key " + key_id() + ")");
  return {};
}

}  // namespace goldroot
