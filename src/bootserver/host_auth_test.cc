#include "bootserver/host_auth.h"

#include <gtest/gtest.h>

#include "base/testing/testing.h"
#include "crypto/host_signature.h"

namespace goldroot {
namespace {

// PosixEnv with a clock the test sets.
class ClockEnv : public PosixEnv {
 public:
  int64_t now_seconds() override { return now; }
  int64_t now = 1'800'000'000;
};

server::HttpRequest signed_request(const SigningKey& key, const std::string& path,
                                   const std::string& challenge, bool introduce) {
  server::HttpRequest request;
  request.method = "GET";
  request.path = path;
  request.headers = {{kChallengeHeader, challenge},
                     {kHostSignatureHeader,
                      sign_statement(key, request_statement("GET", path, challenge)).value()}};
  if (introduce) {
    request.headers.emplace_back(kHostKeyHeader, encode_public_key(key.public_key()));
    request.headers.emplace_back(kKeyPersistentHeader, "no");
  }
  return request;
}

TEST(ChallengesTest, AChallengeCountsOncePerPathWithinItsLifetime) {
  ClockEnv env;
  ASSERT_OK_AND_ASSIGN(Challenges challenges, Challenges::create(&env));
  std::string challenge = challenges.mint();
  EXPECT_OK(challenges.redeem(challenge, "/api/v1/boot/52:54:00:aa:00:01"));
  // The same request again: a replay.
  Status again = challenges.redeem(challenge, "/api/v1/boot/52:54:00:aa:00:01");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(again.error().message.find("replayed"), std::string::npos);
  // The layer request of the same boot may use it once too.
  EXPECT_OK(challenges.redeem(challenge, "/layers/pc01.tar"));

  std::string late = challenges.mint();
  env.now += Challenges::kLifetimeSeconds + 1;
  Status expired = challenges.redeem(late, "/layers/pc01.tar");
  ASSERT_FALSE(expired.ok());
  EXPECT_NE(expired.error().message.find("expired"), std::string::npos);
}

TEST(ChallengesTest, OnlyChallengesThisServerMintedCount) {
  ClockEnv env;
  ASSERT_OK_AND_ASSIGN(Challenges challenges, Challenges::create(&env));
  ASSERT_OK_AND_ASSIGN(Challenges other, Challenges::create(&env));  // another process
  std::string challenge = challenges.mint();
  EXPECT_FALSE(other.redeem(challenge, "/x").ok());
  // A later time written into it breaks its stamp.
  std::string forged = std::to_string(env.now + 3600) + challenge.substr(challenge.find('.'));
  EXPECT_FALSE(challenges.redeem(forged, "/x").ok());
  for (const char* junk : {"", ".", "..", "1.2", "x.y.z", "1800000000..", "-5.a.b"})
    EXPECT_FALSE(challenges.redeem(junk, "/x").ok()) << junk;
}

TEST(SignedRequestTest, ChecksTheSignatureBeforeSpendingTheChallenge) {
  ClockEnv env;
  ASSERT_OK_AND_ASSIGN(Challenges challenges, Challenges::create(&env));
  ASSERT_OK_AND_ASSIGN(SigningKey host, SigningKey::generate());
  ASSERT_OK_AND_ASSIGN(SigningKey thief, SigningKey::generate());
  std::string challenge = challenges.mint();

  // Not signed at all: the caller answers 401.
  server::HttpRequest bare;
  bare.method = "GET";
  bare.path = "/layers/pc01.tar";
  auto unsigned_request = check_signed_request(bare, challenges, host.public_key());
  ASSERT_FALSE(unsigned_request.ok());
  EXPECT_EQ(unsigned_request.error().code, ErrorCode::kInvalidArgument);

  // Signed by another key than the enrolled one: 403, challenge not spent.
  auto stolen = check_signed_request(signed_request(thief, "/layers/pc01.tar", challenge, false),
                                     challenges, host.public_key());
  ASSERT_FALSE(stolen.ok());
  EXPECT_EQ(stolen.error().code, ErrorCode::kPermissionDenied);
  // Signed for another path.
  server::HttpRequest moved = signed_request(host, "/layers/pc02.tar", challenge, false);
  moved.path = "/layers/pc01.tar";
  EXPECT_FALSE(check_signed_request(moved, challenges, host.public_key()).ok());

  ASSERT_OK_AND_ASSIGN(SignedRequest good,
                       check_signed_request(signed_request(host, "/layers/pc01.tar", challenge, false),
                                            challenges, host.public_key()));
  EXPECT_EQ(good.key, host.public_key());
  // Introduced keys: the request's own key, and whether the host keeps it.
  std::string second = challenges.mint();
  ASSERT_OK_AND_ASSIGN(SignedRequest introduced,
                       check_signed_request(signed_request(thief, "/api/v1/boot/m", second, true),
                                            challenges, std::nullopt));
  EXPECT_EQ(introduced.key, thief.public_key());
  EXPECT_FALSE(introduced.persistent);
}

}  // namespace
}  // namespace goldroot
