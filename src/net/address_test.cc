#include "net/address.h"

#include "base/testing/testing.h"

namespace goldroot {
namespace {

TEST(AddressTest, MacIsCanonicalized) {
  ASSERT_OK_AND_ASSIGN(std::string mac, parse_mac("52-54-00-AB-cd-0F"));
  EXPECT_EQ(mac, "52:54:00:ab:cd:0f");
}

TEST(AddressTest, MalformedMacsAreRefusedWithOneSentence) {
  for (const char* bad : {"", "52:54:00:ab:cd", "52:54:00:ab:cd:0g", "52:54-00:ab:cd:0f",
                          "5254.00ab.cd0f", "52:54:00:ab:cd:0f:11"}) {
    auto mac = parse_mac(bad);
    ASSERT_FALSE(mac.ok()) << bad;
    EXPECT_NE(mac.error().message.find("is not a MAC address"), std::string::npos);
    EXPECT_EQ(mac.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(AddressTest, Ipv4IsStrict) {
  ASSERT_OK_AND_ASSIGN(Ipv4 ip, parse_ipv4("10.1.0.255"));
  EXPECT_EQ(ip.str(), "10.1.0.255");
  for (const char* bad :
       {"10.1.0", "10.1.0.256", "10.01.0.1", "10.1.0.1.", "a.b.c.d", "", "1.2.3.4/24"}) {
    auto parsed = parse_ipv4(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message.find("is not an IPv4 address"), std::string::npos);
  }
}

TEST(AddressTest, CidrContainsAndNamesItsLayer) {
  ASSERT_OK_AND_ASSIGN(Cidr cidr, parse_cidr("10.1.0.0/23"));
  EXPECT_EQ(cidr.str(), "10.1.0.0/23");
  EXPECT_EQ(cidr.layer_name(), "10.1.0.0_23");
  EXPECT_EQ(cidr.netmask().str(), "255.255.254.0");
  EXPECT_TRUE(cidr.contains(parse_ipv4("10.1.1.200").value()));
  EXPECT_FALSE(cidr.contains(parse_ipv4("10.1.2.1").value()));
  ASSERT_OK_AND_ASSIGN(Cidr everything, parse_cidr("0.0.0.0/0"));
  EXPECT_TRUE(everything.contains(parse_ipv4("192.168.1.1").value()));
}

TEST(AddressTest, CidrWithHostBitsGetsAHint) {
  auto cidr = parse_cidr("10.1.0.5/24");
  ASSERT_FALSE(cidr.ok());
  EXPECT_NE(cidr.error().message.find("did you mean 10.1.0.0/24?"), std::string::npos);
  for (const char* bad : {"10.1.0.0", "10.1.0.0/33", "10.1.0.0/", "10.1.0.0/08", "x/24"})
    EXPECT_FALSE(parse_cidr(bad).ok()) << bad;
}

}  // namespace
}  // namespace goldroot

namespace goldroot {
namespace {

TEST(HostOfAuthority, NamesTheHostOfAHostHeaderAUrlOrAPeer) {
  EXPECT_EQ(host_of_authority("lab-server:8080"), "lab-server");
  EXPECT_EQ(host_of_authority("lab-server"), "lab-server");
  EXPECT_EQ(host_of_authority("10.0.0.5:40312"), "10.0.0.5");
  EXPECT_EQ(host_of_authority("[::1]:40312"), "::1");
  EXPECT_EQ(host_of_authority("[fe80::1]"), "fe80::1");
  EXPECT_EQ(host_of_authority(""), "");
}

}  // namespace
}  // namespace goldroot
