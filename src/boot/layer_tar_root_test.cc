// unpack_layer_tar on archives made by Python's tarfile (ustar and pax):
// files, symlinks, whiteouts as char 0/0 devices, and hostile names.
// Root: creating the whiteout device needs CAP_MKNOD.
#include "boot/layer_tar.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/testing/testing.h"

namespace goldroot::boot {
namespace {

using goldroot::testing::read_file;

class LayerTarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mknod for whiteouts)";
    ::mkdir((temp_ / "out").c_str(), 0755);
  }
  // Builds a tar with Python; `members` is Python code adding to `t`.
  std::string make_tar(const std::string& format, const std::string& members) {
    std::string script = temp_ / "make.py";
    goldroot::testing::write_file(
        script, "import io, tarfile, sys\n"
                "def add(t, name, data=b'', kind=tarfile.REGTYPE, link='', mode=0o644, pax=None):\n"
                "    i = tarfile.TarInfo(name); i.type = kind; i.size = len(data); i.linkname = link\n"
                "    i.mode = mode; i.uid = 0; i.gid = 0; i.mtime = 1700000000\n"
                "    if pax: i.pax_headers = pax\n"
                "    t.addfile(i, io.BytesIO(data) if data else None)\n"
                "with tarfile.open(sys.argv[1], 'w', format=tarfile." + format + ") as t:\n" +
                    members);
    EXPECT_EQ(goldroot::testing::run("python3 " + script + " " + (temp_ / "layer.tar")), 0);
    return read_file(temp_ / "layer.tar");
  }
  goldroot::testing::TempDir temp_;
};

TEST_F(LayerTarTest, UnpacksFilesLinksAndWhiteouts) {
  std::string tar = make_tar("PAX_FORMAT",
                             "    add(t, 'etc', kind=tarfile.DIRTYPE, mode=0o755)\n"
                             "    add(t, 'etc/hostname', b'pc01\\n')\n"
                             "    add(t, 'etc/secret', b'x', mode=0o600)\n"
                             "    add(t, 'etc/localtime', kind=tarfile.SYMTYPE, link='/usr/share/zoneinfo/UTC')\n"
                             "    add(t, 'etc/removed', kind=tarfile.CHRTYPE)\n"
                             "    add(t, 'deep/' + 'd' * 150 + '/file', b'long name')\n");
  ASSERT_OK_AND_ASSIGN(UnpackReport report, unpack_layer_tar(tar, temp_ / "out"));
  EXPECT_EQ(report.whiteouts, 1u);
  EXPECT_EQ(read_file(temp_ / "out/etc/hostname"), "pc01\n");
  EXPECT_EQ(read_file(temp_ / ("out/deep/" + std::string(150, 'd') + "/file")), "long name");
  struct stat st;
  ASSERT_EQ(::stat((temp_ / "out/etc/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  char link[256] = {};
  ASSERT_GT(::readlink((temp_ / "out/etc/localtime").c_str(), link, sizeof(link) - 1), 0);
  EXPECT_STREQ(link, "/usr/share/zoneinfo/UTC");
  ASSERT_EQ(::lstat((temp_ / "out/etc/removed").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
}

TEST_F(LayerTarTest, UstarArchivesToo) {
  std::string tar = make_tar("USTAR_FORMAT", "    add(t, './etc/motd', b'hi')\n");
  ASSERT_OK(unpack_layer_tar(tar, temp_ / "out"));
  EXPECT_EQ(read_file(temp_ / "out/etc/motd"), "hi");
}

TEST_F(LayerTarTest, NamesThatLeaveTheLayerAreRefused) {
  std::string tar = make_tar("PAX_FORMAT", "    add(t, '../escape', b'x')\n");
  auto result = unpack_layer_tar(tar, temp_ / "out");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("leaves the layer"), std::string::npos);
  EXPECT_NE(::access((temp_ / "escape").c_str(), F_OK), 0);
}

TEST_F(LayerTarTest, ASymlinkCannotRedirectALaterMember) {
  std::string tar = make_tar("PAX_FORMAT",
                             "    add(t, 'etc', kind=tarfile.SYMTYPE, link='" + temp_.path() + "')\n"
                             "    add(t, 'etc/planted', b'x')\n");
  EXPECT_FALSE(unpack_layer_tar(tar, temp_ / "out").ok());
  EXPECT_NE(::access((temp_ / "planted").c_str(), F_OK), 0);
}

TEST_F(LayerTarTest, ATruncatedArchiveIsCorrupt) {
  std::string tar = make_tar("PAX_FORMAT", "    add(t, 'etc/hostname', b'x' * 5000)\n");
  auto result = unpack_layer_tar(tar.substr(0, 2048), temp_ / "out");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kCorruption);
}

TEST_F(LayerTarTest, AMalformedPaxNumberIsCorruptNotACrash) {
  std::string tar = make_tar("PAX_FORMAT", "    add(t, 'etc/motd', b'x', pax={'uid': 'lots'})\n");
  auto result = unpack_layer_tar(tar, temp_ / "out");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("bad pax uid"), std::string::npos);
}

}  // namespace
}  // namespace goldroot::boot
