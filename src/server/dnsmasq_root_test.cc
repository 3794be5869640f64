// A real dnsmasq, generated and supervised by goldroot, answering a real
// DHCP client (busybox udhcpc) across network namespaces: full mode hands a
// registered MAC its fixed IP and the boot file for its firmware; proxy
// mode, beside a plain DHCP server, adds the PXE answer without an address.
//
// Needs root, iproute2, dnsmasq, udhcpc and python3 (to watch proxy offers).
// Each test builds its own namespaces and removes them afterwards.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

#include "base/strings.h"
#include "base/testing/testing.h"
#include "server/dnsmasq_supervisor.h"
#include "server/tftp_root.h"
#include "sys/unique_fd.h"

namespace goldroot::server {
namespace {

using testing::run;
using testing::run_output;

const char* kClientMac = "52:54:00:77:00:11";
const char* kBootUrl = "http://10.77.0.1:8080/boot/${netX/mac}.ipxe";

std::string missing_requirement() {
  if (::geteuid() != 0) return "needs root (network namespaces)";
  for (const char* tool : {"/usr/sbin/dnsmasq", "/usr/sbin/udhcpc", "/usr/bin/python3"})
    if (::access(tool, X_OK) != 0) return std::string("needs ") + tool;
  if (run("command -v ip >/dev/null") != 0) return "needs iproute2";
  if (::access("/usr/lib/ipxe/undionly.kpxe", R_OK) != 0) return "needs the ipxe package";
  return "";
}

#define REQUIRE_ROOT_TOOLS()                                      \
  do {                                                            \
    std::string missing = missing_requirement();                  \
    if (!missing.empty()) {                                       \
      if (std::getenv("GOLDROOT_REQUIRE_ALL")) FAIL() << missing; \
      GTEST_SKIP() << missing;                                    \
    }                                                             \
  } while (0)

// Namespaces "gr<tag><pid>": the test thread itself moves into the server
// namespace, so the supervisor's thread and dnsmasq start there.
class DnsmasqRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT_TOOLS();
    suffix_ = std::to_string(::getpid() % 100000);
    server_ns_ = "grs" + suffix_;
    client_ns_ = "grc" + suffix_;
    server_if_ = "grs" + suffix_;
    client_if_ = "grc" + suffix_;
    ASSERT_EQ(run("ip netns add " + server_ns_ + " && ip netns add " + client_ns_), 0);
    created_ = true;
    ASSERT_EQ(run("ip link add " + server_if_ + " netns " + server_ns_ + " type veth peer name " +
                  client_if_ + " netns " + client_ns_),
              0);
    ASSERT_EQ(run(in_server("ip addr add 10.77.0.1/24 dev " + server_if_)), 0);
    ASSERT_EQ(run(in_server("ip link set " + server_if_ + " up")), 0);
    ASSERT_EQ(run(in_server("ip link set lo up")), 0);
    ASSERT_EQ(run(in_client("ip link set " + client_if_ + " address " + kClientMac)), 0);
    ASSERT_EQ(run(in_client("ip link set " + client_if_ + " up")), 0);
    enter_namespace(server_ns_);

    ::chmod(dir_.path().c_str(), 0755);  // dnsmasq drops to nobody
    ASSERT_OK(prepare_tftp_root(dir_ / "tftp"));
    testing::write_file(dir_ / "udhcpc.sh",
                        "#!/bin/sh\n[ \"$1\" = bound ] && env > \"$GOLDROOT_LEASE_OUT\"\nexit 0\n");
    ::chmod((dir_ / "udhcpc.sh").c_str(), 0755);
  }

  void TearDown() override {
    supervisor_.reset();
    if (original_ns_.valid()) ::setns(original_ns_.get(), CLONE_NEWNET);
    if (created_) {
      for (const auto& ns : extra_namespaces_) run("ip netns del " + ns + " 2>/dev/null");
      run("ip netns del " + server_ns_ + " 2>/dev/null; ip netns del " + client_ns_ +
          " 2>/dev/null");
    }
  }

  void enter_namespace(const std::string& ns) {
    if (!original_ns_.valid()) original_ns_ = UniqueFd(::open("/proc/self/ns/net", O_RDONLY));
    UniqueFd target(::open(("/var/run/netns/" + ns).c_str(), O_RDONLY));
    ASSERT_TRUE(target.valid());
    ASSERT_EQ(::setns(target.get(), CLONE_NEWNET), 0);
  }

  std::string in_server(const std::string& command) {
    return "ip netns exec " + server_ns_ + " " + command;
  }
  std::string in_client(const std::string& command) {
    return "ip netns exec " + client_ns_ + " " + command;
  }

