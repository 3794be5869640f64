#include "crypto/host_signature.h"

#include <gtest/gtest.h>

#include "base/testing/testing.h"

namespace goldroot {
namespace {

TEST(HostSignatureTest, AStatementVerifiesOnlyUnderItsKeyAndKind) {
  ASSERT_OK_AND_ASSIGN(SigningKey key, SigningKey::generate());
  ASSERT_OK_AND_ASSIGN(SigningKey other, SigningKey::generate());
  std::string statement = request_statement("GET", "/layers/pc01.tar", "1.2.3");
  ASSERT_OK_AND_ASSIGN(std::string header, sign_statement(key, statement));
  EXPECT_EQ(header.rfind("ed25519=", 0), 0u);
  EXPECT_OK(verify_statement(key.public_key(), header, statement));
  EXPECT_FALSE(verify_statement(other.public_key(), header, statement).ok());
  // Another path, another challenge, or a report with the same bytes.
  EXPECT_FALSE(verify_statement(key.public_key(), header,
                                request_statement("GET", "/layers/pc02.tar", "1.2.3")).ok());
  EXPECT_FALSE(verify_statement(key.public_key(), header,
                                request_statement("GET", "/layers/pc01.tar", "1.2.4")).ok());
  EXPECT_FALSE(verify_statement(key.public_key(), header, report_statement(statement)).ok());
  EXPECT_FALSE(verify_statement(key.public_key(), "hmac-sha256=00", statement).ok());
  EXPECT_FALSE(verify_statement(key.public_key(), "ed25519=!!", statement).ok());
}

TEST(HostSignatureTest, PublicKeysTravelAsBase64) {
  ASSERT_OK_AND_ASSIGN(SigningKey key, SigningKey::generate());
  std::string text = encode_public_key(key.public_key());
  ASSERT_OK_AND_ASSIGN(VerifyKey back, decode_public_key(text));
  EXPECT_EQ(back, key.public_key());
  EXPECT_FALSE(decode_public_key("c2hvcnQ=").ok());  // 5 bytes
  EXPECT_FALSE(decode_public_key("not base64").ok());
}

}  // namespace
}  // namespace goldroot
