#include "initrd/uki.h"

#include <unistd.h>

#include "base/testing/testing.h"
#include "crypto/secure_boot_key.h"
#include "sys/run_tool.h"

namespace goldroot {
namespace {

PeImage stub_like_systemds() {
  // The section table of Debian 12's linuxx64.efi.stub (systemd 252).
  PeImage stub;
  stub.image_base = 0;
  stub.section_alignment = 0x200;
  stub.sections = {{".text", 0x4000, 0xbff0},   {".reloc", 0x10000, 0xc},
                   {".data", 0x11000, 0x34b8},  {".dynamic", 0x15000, 0x100},
                   {".rela", 0x16000, 0xf30},   {".dynsym", 0x17000, 0x18},
                   {".sbat", 0x19000, 0xe2},    {".sdmagic", 0x19100, 0x34}};
  return stub;
}

TEST(UkiLayout, SectionsFollowTheStubPageAlignedWithoutOverlap) {
  PeImage stub = stub_like_systemds();
  std::vector<uint64_t> sizes = {200, 90, 8222656, 36328013 + 3000000};
  std::vector<uint64_t> addresses = place_sections(stub, sizes);
  ASSERT_EQ(addresses.size(), 4u);
  EXPECT_EQ(addresses[0], 0x1a000u);  // the page after .sdmagic ends (0x19134)
  EXPECT_EQ(addresses[1], 0x1b000u);
  EXPECT_EQ(addresses[2], 0x1c000u);
  for (size_t i = 0; i < addresses.size(); ++i) {
    EXPECT_EQ(addresses[i] % 4096, 0u);
    if (i + 1 < addresses.size()) {
      EXPECT_GE(addresses[i + 1], addresses[i] + sizes[i]);
    }
  }
  // An image base and a larger alignment are honoured.
  stub.image_base = 0x140000000;
  for (PeSection& section : stub.sections) section.address += stub.image_base;
  stub.section_alignment = 0x10000;
  addresses = place_sections(stub, {1, 1});
  EXPECT_EQ(addresses[0], 0x140020000u);
  EXPECT_EQ(addresses[1], 0x140030000u);
}

TEST(UkiLayout, ReadsTheRealStubsSectionTable) {
  if (::access(kSystemdStub, R_OK) != 0)
    GTEST_SKIP() << "needs " << kSystemdStub << " (package systemd-boot-efi)";
  std::string stub = testing::read_file(kSystemdStub);
  ASSERT_OK_AND_ASSIGN(PeImage image, parse_pe_image(stub));
  bool has_text = false;
  for (const PeSection& section : image.sections) has_text |= section.name == ".text";
  EXPECT_TRUE(has_text);
  EXPECT_FALSE(parse_pe_image("MZ not really").ok());
  auto not_pe = parse_pe_image(std::string(4096, 'x'));
  ASSERT_FALSE(not_pe.ok());
  EXPECT_EQ(not_pe.error().message, "the EFI stub is not a PE32+ program: no MZ header");
}

TEST(UkiCommandLine, NamesTheServerAndModeButNoHost) {
  ASSERT_OK_AND_ASSIGN(std::string line,
                       uki_command_line("http://10.1.0.1:8080/", "normal", " console=ttyS0 "));
  EXPECT_EQ(line, "boot=goldroot goldroot.server=http://10.1.0.1:8080 goldroot.mode=normal ip=dhcp "
                  "console=ttyS0");
  ASSERT_OK_AND_ASSIGN(std::string bare, uki_command_line("https://s:8443", "reset", ""));
  EXPECT_EQ(bare, "boot=goldroot goldroot.server=https://s:8443 goldroot.mode=reset ip=dhcp");
  auto mode = uki_command_line("http://s", "rset", "");
  ASSERT_FALSE(mode.ok());
  EXPECT_NE(mode.error().message.find("unknown mode \"rset\""), std::string::npos);
  EXPECT_FALSE(uki_command_line("ftp://s", "normal", "").ok());
  EXPECT_FALSE(uki_command_line("http://s x", "normal", "").ok());
  EXPECT_FALSE(uki_command_line("http://s", "normal", "a\nb").ok());
}

TEST(UkiOsRelease, PrettyNameIsTheImageAndCommit) {
  Digest commit = Sha256::of("c");
  std::string text = uki_os_release("lab \"x\"", commit);
  EXPECT_NE(text.find("PRETTY_NAME=\"goldroot image lab x (" + commit.hex().substr(0, 12) + ")\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("IMAGE_VERSION=\"" + commit.hex() + "\""), std::string::npos);
}

// Builds a real UKI from the stub, a small stand-in kernel and two initrds.
class UkiBuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"objcopy", "objdump", "sbsign", "sbverify"})
      if (testing::run(std::string("command -v ") + tool + " >/dev/null") != 0)
        GTEST_SKIP() << "needs " << tool << " (packages binutils, sbsigntool)";
    if (::access(kSystemdStub, R_OK) != 0)
      GTEST_SKIP() << "needs " << kSystemdStub << " (package systemd-boot-efi)";
    ASSERT_OK(ensure_secure_boot_key(keys_.path(), "goldroot test Secure Boot"));
    ASSERT_OK(ensure_secure_boot_key(other_.path(), "someone else"));
    testing::write_file(work_ / "vmlinuz", "MZ a kernel stand-in " + std::string(100000, 'k'));
    testing::write_file(work_ / "initrd-image", "image initrd");  // 12 bytes: padded to 4
    testing::write_file(work_ / "initrd-goldroot", "goldroot initrd");
    inputs_.kernel = work_ / "vmlinuz";
    inputs_.initrds = {work_ / "initrd-image", work_ / "initrd-goldroot"};
    inputs_.command_line = "boot=goldroot goldroot.server=http://s goldroot.mode=normal ip=dhcp";
    inputs_.os_release = uki_os_release("lab", Sha256::of("c"));
    inputs_.key = keys_ / "secureboot.key";
    inputs_.certificate = keys_ / "secureboot.crt";
  }
  PosixEnv env_;
  testing::TempDir keys_, other_, work_, out_;
  UkiInputs inputs_;
};

