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
#include "netboot/dnsmasq_supervisor.h"
#include "netboot/tftp_root.h"
#include "sys/unique_fd.h"

namespace goldroot::netboot {
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

// Secure Boot: a UEFI ROM of a host set to shim is told to load Debian's
// signed shim; BIOS and iPXE keep theirs. An unknown MAC follows
// unknown_uefi, a known one its own line.
TEST_F(DnsmasqRootTest, FullModeGivesShimToUefiRomsOfShimHosts) {
  DnsmasqSettings shim = settings(DhcpMode::kFull);
  shim.hosts[0].uefi = UefiLoader::kShim;
  ASSERT_OK_AND_ASSIGN(supervisor_, DnsmasqSupervisor::start(shim, supervisor_options()));
  auto efi = dhcp(7, false);
  EXPECT_EQ(efi["ip"], "10.77.0.11");
  EXPECT_EQ(efi["boot_file"], "shimx64.efi");
  EXPECT_EQ(dhcp(9, false)["boot_file"], "shimx64.efi");
  EXPECT_EQ(dhcp(0, false)["boot_file"], "undionly.kpxe");
  EXPECT_EQ(dhcp(0, true)["boot_file"], kBootUrl);

  // The site says shim for unknown MACs: a known host set to iPXE keeps it.
  DnsmasqSettings site_shim = settings(DhcpMode::kFull);
  site_shim.unknown_uefi = UefiLoader::kShim;
  ASSERT_OK(supervisor_->update(site_shim));
  EXPECT_EQ(dhcp(7, false)["boot_file"], "ipxe.efi");
  site_shim.hosts.erase(site_shim.hosts.begin());
  ASSERT_OK(supervisor_->update(site_shim));
  auto unknown = dhcp(7, false);
  EXPECT_NE(unknown["ip"], "10.77.0.11");
  EXPECT_EQ(unknown["boot_file"], "shimx64.efi");
  // A tagged hosts file changes by a restart, never a crash after SIGHUP.
  shim.hosts[0].ip = "10.77.0.21";
  ASSERT_OK_AND_ASSIGN(auto change, supervisor_->update(shim));
  EXPECT_EQ(change, DnsmasqSupervisor::Change::kRestarted);
  EXPECT_EQ(dhcp(7, false)["ip"], "10.77.0.21");
  EXPECT_EQ(supervisor_->restarts(), 0);
  if (HasFailure()) dump_log();
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

TEST_F(DnsmasqRootTest, StartStopsADnsmasqLeftBehindByAKilledGoldroot) {
  DnsmasqSupervisorOptions options = supervisor_options();
  ASSERT_OK_AND_ASSIGN(supervisor_, DnsmasqSupervisor::start(settings(DhcpMode::kFull), options));
  supervisor_->stop();
  // What a SIGKILLed goldroot leaves: its dnsmasq, still holding the ports.
  ASSERT_EQ(run("/usr/sbin/dnsmasq --conf-file=" + options.config_path), 0);  // daemonizes
  std::string stale = std::string(trim(testing::read_file(dir_ / "dnsmasq.pid")));
  ASSERT_FALSE(stale.empty());
  ASSERT_EQ(::kill(std::stoi(stale), 0), 0);

  ASSERT_OK_AND_ASSIGN(supervisor_, DnsmasqSupervisor::start(settings(DhcpMode::kFull), options));
  EXPECT_NE(supervisor_->pid(), std::stoi(stale));
  for (int i = 0; i < 50 && ::kill(std::stoi(stale), 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // init reaps it
  EXPECT_NE(::kill(std::stoi(stale), 0), 0) << "the stale dnsmasq still runs";
  EXPECT_EQ(dhcp(0, false)["ip"], "10.77.0.11");
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

// Records every DHCP reply seen on an interface as one JSON object per line
// ({"src", "yiaddr", "file", "options": {code: hex}}), for `seconds`.
const char* kSnifferScript = R"py(
import json, socket, struct, sys, time
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0800))
sock.bind((sys.argv[1], 0))
sock.settimeout(0.2)
end = time.time() + float(sys.argv[2])
out = open(sys.argv[3], "w")
print("ready", flush=True)
while time.time() < end:
    try:
        frame = sock.recv(4096)
    except socket.timeout:
        continue
    ip = frame[14:]
    if len(ip) < 20 or ip[9] != 17:
        continue
    udp = ip[(ip[0] & 15) * 4:]
    if struct.unpack("!H", udp[2:4])[0] != 68 or len(udp) < 8 + 240:
        continue
    bootp = udp[8:]
    record = {"src": socket.inet_ntoa(ip[12:16]), "yiaddr": socket.inet_ntoa(bootp[16:20]),
              "file": bootp[108:236].split(b"\0")[0].decode(errors="replace"), "options": {}}
    i = 240
    while i < len(bootp) and bootp[i] != 255:
        if bootp[i] == 0:
            i += 1
            continue
        length = bootp[i + 1]
        record["options"][str(bootp[i])] = bootp[i + 2:i + 2 + length].hex()
        i += 2 + length
    out.write(json.dumps(record, sort_keys=True) + "\n")
    out.flush()
)py";

// The second step of a PXE ROM beside a proxy: a DHCPREQUEST to the proxy's
// port 4011 from the address the real DHCP server gave; prints the boot
// file of the answer. argv: mac arch client-ip proxy-ip.
const char* kPxeRequestScript = R"py(
import os, socket, struct, sys
mac = bytes.fromhex(sys.argv[1].replace(":", ""))
arch = int(sys.argv[2])
client, proxy = sys.argv[3], sys.argv[4]
options = bytes([53, 1, 3])
vendor = b"PXEClient:Arch:%05d:UNDI:002001" % arch
options += bytes([60, len(vendor)]) + vendor
options += bytes([93, 2]) + struct.pack("!H", arch) + bytes([94, 3, 1, 2, 1])
options += bytes([97, 17, 0]) + bytes(16)
if arch == 0:  # the BIOS menu's first item, as the ROM picked it (type 0x8000, layer 0)
    options += bytes([43, 7, 71, 4, 0x80, 0, 0, 0, 255])
options += bytes([255])
packet = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, 0x1234567, 0, 0,
                     socket.inet_aton(client), bytes(4), bytes(4), bytes(4), mac + bytes(10),
                     b"", b"") + b"\x63\x82\x53\x63" + options
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((client, 68))
sock.settimeout(3)
sock.sendto(packet, (proxy, 4011))
reply = sock.recv(4096)
print(reply[108:236].split(b"\0")[0].decode())
)py";

