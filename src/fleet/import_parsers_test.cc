#include "fleet/import_parsers.h"

#include "base/testing/testing.h"

namespace goldroot {
namespace {

TEST(ImportParsersTest, CsvWithQuotesSeveralMacsAndVars) {
  const char* text =
      "# exported from the old spreadsheet\n"
      "name,mac,ip,lab,mode,var.room,notes\n"
      "PC1,52:54:00:00:00:01;52:54:00:00:00:02,10.1.0.10,lab1,reset,B12,\"desk 1, window\"\n"
      "pc2,52-54-00-00-00-03,,lab1,,,\n";
  ASSERT_OK_AND_ASSIGN(auto records, parse_import(text, ImportFormat::kAuto, "hosts.csv"));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].name, "pc1");
  EXPECT_EQ(records[0].macs, (std::vector<std::string>{"52:54:00:00:00:01", "52:54:00:00:00:02"}));
  EXPECT_EQ(records[0].ip, "10.1.0.10");
  EXPECT_EQ(records[0].mode, "reset");
  EXPECT_EQ(records[0].vars.at("room"), "B12");
  EXPECT_EQ(records[0].notes, "desk 1, window");
  EXPECT_EQ(records[1].macs, std::vector<std::string>{"52:54:00:00:00:03"});
  EXPECT_FALSE(records[1].ip);
  EXPECT_EQ(records[1].line, 4);
}

TEST(ImportParsersTest, CsvErrorsNameTheLine) {
  auto bad_mac = parse_import("name,mac\npc1,52:54:00:00:00:01\npc2,zz:54:00:00:00:01\n",
                              ImportFormat::kCsv, "h.csv");
  ASSERT_FALSE(bad_mac.ok());
  EXPECT_EQ(bad_mac.error().message.rfind("h.csv:3: 'zz:54:00:00:00:01' is not a MAC address", 0),
            0u)
      << bad_mac.error().message;
  auto columns = parse_import("name,mac,colour\n", ImportFormat::kCsv, "h.csv");
  ASSERT_FALSE(columns.ok());
  EXPECT_NE(columns.error().message.find("h.csv:1: unknown column 'colour'"), std::string::npos);
  auto fields = parse_import("name,mac\npc1\n", ImportFormat::kCsv, "h.csv");
  ASSERT_FALSE(fields.ok());
  EXPECT_NE(fields.error().message.find("h.csv:2: has 1 fields"), std::string::npos);
}

TEST(ImportParsersTest, DnsmasqHostLines) {
  const char* text =
      "domain=lab.test\n"
      "dhcp-range=10.1.0.50,10.1.0.150,12h\n"
      "dhcp-host=52:54:00:00:00:01,set:lab1,10.1.0.10,pc1,infinite\n"
      "dhcp-host=52:54:00:00:00:02,52:54:00:00:00:03,pc2,10.1.0.11\n"
      "dhcp-host=52:54:00:00:00:04,ignore\n";
  ASSERT_OK_AND_ASSIGN(auto records, parse_import(text, ImportFormat::kAuto, "dnsmasq.conf"));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].name, "pc1");
  EXPECT_EQ(records[0].ip, "10.1.0.10");
  EXPECT_EQ(records[1].macs.size(), 2u);
  EXPECT_EQ(records[1].ip, "10.1.0.11");
  auto bad = parse_import("dhcp-host=52:54:00:00:00:01,pc1,10.1.0.300\n", ImportFormat::kDnsmasq,
                          "d.conf");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("d.conf:1: '10.1.0.300' is not an IPv4 address", 0), 0u)
      << bad.error().message;
  auto nameless =
      parse_import("\ndhcp-host=52:54:00:00:00:01,10.1.0.3\n", ImportFormat::kDnsmasq, "d.conf");
  ASSERT_FALSE(nameless.ok());
  EXPECT_NE(
      nameless.error().message.find("d.conf:2: dhcp-host for 52:54:00:00:00:01 has no host name"),
      std::string::npos);
}

TEST(ImportParsersTest, DhcpdHostBlocksAtAnyDepthMergingNics) {
  const char* text = R"(# ISC dhcpd
option domain-name "lab.test";
subnet 10.1.0.0 netmask 255.255.255.0 {
  option routers 10.1.0.1;
  group {
    host pc1 { hardware ethernet 52:54:00:00:00:01; fixed-address 10.1.0.10; }
    host pc1-wifi {
      hardware ethernet 52:54:00:00:00:11;
      option host-name "pc1";
    }
  }
  host pc2 {
    # the old one
    hardware ethernet 52:54:00:00:00:02;
    fixed-address 10.1.0.11;
  }
}
)";
  ASSERT_OK_AND_ASSIGN(auto records, parse_import(text, ImportFormat::kAuto, "dhcpd.conf"));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].name, "pc1");
  EXPECT_EQ(records[0].macs, (std::vector<std::string>{"52:54:00:00:00:01", "52:54:00:00:00:11"}));
  EXPECT_EQ(records[0].ip, "10.1.0.10");
  EXPECT_EQ(records[1].name, "pc2");
  EXPECT_EQ(records[1].line, 12);
}

TEST(ImportParsersTest, DhcpdErrorsNameTheLine) {
  auto unclosed = parse_import("host pc1 {\n  hardware ethernet 52:54:00:00:00:01;\n",
                               ImportFormat::kDhcpd, "dhcpd.conf");
  ASSERT_FALSE(unclosed.ok());
  EXPECT_EQ(unclosed.error().message, "dhcpd.conf:1: host pc1 { is never closed with '}'");
  auto name = parse_import(
      "host pc1 {\n hardware ethernet 52:54:00:00:00:01;\n fixed-address pc1.lab.test;\n}\n",
      ImportFormat::kDhcpd, "dhcpd.conf");
  ASSERT_FALSE(name.ok());
  EXPECT_NE(name.error().message.find("dhcpd.conf:3: fixed-address pc1.lab.test is a name"),
            std::string::npos);
  auto duplicate = parse_import(
      "host a { hardware ethernet 52:54:00:00:00:01; }\n"
      "host b { hardware ethernet 52:54:00:00:00:01; }\n",
      ImportFormat::kDhcpd, "dhcpd.conf");
  ASSERT_FALSE(duplicate.ok());
  EXPECT_NE(duplicate.error().message.find("dhcpd.conf:2: MAC 52:54:00:00:00:01 of host b is also "
                                           "given to host a on line 1"),
            std::string::npos);
}

TEST(ImportParsersTest, UnknownFormatAsksForFormat) {
  auto format = detect_import_format("hello world\n", "x.txt");
  ASSERT_FALSE(format.ok());
  EXPECT_NE(format.error().message.find("pass --format"), std::string::npos);
}

}  // namespace
}  // namespace goldroot
