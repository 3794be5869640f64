// SHA-256 names every object in the store: a wrong digest, or a hex name
// that does not round-trip, would make the store unreadable.
#include "base/hash.h"

#include <cctype>
#include <optional>
#include <string>

#include "base/testing/testing.h"

namespace goldroot {
namespace {

using testing::TempDir;

// FIPS 180-2 test vectors.
constexpr char kEmpty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kTwoBlocks[] = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
constexpr char kMillionA[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

TEST(Sha256, MatchesTheStandardVectors) {
  EXPECT_EQ(Sha256::of("").hex(), kEmpty);
  EXPECT_EQ(Sha256::of("abc").hex(), kAbc);
  EXPECT_EQ(Sha256::of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").hex(),
            kTwoBlocks);
}

TEST(Sha256, IncrementalUpdatesInUnevenPiecesMatchTheWhole) {
  // A million 'a' fed in pieces that straddle the 64-byte block boundary.
  Sha256 hasher;
  std::string piece(997, 'a');
  size_t fed = 0;
  while (fed + piece.size() <= 1000000) {
    hasher.update(piece);
    fed += piece.size();
  }
  hasher.update(std::string(1000000 - fed, 'a'));
  EXPECT_EQ(hasher.finish().hex(), kMillionA);
}

TEST(Sha256, FinishStartsAFreshHash) {
  Sha256 hasher;
  hasher.update("first file");
  (void)hasher.finish();
  hasher.update("abc");
  EXPECT_EQ(hasher.finish().hex(), kAbc);
  EXPECT_EQ(hasher.finish().hex(), kEmpty);
}

TEST(Digest, HexRoundTrips) {
  Digest digest = Sha256::of("abc");
  std::optional<Digest> parsed = Digest::from_hex(digest.hex());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, digest);
  EXPECT_FALSE(digest.is_zero());
  EXPECT_TRUE(Digest().is_zero());
  EXPECT_EQ(Digest().hex(), std::string(64, '0'));
}

TEST(Digest, FromHexAcceptsUppercaseAndPrintsLowercase) {
  std::string upper = kAbc;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::optional<Digest> parsed = Digest::from_hex(upper);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->hex(), kAbc);
}

TEST(Digest, FromHexRefusesAnythingButSixtyFourHexDigits) {
  std::string good = kAbc;
  EXPECT_FALSE(Digest::from_hex(good.substr(0, 63)).has_value());
  EXPECT_FALSE(Digest::from_hex(good + "0").has_value());
  EXPECT_FALSE(Digest::from_hex("").has_value());
  EXPECT_FALSE(Digest::from_hex("g" + good.substr(1)).has_value());
  EXPECT_FALSE(Digest::from_hex(" " + good.substr(1)).has_value());
  EXPECT_FALSE(Digest::from_hex(good.substr(0, 62) + "/x").has_value());
}

TEST(Hex, ValuesAndValidation) {
  EXPECT_TRUE(is_hex("0123456789abcdefABCDEF"));
  EXPECT_FALSE(is_hex("12g4"));
  EXPECT_FALSE(is_hex("0x12"));
  EXPECT_FALSE(is_hex("ab cd"));
  EXPECT_EQ(hex_value('0'), 0);
  EXPECT_EQ(hex_value('9'), 9);
  EXPECT_EQ(hex_value('a'), 10);
  EXPECT_EQ(hex_value('F'), 15);
  EXPECT_EQ(hex_value('g'), -1);
  EXPECT_EQ(hex_value('/'), -1);
  EXPECT_EQ(hex_value(':'), -1);
}

TEST(Hex, BytesRoundTripAndBadTextIsRefused) {
  std::string bytes("\x00\x7f\x80\xff salt", 9);
  EXPECT_EQ(hex_encode(bytes), "007f80ff2073616c74");
  EXPECT_EQ(hex_decode(hex_encode(bytes)), bytes);
  EXPECT_EQ(hex_decode("ABcd"), std::string("\xab\xcd"));
  EXPECT_EQ(hex_decode(""), std::string());
  EXPECT_FALSE(hex_decode("abc"));
  EXPECT_FALSE(hex_decode("zz"));
}

TEST(Sha256OfFile, HashesAFileLargerThanItsBuffer) {
  TempDir temp;
  std::string data;
  for (int i = 0; data.size() < (3u << 20) + 5; ++i) data += std::to_string(i) + '\0';
  testing::write_file(temp / "big", data);
  uint64_t size = 0;
  ASSERT_OK_AND_ASSIGN(Digest digest, sha256_of_file(temp / "big", &size));
  EXPECT_EQ(size, data.size());
  EXPECT_EQ(digest, Sha256::of(data));
}

TEST(Sha256OfFile, MissingFileIsNotFound) {
  TempDir temp;
  uint64_t size = 0;
  auto digest = sha256_of_file(temp / "missing", &size);
  ASSERT_FALSE(digest.ok());
  EXPECT_EQ(digest.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(digest.error().message, "reading " + temp / "missing" + ": No such file or directory");
}

}  // namespace
}  // namespace goldroot
