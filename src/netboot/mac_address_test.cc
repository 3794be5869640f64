#include "netboot/mac_address.h"

#include "base/testing/testing.h"

namespace goldroot::netboot {
namespace {

TEST(MacAddressTest, CanonicalFormIsKept) {
  ASSERT_OK_AND_ASSIGN(auto mac, normalize_mac("52:54:00:12:34:56"));
  EXPECT_EQ(mac, "52:54:00:12:34:56");
}

TEST(MacAddressTest, UppercaseAndHyphensAreNormalized) {
  ASSERT_OK_AND_ASSIGN(auto upper, normalize_mac("52:54:00:AB:CD:EF"));
  EXPECT_EQ(upper, "52:54:00:ab:cd:ef");
  ASSERT_OK_AND_ASSIGN(auto hyphen, normalize_mac("52-54-00-Ab-cD-eF"));
  EXPECT_EQ(hyphen, "52:54:00:ab:cd:ef");
}

TEST(MacAddressTest, MalformedIsOneClearSentence) {
  for (const char* bad : {"", "52:54:00:12:34", "52:54:00:12:34:56:78", "52:54-00:12:34:56",
                          "52:54:00:12:34:5g", "5254.0012.3456", "525400123456", "52:54:00:12:34:5",
                          " 52:54:00:12:34:56", "52::54:00:12:34:5"}) {
    auto mac = normalize_mac(bad);
    ASSERT_FALSE(mac.ok()) << bad;
    EXPECT_EQ(mac.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(mac.error().message, "'" + std::string(bad) +
                                       "' is not a MAC address; expected six hex pairs such as "
                                       "52:54:00:12:34:56");
  }
}

TEST(MacAddressTest, Hyphenated) {
  EXPECT_EQ(mac_hyphenated("52:54:00:ab:cd:ef"), "52-54-00-ab-cd-ef");
}

TEST(MacAddressTest, FromBootScriptName) {
  ASSERT_OK_AND_ASSIGN(auto colon, mac_from_boot_script_name("52:54:00:AB:cd:ef.ipxe"));
  EXPECT_EQ(colon, "52:54:00:ab:cd:ef");
  ASSERT_OK_AND_ASSIGN(auto hyphen, mac_from_boot_script_name("52-54-00-ab-cd-ef.ipxe"));
  EXPECT_EQ(hyphen, "52:54:00:ab:cd:ef");
  EXPECT_FALSE(mac_from_boot_script_name("52:54:00:ab:cd:ef").ok());
  EXPECT_FALSE(mac_from_boot_script_name("../../etc/passwd.ipxe").ok());
  EXPECT_FALSE(mac_from_boot_script_name(".ipxe").ok());
}

}  // namespace
}  // namespace goldroot::netboot