TEST_F(UkiBuildTest, SignedWithTheSiteKeyWithEverySectionAndCached) {
  ASSERT_OK_AND_ASSIGN(Uki uki, build_uki(&env_, inputs_, out_.path()));
  EXPECT_FALSE(uki.reused);
  EXPECT_EQ(uki.path, out_ / (uki.sha256.hex() + ".efi"));
  EXPECT_OK(run_tool({"sbverify", "--cert", keys_ / "secureboot.crt", uki.path}, "a check"));
  Status foreign = run_tool({"sbverify", "--cert", other_ / "secureboot.crt", uki.path}, "a check");
  EXPECT_FALSE(foreign.ok());
  std::string sections = testing::run_output("objdump -h " + uki.path);
  for (const char* name : {".osrel", ".cmdline", ".linux", ".initrd", ".text", ".sbat"})
    EXPECT_NE(sections.find(std::string(" ") + name + " "), std::string::npos) << name << sections;
  // The sections hold what went in: the line (NUL-ended), the initrds
  // concatenated, each padded to 4 bytes.
  std::string copy = work_ / "copy.efi";
  ASSERT_EQ(testing::run("objcopy -O binary --only-section=.cmdline " + uki.path + " " + copy), 0);
  EXPECT_EQ(testing::read_file(copy), inputs_.command_line + std::string(1, '\0'));
  ASSERT_EQ(testing::run("objcopy -O binary --only-section=.initrd " + uki.path + " " + copy), 0);
  EXPECT_EQ(testing::read_file(copy), std::string("image initrd") + "goldroot initrd" + '\0');
  ASSERT_EQ(testing::run("objcopy -O binary --only-section=.linux " + uki.path + " " + copy), 0);
  EXPECT_EQ(testing::read_file(copy), testing::read_file(inputs_.kernel));

  ASSERT_OK_AND_ASSIGN(Uki again, build_uki(&env_, inputs_, out_.path()));
  EXPECT_TRUE(again.reused);
  EXPECT_EQ(again.path, uki.path);
  inputs_.command_line += " console=ttyS0";
  ASSERT_OK_AND_ASSIGN(Uki other_line, build_uki(&env_, inputs_, out_.path()));
  EXPECT_FALSE(other_line.reused);
  EXPECT_NE(other_line.path, uki.path);
  // Nothing half-built is left behind.
  EXPECT_EQ(testing::run_output("ls -A " + out_.path() + " | grep -c build || true"), "0\n");
}

TEST_F(UkiBuildTest, SignedWithAnotherKeyTheSiteCertificateRefusesIt) {
  inputs_.key = other_ / "secureboot.key";
  inputs_.certificate = other_ / "secureboot.crt";
  ASSERT_OK_AND_ASSIGN(Uki uki, build_uki(&env_, inputs_, out_.path()));
  EXPECT_OK(run_tool({"sbverify", "--cert", other_ / "secureboot.crt", uki.path}, "a check"));
  EXPECT_FALSE(run_tool({"sbverify", "--cert", keys_ / "secureboot.crt", uki.path}, "a check").ok());
}

TEST_F(UkiBuildTest, AMissingInputIsOneSentence) {
  inputs_.kernel = work_ / "no-such-kernel";
  auto built = build_uki(&env_, inputs_, out_.path());
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.error().message.find("the UKI's kernel"), std::string::npos) << built.error().message;
  EXPECT_NE(built.error().message.find("no-such-kernel"), std::string::npos);
}

}  // namespace
}  // namespace goldroot
