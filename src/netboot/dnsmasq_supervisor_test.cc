#include "netboot/dnsmasq_supervisor.h"

#include "base/testing/testing.h"

namespace goldroot::netboot {
namespace {

DnsmasqSettings settings(const testing::TempDir& dir) {
  DnsmasqSettings s;
  s.interfaces = {"eth1"};
  s.boot_server_url = "http://10.0.0.1:8080";
  s.tftp_root = dir / "tftp";
  s.hosts_file = dir / "hosts";
  s.pid_file = dir / "pid";
  s.lease_file = dir / "leases";
  DhcpNetwork network;
  network.cidr = "10.0.0.0/24";
  s.networks = {network};
  return s;
}

TEST(DnsmasqSupervisorTest, MissingDnsmasqSaysToInstallIt) {
  testing::TempDir dir;
  DnsmasqSupervisorOptions options;
  options.dnsmasq_path = dir / "no-such-dnsmasq";
  options.config_path = dir / "dnsmasq.conf";
  options.output_path = dir / "dnsmasq.out";
  auto started = DnsmasqSupervisor::start(settings(dir), options);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(started.error().message, "dnsmasq is not installed at " + (dir / "no-such-dnsmasq") +
                                         "; install it (apt-get install dnsmasq)");
}

TEST(DnsmasqSupervisorTest, BadSettingsAreRefusedBeforeAnythingRuns) {
  testing::TempDir dir;
  DnsmasqSettings s = settings(dir);
  s.networks[0].cidr = "10.0.0.0/99";
  DnsmasqSupervisorOptions options;
  options.config_path = dir / "dnsmasq.conf";
  options.output_path = dir / "dnsmasq.out";
  if (::access(options.dnsmasq_path.c_str(), X_OK) != 0) GTEST_SKIP() << "needs dnsmasq";
  auto started = DnsmasqSupervisor::start(s, options);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(::access(options.config_path.c_str(), F_OK), 0);  // nothing written
}

TEST(DnsmasqSupervisorTest, CheckNamesDnsmasqsComplaint) {
  if (::access(kDnsmasqPath, X_OK) != 0) GTEST_SKIP() << "needs dnsmasq";
  testing::TempDir dir;
  testing::write_file(dir / "bad.conf", "port=0\ndhcp-range=10.0.0.0,nonsense\n");
  Status checked = check_dnsmasq_config(kDnsmasqPath, dir / "bad.conf");
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(checked.error().message.find("dnsmasq rejects " + (dir / "bad.conf") + ": "), 0u)
      << checked.error().message;
  EXPECT_NE(checked.error().message.find("line 2"), std::string::npos) << checked.error().message;
  testing::write_file(dir / "good.conf", "port=0\n");
  EXPECT_OK(check_dnsmasq_config(kDnsmasqPath, dir / "good.conf"));
}

TEST(DnsmasqSupervisorTest, UseDirectoryPutsEveryFileThere) {
  DnsmasqSettings s;
  DnsmasqSupervisorOptions options;
  use_directory("/site/dnsmasq", &s, &options);
  EXPECT_EQ(s.tftp_root, "/site/dnsmasq/tftp");
  EXPECT_EQ(s.hosts_file, "/site/dnsmasq/hosts");
  EXPECT_EQ(s.pid_file, "/site/dnsmasq/dnsmasq.pid");
  EXPECT_EQ(s.lease_file, "/site/dnsmasq/leases");
  EXPECT_EQ(s.log_file, "/site/dnsmasq/dnsmasq.log");
  EXPECT_EQ(options.config_path, "/site/dnsmasq/dnsmasq.conf");
  EXPECT_EQ(options.output_path, "/site/dnsmasq/dnsmasq.out");
}

}  // namespace
}  // namespace goldroot::netboot
