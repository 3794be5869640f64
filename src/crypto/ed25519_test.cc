#include "crypto/ed25519.h"

#include <gtest/gtest.h>

#include "base/testing/testing.h"
#include "crypto/base64.h"

namespace goldroot {
namespace {

TEST(Ed25519, SignsAndVerifies) {
  ASSERT_OK_AND_ASSIGN(SigningKey key, SigningKey::generate());
  ASSERT_OK_AND_ASSIGN(std::string signature, key.sign("boot me"));
  EXPECT_EQ(signature.size(), 64u);
  EXPECT_OK(key.public_key().verify("boot me", signature));
  EXPECT_FALSE(key.public_key().verify("boot me!", signature).ok());
  signature[10] ^= 1;
  auto tampered = key.public_key().verify("boot me", signature);
  ASSERT_FALSE(tampered.ok());
  EXPECT_EQ(tampered.error().code, ErrorCode::kCorruption);
  EXPECT_FALSE(key.public_key().verify("boot me", "short").ok());
}

TEST(Ed25519, AnotherKeyDoesNotVerify) {
  ASSERT_OK_AND_ASSIGN(SigningKey first, SigningKey::generate());
  ASSERT_OK_AND_ASSIGN(SigningKey second, SigningKey::generate());
  ASSERT_OK_AND_ASSIGN(std::string signature, first.sign("message"));
  EXPECT_FALSE(second.public_key().verify("message", signature).ok());
  EXPECT_NE(first.public_key().key_id(), second.public_key().key_id());
}

TEST(Ed25519, PemRoundTrips) {
  ASSERT_OK_AND_ASSIGN(SigningKey key, SigningKey::generate());
  std::string pem = key.to_pem();
  EXPECT_NE(pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(SigningKey reloaded, SigningKey::from_pem(pem));
  EXPECT_EQ(reloaded.public_key(), key.public_key());
  ASSERT_OK_AND_ASSIGN(VerifyKey published, VerifyKey::from_pem(key.public_key().to_pem()));
  EXPECT_EQ(published, key.public_key());
  EXPECT_FALSE(SigningKey::from_pem("not a key").ok());
  EXPECT_FALSE(VerifyKey::from_pem(pem).ok());
}

// RFC 8032 §7.1, test 2: a known key must give the known signature.
TEST(Ed25519, MatchesRfc8032TestVector) {
  std::string seed_pem =
      "-----BEGIN PRIVATE KEY-----\n"
      "MC4CAQAwBQYDK2VwBCIEIEzNCJso/5banbbDRuwRTg9bijGfNaumJNqM9u1PuKb7\n"
      "-----END PRIVATE KEY-----\n";
  ASSERT_OK_AND_ASSIGN(SigningKey key, SigningKey::from_pem(seed_pem));
  ASSERT_OK_AND_ASSIGN(std::string signature, key.sign(std::string(1, '\x72')));
  EXPECT_EQ(
      base64_encode(signature),
      "kqAJqfDUyrhyDoILX2QlQKKye1QWUD+Ps3YiI+vbadoIWsHkPhWZbkWPNhPQ8R2MOHsurrQwKu6wDSkWErsMAA==");
}

TEST(Base64, RoundTripsAndRejectsGarbage) {
  for (std::string bytes : {std::string(), std::string("f"), std::string("fo"), std::string("foo"),
                            std::string("\0\xff\x10", 3)}) {
    ASSERT_OK_AND_ASSIGN(std::string decoded, base64_decode(base64_encode(bytes)));
    EXPECT_EQ(decoded, bytes);
  }
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_FALSE(base64_decode("Zm8").ok());
  EXPECT_FALSE(base64_decode("Zm8*").ok());
}

}  // namespace
}  // namespace goldroot