  DnsmasqSettings settings(DhcpMode mode) {
    DnsmasqSettings s;
    s.mode = mode;
    s.interfaces = {server_if_};
    s.boot_server_url = "http://10.77.0.1:8080";
    s.tftp_root = dir_ / "tftp";
    s.hosts_file = dir_ / "hosts";
    s.pid_file = dir_ / "dnsmasq.pid";
    s.lease_file = dir_ / "leases";
    s.log_file = dir_ / "dnsmasq.log";
    DhcpNetwork network;
    network.cidr = "10.77.0.0/24";
    network.range_start = "10.77.0.100";
    network.range_end = "10.77.0.150";
    network.gateway = "10.77.0.254";
    network.dns_servers = {"10.77.0.53"};
    s.networks = {network};
    s.hosts = {{"pc-11", {kClientMac}, "10.77.0.11"},
               {"pc-12", {"52:54:00:77:00:12"}, "10.77.0.12"}};
    return s;
  }

  DnsmasqSupervisorOptions supervisor_options() {
    DnsmasqSupervisorOptions options;
    options.config_path = dir_ / "dnsmasq.conf";
    options.output_path = dir_ / "dnsmasq.out";
    options.first_backoff = std::chrono::milliseconds(100);
    options.log = [](const std::string& line) {
      std::fprintf(stderr, "supervisor: %s\n", line.c_str());
    };
    return options;
  }

  // Runs udhcpc in the client namespace with a PXE ROM's options (client
  // architecture `arch`; user class "iPXE" when `ipxe`). Returns the
  // variables udhcpc gives its script on "bound"; empty without a lease.
  std::map<std::string, std::string> dhcp(int arch, bool ipxe) {
    std::string out = dir_ / "lease.env";
    ::unlink(out.c_str());
    char arch_hex[8];
    std::snprintf(arch_hex, sizeof arch_hex, "%04x", arch);
    std::string command =
        "GOLDROOT_LEASE_OUT=" + out + " " +
        in_client("udhcpc -f -q -n -t 4 -T 1 -i " + client_if_ + " -s " + (dir_ / "udhcpc.sh") +
                  " -V PXEClient:Arch:" + std::string(5 - std::to_string(arch).size(), '0') +
                  std::to_string(arch) + ":UNDI:002001 -x 0x5d:" + arch_hex +
                  (ipxe ? " -x 0x4d:69505845" : "") + " >/dev/null 2>&1");
    run(command);
    std::map<std::string, std::string> lease;
    for (const auto& line : split(testing::read_file(out), '\n')) {
      size_t equals = line.find('=');
      if (equals != std::string::npos) lease[line.substr(0, equals)] = line.substr(equals + 1);
    }
    return lease;
  }

  void dump_log() {
    std::fprintf(stderr, "--- dnsmasq.log\n%s--- dnsmasq.out\n%s",
                 testing::read_file(dir_ / "dnsmasq.log").c_str(),
                 testing::read_file(dir_ / "dnsmasq.out").c_str());
  }

  testing::TempDir dir_;
  std::string suffix_, server_ns_, client_ns_, server_if_, client_if_;
  std::vector<std::string> extra_namespaces_;
  bool created_ = false;
  UniqueFd original_ns_;
  std::unique_ptr<DnsmasqSupervisor> supervisor_;
};

TEST_F(DnsmasqRootTest, FullModeGivesTheFixedIpAndTheBootFileForEachFirmware) {
  ASSERT_OK_AND_ASSIGN(supervisor_,
                       DnsmasqSupervisor::start(settings(DhcpMode::kFull), supervisor_options()));
  auto bios = dhcp(0, false);
  EXPECT_EQ(bios["ip"], "10.77.0.11");
  EXPECT_EQ(bios["boot_file"], "undionly.kpxe");
  EXPECT_EQ(bios["siaddr"], "10.77.0.1");  // next-server: dnsmasq's own TFTP
  EXPECT_EQ(bios["router"], "10.77.0.254");
  EXPECT_EQ(bios["dns"], "10.77.0.53");
  EXPECT_EQ(bios["hostname"], "pc-11");

  auto efi = dhcp(7, false);
  EXPECT_EQ(efi["ip"], "10.77.0.11");
  EXPECT_EQ(efi["boot_file"], "ipxe.efi");

  auto efi9 = dhcp(9, false);
  EXPECT_EQ(efi9["boot_file"], "ipxe.efi");

  auto ipxe = dhcp(0, true);
  EXPECT_EQ(ipxe["ip"], "10.77.0.11");
  EXPECT_EQ(ipxe["boot_file"], kBootUrl);
  if (HasFailure()) dump_log();

  // The TFTP root holds what the boot files name.
  EXPECT_EQ(testing::read_file(dir_ / "tftp/undionly.kpxe"),
            testing::read_file("/usr/lib/ipxe/undionly.kpxe"));
}

