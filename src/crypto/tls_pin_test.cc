#include "crypto/tls_pin.h"

#include <gtest/gtest.h>

#include "base/testing/testing.h"

namespace goldroot {
namespace {

const std::string kPin = "sha256//9T0u8xC1t3Sgw2vXQwnlT1QjrRGfGAFtFJhs1oYWStI=";

TEST(TlsPin, OnlyLibcurlsSha256FormIsAPin) {
  EXPECT_TRUE(is_tls_pin(kPin));
  EXPECT_FALSE(is_tls_pin("sha256//short"));
  EXPECT_FALSE(is_tls_pin("md5//" + kPin.substr(8)));
  EXPECT_FALSE(is_tls_pin(kPin + "x"));
  EXPECT_FALSE(is_tls_pin(kPin.substr(0, kPin.size() - 1) + "!"));
}

TEST(TlsPin, AMissingFileIsNoPinAndAWrongOneIsAnError) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(std::string none, read_tls_pin_file(dir / "tls.pin"));
  EXPECT_EQ(none, "");
  testing::write_file(dir / "tls.pin", kPin + "\n");
  ASSERT_OK_AND_ASSIGN(std::string pin, read_tls_pin_file(dir / "tls.pin"));
  EXPECT_EQ(pin, kPin);
  testing::write_file(dir / "tls.pin", "-----BEGIN PUBLIC KEY-----\n");
  auto wrong = read_tls_pin_file(dir / "tls.pin");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().message, dir / "tls.pin" + " does not hold a TLS key pin (sha256//<base64>)");
}

TEST(TlsPin, HttpsUrlsAndTheRefusal) {
  EXPECT_TRUE(is_https_url("https://10.0.0.1:8443/api"));
  EXPECT_TRUE(is_https_url("HTTPS://server/"));
  EXPECT_FALSE(is_https_url("http://10.0.0.1:8080/"));
  EXPECT_EQ(refusal_without_pin("https://s:1/x"), "refusing https://s:1/x without the server's pinned key");
}

}  // namespace
}  // namespace goldroot
