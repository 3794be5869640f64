// Ed25519 keys over OpenSSL's EVP interface: SigningKey (private) signs,
// VerifyKey (public) verifies. Signatures are the 64 raw bytes of RFC 8032.
// Keys are stored as PEM: PKCS#8 for the private key, SubjectPublicKeyInfo
// for the public one, so `openssl pkey` can inspect them.
//
// SigningKey owns an EVP_PKEY (freed, and cleansed by OpenSSL, on
// destruction); move-only. VerifyKey is a plain 32-byte value. Both are
// safe to use from several threads at once (each call makes its own
// EVP_MD_CTX).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace goldroot {

class VerifyKey {
 public:
  static Result<VerifyKey> from_pem(std::string_view pem);
  static Result<VerifyKey> from_raw(std::string_view raw);  // 32 bytes

  std::string to_pem() const;
  const std::array<uint8_t, 32>& raw() const { return raw_; }
  // Names the key in signed documents: the first 16 hex digits of the
  // SHA-256 of the raw public key.
  std::string key_id() const;
  // Ok when `signature` is this key's signature of `message`; a
  // Corruption error otherwise.
  Status verify(std::string_view message, std::string_view signature) const;

  bool operator==(const VerifyKey&) const = default;

 private:
  std::array<uint8_t, 32> raw_{};
};

class SigningKey {
 public:
  static Result<SigningKey> generate();
  static Result<SigningKey> from_pem(std::string_view pem);

  SigningKey(SigningKey&&) noexcept = default;
  SigningKey& operator=(SigningKey&&) noexcept = default;
  ~SigningKey();

  std::string to_pem() const;
  VerifyKey public_key() const;
  // The 64-byte signature of `message`.
  Result<std::string> sign(std::string_view message) const;

 private:
  struct Free {
    void operator()(EVP_PKEY* key) const;
  };
  explicit SigningKey(EVP_PKEY* key) : key_(key) {}

  std::unique_ptr<EVP_PKEY, Free> key_;
};

}  // namespace goldroot