TEST_F(DnsmasqRootTest, UnknownMacGetsAPoolAddressAndStillBoots) {
  ASSERT_OK_AND_ASSIGN(supervisor_,
                       DnsmasqSupervisor::start(settings(DhcpMode::kFull), supervisor_options()));
  ASSERT_EQ(run(in_client("ip link set " + client_if_ + " address 52:54:00:77:00:99")), 0);
  auto lease = dhcp(0, true);
  ASSERT_FALSE(lease["ip"].empty());
  EXPECT_TRUE(starts_with(lease["ip"], "10.77.0.1")) << lease["ip"];  // 100-150
  EXPECT_NE(lease["ip"], "10.77.0.11");
  EXPECT_EQ(lease["boot_file"], kBootUrl);
}

TEST_F(DnsmasqRootTest, HostChangesReloadWithSighupAndConfigChangesRestart) {
  DnsmasqSettings s = settings(DhcpMode::kFull);
  ASSERT_OK_AND_ASSIGN(supervisor_, DnsmasqSupervisor::start(s, supervisor_options()));
  pid_t first = supervisor_->pid();
  ASSERT_GT(first, 0);
  EXPECT_EQ(dhcp(0, false)["ip"], "10.77.0.11");

  // The host moves to another address: same dnsmasq, new answer.
  s.hosts[0].ip = "10.77.0.21";
  ASSERT_OK_AND_ASSIGN(auto change, supervisor_->update(s));
  EXPECT_EQ(change, DnsmasqSupervisor::Change::kReloaded);
  EXPECT_EQ(supervisor_->pid(), first);
  EXPECT_EQ(dhcp(0, false)["ip"], "10.77.0.21");

  // Nothing changed: nothing happens.
  ASSERT_OK_AND_ASSIGN(auto none, supervisor_->update(s));
  EXPECT_EQ(none, DnsmasqSupervisor::Change::kNone);

  // A new gateway is in the main file: dnsmasq restarts with it.
  s.networks[0].gateway = "10.77.0.253";
  ASSERT_OK_AND_ASSIGN(auto restart, supervisor_->update(s));
  EXPECT_EQ(restart, DnsmasqSupervisor::Change::kRestarted);
  EXPECT_GT(supervisor_->pid(), 0);
  EXPECT_NE(supervisor_->pid(), first);
  auto lease = dhcp(0, false);
  EXPECT_EQ(lease["router"], "10.77.0.253");
  EXPECT_EQ(lease["ip"], "10.77.0.21");
  EXPECT_EQ(supervisor_->restarts(), 0);  // asked for, not a crash

  // Bad settings are refused and leave dnsmasq running as it was.
  pid_t running = supervisor_->pid();
  DnsmasqSettings bad = s;
  bad.hosts[0].macs = {"52:54:00:77:00"};
  auto refused = supervisor_->update(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(supervisor_->pid(), running);
  EXPECT_EQ(dhcp(0, false)["ip"], "10.77.0.21");
}

TEST_F(DnsmasqRootTest, RestartsWhenDnsmasqDies) {
  ASSERT_OK_AND_ASSIGN(supervisor_,
                       DnsmasqSupervisor::start(settings(DhcpMode::kFull), supervisor_options()));
  pid_t first = supervisor_->pid();
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  pid_t next = 0;
  for (int i = 0; i < 200 && (next == 0 || next == first); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    next = supervisor_->pid();
  }
  ASSERT_GT(next, 0);
  EXPECT_NE(next, first);
  EXPECT_EQ(supervisor_->restarts(), 1);
  EXPECT_EQ(dhcp(0, false)["ip"], "10.77.0.11");
}

TEST_F(DnsmasqRootTest, StopEndsDnsmasqAndRemovesItsPidFile) {
  ASSERT_OK_AND_ASSIGN(supervisor_,
                       DnsmasqSupervisor::start(settings(DhcpMode::kFull), supervisor_options()));
  pid_t pid = supervisor_->pid();
  ASSERT_GT(pid, 0);
  supervisor_->stop();
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_NE(::access((dir_ / "dnsmasq.pid").c_str(), F_OK), 0);
  EXPECT_EQ(supervisor_->pid(), 0);
}

TEST_F(DnsmasqRootTest, PortHeldByAnotherServerIsAClearError) {
  // Another DHCP server (like ISC dhcpd) holding port 67 without sharing it.
  UniqueFd socket_fd(::socket(AF_INET, SOCK_DGRAM, 0));
  ASSERT_TRUE(socket_fd.valid());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(67);
  ASSERT_EQ(::bind(socket_fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);

  auto started = DnsmasqSupervisor::start(settings(DhcpMode::kFull), supervisor_options());
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, ErrorCode::kBusy);
  EXPECT_EQ(started.error().message,
            "dnsmasq could not start: failed to bind DHCP server socket: Address already in use "
            "(another DHCP or TFTP server holds the port; stop it first)");
  // Nothing is left running.
  EXPECT_EQ(run("pgrep -f '^/usr/sbin/dnsmasq --keep-in-foreground --conf-file=" +
                (dir_ / "dnsmasq.conf") + "' >/dev/null"),
            1);
}

}  // namespace
}  // namespace goldroot::server