std::string hex_of(std::string_view text) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

// Proxy mode beside a plain DHCP server (a second, unrelated dnsmasq in its
// own namespace) on one bridge: the plain server hands out the address, the
// proxy only the PXE answer. udhcpc is no PXE client, so the proxy's offers
// are read off the wire next to it.
class DnsmasqProxyRootTest : public DnsmasqRootTest {
 protected:
  void SetUp() override {
    DnsmasqRootTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    plain_ns_ = "grp" + suffix_;
    extra_namespaces_.push_back(plain_ns_);
    ASSERT_EQ(run("ip netns add " + plain_ns_), 0);
    ASSERT_EQ(run("ip link add grp" + suffix_ + " netns " + plain_ns_ + " type veth peer name grq" +
                  suffix_ + " netns " + client_ns_),
              0);
    ASSERT_EQ(run("ip -n " + plain_ns_ + " addr add 10.77.0.2/24 dev grp" + suffix_ + " && ip -n " +
                  plain_ns_ + " link set grp" + suffix_ + " up"),
              0);
    // The client's side becomes a bridge joining both servers.
    std::string c = "ip -n " + client_ns_ + " ";
    ASSERT_EQ(
        run(c + "link add br0 type bridge && " + c + "link set br0 address " + kClientMac + " && " +
            c + "link set " + client_if_ + " master br0 && " + c + "link set grq" + suffix_ +
            " master br0 && " + c + "link set grq" + suffix_ + " up && " + c + "link set br0 up"),
        0);
    client_if_ = "br0";
    testing::write_file(dir_ / "plain.conf",
                        "port=0\nbind-interfaces\ninterface=grp" + suffix_ + "\npid-file=" +
                            (dir_ / "plain.pid") + "\ndhcp-leasefile=" + (dir_ / "plain.leases") +
                            "\ndhcp-range=10.77.0.100,10.77.0.150,255.255.255.0,1h\n"
                            "dhcp-host=" +
                            kClientMac + ",10.77.0.31\n");
    ASSERT_EQ(run("ip netns exec " + plain_ns_ +
                  " /usr/sbin/dnsmasq --conf-file=" + (dir_ / "plain.conf")),
              0);
    testing::write_file(dir_ / "sniff.py", kSnifferScript);
    // Let the bridge ports forward before anyone talks.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }

  void TearDown() override {
    std::string pid = std::string(trim(testing::read_file(dir_ / "plain.pid")));
    if (!pid.empty()) ::kill(std::stoi(pid), SIGTERM);
    DnsmasqRootTest::TearDown();
  }

  // Runs udhcpc as dhcp() does, with every DHCP reply on the wire
  // recorded: the proxy's (from 10.77.0.1) go to `proxy`, the plain
  // server's (10.77.0.2) to `plain`. Which offer udhcpc takes is a race it
  // is not built for (a PXE ROM waits for both), so no lease is returned.
  void dhcp_watching(int arch, bool ipxe, std::vector<std::string>* proxy,
                     std::vector<std::string>* plain) {
    std::string out = dir_ / "replies.json";
    ::unlink(out.c_str());
    std::string sniffer = in_client("python3 " + (dir_ / "sniff.py") + " br0 7 " + out);
    FILE* pipe = ::popen(sniffer.c_str(), "r");
    char ready[16] = {};
    if (pipe) std::fgets(ready, sizeof ready, pipe);  // "ready": the socket is open
    dhcp(arch, ipxe);
    if (pipe) ::pclose(pipe);
    for (const auto& line : split(testing::read_file(out), '\n')) {
      if (line.find("\"src\": \"10.77.0.1\"") != std::string::npos) proxy->push_back(line);
      if (line.find("\"src\": \"10.77.0.2\"") != std::string::npos) plain->push_back(line);
    }
  }

  std::string plain_ns_;
};

TEST_F(DnsmasqProxyRootTest, ProxyAddsThePxeAnswerAndNoAddress) {
  ASSERT_OK_AND_ASSIGN(supervisor_,
                       DnsmasqSupervisor::start(settings(DhcpMode::kProxy), supervisor_options()));
  // A BIOS PXE ROM: the address comes from the plain server; the proxy
  // offers no address but PXEClient and a boot menu naming iPXE for BIOS.
  std::vector<std::string> bios, plain;
  dhcp_watching(0, false, &bios, &plain);
  ASSERT_FALSE(plain.empty()) << "the plain DHCP server did not answer";
  EXPECT_NE(plain[0].find("\"yiaddr\": \"10.77.0.31\""), std::string::npos) << plain[0];
  ASSERT_FALSE(bios.empty()) << "the proxy did not answer";
  for (const auto& reply : bios) {
    EXPECT_NE(reply.find("\"yiaddr\": \"0.0.0.0\""), std::string::npos) << reply;
    EXPECT_NE(reply.find("\"60\": \"" + hex_of("PXEClient") + "\""), std::string::npos) << reply;
    EXPECT_NE(reply.find(hex_of("goldroot: iPXE (BIOS)")), std::string::npos) << reply;
    EXPECT_EQ(reply.find("\"51\":"), std::string::npos) << "a lease time from the proxy: " << reply;
  }

  // A UEFI ROM gets an address-less PXEClient offer without a menu (UEFI
  // firmware has none), which sends it to port 4011 below.
  std::vector<std::string> efi;
  dhcp_watching(7, false, &efi, &plain);
  ASSERT_FALSE(efi.empty());
  EXPECT_NE(efi[0].find("\"60\": \"" + hex_of("PXEClient") + "\""), std::string::npos) << efi[0];
  EXPECT_NE(efi[0].find("\"yiaddr\": \"0.0.0.0\""), std::string::npos) << efi[0];

  // Step two, on port 4011 with the address from the plain server: the
  // proxy names the iPXE binary for the firmware.
  testing::write_file(dir_ / "pxe_request.py", kPxeRequestScript);
  ASSERT_EQ(run(in_client("ip addr add 10.77.0.31/24 dev br0")), 0);
  auto boot_file = [&](int arch) {
    return std::string(
        trim(run_output(in_client("python3 " + (dir_ / "pxe_request.py") + " " + kClientMac + " " +
                                  std::to_string(arch) + " 10.77.0.31 10.77.0.1 2>&1"))));
  };
  EXPECT_EQ(boot_file(0), "undionly.kpxe");
  EXPECT_EQ(boot_file(7), "ipxe.efi");
  EXPECT_EQ(boot_file(9), "ipxe.efi");
  ASSERT_EQ(run(in_client("ip addr del 10.77.0.31/24 dev br0")), 0);

  // iPXE gets its script URL in the proxy offer.
  std::vector<std::string> ipxe;
  dhcp_watching(0, true, &ipxe, &plain);
  ASSERT_FALSE(ipxe.empty());
  EXPECT_NE(ipxe[0].find("\"file\": \"" + std::string(kBootUrl) + "\""), std::string::npos)
      << ipxe[0];
  EXPECT_NE(ipxe[0].find("\"yiaddr\": \"0.0.0.0\""), std::string::npos) << ipxe[0];
  if (HasFailure()) dump_log();
}

TEST_F(DnsmasqProxyRootTest, ProxyNamesShimForUefiRomsOfShimHosts) {
  DnsmasqSettings shim = settings(DhcpMode::kProxy);
  shim.hosts[0].uefi = UefiLoader::kShim;
  ASSERT_OK_AND_ASSIGN(supervisor_, DnsmasqSupervisor::start(shim, supervisor_options()));
  testing::write_file(dir_ / "pxe_request.py", kPxeRequestScript);
  ASSERT_EQ(run(in_client("ip addr add 10.77.0.31/24 dev br0")), 0);
  auto boot_file = [&](int arch) {
    return std::string(
        trim(run_output(in_client("python3 " + (dir_ / "pxe_request.py") + " " + kClientMac + " " +
                                  std::to_string(arch) + " 10.77.0.31 10.77.0.1 2>&1"))));
  };
  EXPECT_EQ(boot_file(7), "shimx64.efi");
  EXPECT_EQ(boot_file(9), "shimx64.efi");
  EXPECT_EQ(boot_file(0), "undionly.kpxe");
  // Unknown MACs by the site's setting; a known host set to iPXE keeps it.
  DnsmasqSettings site_shim = settings(DhcpMode::kProxy);
  site_shim.unknown_uefi = UefiLoader::kShim;
  ASSERT_OK(supervisor_->update(site_shim));
  EXPECT_EQ(boot_file(7), "ipxe.efi");
  site_shim.hosts.erase(site_shim.hosts.begin());
  ASSERT_OK(supervisor_->update(site_shim));
  EXPECT_EQ(boot_file(7), "shimx64.efi");
  ASSERT_EQ(run(in_client("ip addr del 10.77.0.31/24 dev br0")), 0);
  if (HasFailure()) dump_log();
}

TEST_F(DnsmasqProxyRootTest, ProxyIgnoresClientsThatAreNotPxe) {
  ASSERT_OK_AND_ASSIGN(supervisor_,
                       DnsmasqSupervisor::start(settings(DhcpMode::kProxy), supervisor_options()));
  std::string out = dir_ / "replies.json";
  FILE* pipe = ::popen(in_client("python3 " + (dir_ / "sniff.py") + " br0 5 " + out).c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char ready[16] = {};
  std::fgets(ready, sizeof ready, pipe);
  std::string lease_out = dir_ / "lease.env";
  run("GOLDROOT_LEASE_OUT=" + lease_out + " " +
      in_client("udhcpc -f -q -n -t 3 -T 1 -i br0 -s " + (dir_ / "udhcpc.sh") +
                " >/dev/null 2>&1"));
  ::pclose(pipe);
  std::string replies = testing::read_file(out);
  EXPECT_NE(replies.find("\"src\": \"10.77.0.2\""), std::string::npos) << replies;
  EXPECT_EQ(replies.find("\"src\": \"10.77.0.1\""), std::string::npos) << replies;
  EXPECT_NE(testing::read_file(lease_out).find("ip=10.77.0.31"), std::string::npos);
}

}  // namespace
}  // namespace goldroot::netboot
