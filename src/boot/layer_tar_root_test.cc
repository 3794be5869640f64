// unpack_layer_tar on archives made by Python's tarfile (ustar and pax):
// files, symlinks, hard links, whiteouts as char 0/0 devices, owners, modes
// and xattrs, and hostile archives whose symlinks try to carry a later
// member out of the destination (at a victim beside it, in the test's own
// temporary directory). Root: creating the whiteout device needs CAP_MKNOD,
// owners need CAP_CHOWN, trusted.* xattrs CAP_SYS_ADMIN.
#include "boot/layer_tar.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

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
                "def add(t, name, data=b'', kind=tarfile.REGTYPE, link='', mode=0o644, pax=None, uid=0):\n"
                "    i = tarfile.TarInfo(name); i.type = kind; i.size = len(data); i.linkname = link\n"
                "    i.mode = mode; i.uid = uid; i.gid = uid; i.mtime = 1700000000\n"
                "    if pax: i.pax_headers = pax\n"
                "    t.addfile(i, io.BytesIO(data) if data else None)\n"
                "with tarfile.open(sys.argv[1], 'w', format=tarfile." + format + ") as t:\n" +
                    members);
    EXPECT_EQ(goldroot::testing::run("python3 " + script + " " + (temp_ / "layer.tar")), 0);
    return read_file(temp_ / "layer.tar");
  }
  // Outside the destination: a file /victim (0640) and a directory
  // /victim-dir (0750) for the hostile archives to aim at.
  void make_victims() {
    goldroot::testing::write_file(temp_ / "victim", "victim\n");
    ASSERT_EQ(::chmod((temp_ / "victim").c_str(), 0640), 0);
    ASSERT_EQ(::mkdir((temp_ / "victim-dir").c_str(), 0750), 0);
    ASSERT_EQ(::lstat((temp_ / "victim").c_str(), &victim_), 0);
    ASSERT_EQ(::lstat((temp_ / "victim-dir").c_str(), &victim_dir_), 0);
  }
  void expect_victims_untouched() {
    struct stat now;
    ASSERT_EQ(::lstat((temp_ / "victim").c_str(), &now), 0);
    EXPECT_EQ(now.st_mode, victim_.st_mode);
    EXPECT_EQ(now.st_uid, victim_.st_uid);
    EXPECT_EQ(now.st_gid, victim_.st_gid);
    EXPECT_EQ(now.st_nlink, 1u);
    EXPECT_EQ(now.st_mtim.tv_sec, victim_.st_mtim.tv_sec);
    EXPECT_EQ(read_file(temp_ / "victim"), "victim\n");
    ASSERT_EQ(::lstat((temp_ / "victim-dir").c_str(), &now), 0);
    EXPECT_EQ(now.st_mode, victim_dir_.st_mode);
    EXPECT_EQ(now.st_uid, victim_dir_.st_uid);
    EXPECT_TRUE(std::filesystem::is_empty(temp_ / "victim-dir"));
  }
  // Unpacks `tar`, which must fail with one error naming `expected`.
  void expect_refused(const std::string& tar, const std::string& expected) {
    auto result = unpack_layer_tar(tar, temp_ / "out");
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::kCorruption) << result.error().message;
    EXPECT_NE(result.error().message.find(expected), std::string::npos) << result.error().message;
  }
  goldroot::testing::TempDir temp_;
  struct stat victim_ {}, victim_dir_ {};
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

TEST_F(LayerTarTest, ADirectoryMemberOverASymlinkIsRefusedNotChmodedThrough) {
  make_victims();
  std::string tar = make_tar("PAX_FORMAT",
                             "    add(t, 'x', kind=tarfile.SYMTYPE, link='" + (temp_ / "victim") + "')\n"
                             "    add(t, 'x', kind=tarfile.DIRTYPE, mode=0o5777, uid=1234)\n");
  expect_refused(tar, "directory member \"x\" would replace an existing non-directory");
  expect_victims_untouched();
}

TEST_F(LayerTarTest, ADirectoryMemberOverAFileIsRefused) {
  std::string tar = make_tar("PAX_FORMAT",
                             "    add(t, 'etc', b'a file')\n"
                             "    add(t, 'etc', kind=tarfile.DIRTYPE, mode=0o755)\n");
  expect_refused(tar, "directory member \"etc\" would replace an existing non-directory");
  EXPECT_EQ(read_file(temp_ / "out/etc"), "a file");
}

TEST_F(LayerTarTest, NoDirectoryIsMadeBelowASymlinkedParent) {
  make_victims();
  std::string tar = make_tar("PAX_FORMAT",
                             "    add(t, 'etc', kind=tarfile.SYMTYPE, link='" +
                                 (temp_ / "victim-dir") + "')\n"
                                 "    add(t, 'etc/sub/planted', b'x')\n");
  expect_refused(tar, "member \"etc/sub/planted\" lies below \"etc\", which is a symlink");
  expect_victims_untouched();
}

TEST_F(LayerTarTest, AHardLinkThroughASymlinkIsRefused) {
  make_victims();
  std::string tar = make_tar("PAX_FORMAT",
                             "    add(t, 'a', kind=tarfile.SYMTYPE, link='" + temp_.path() + "')\n"
                             "    add(t, 'h', kind=tarfile.LNKTYPE, link='a/victim')\n"
                             "    add(t, 'h', kind=tarfile.DIRTYPE, mode=0o6777, uid=1234)\n");
  expect_refused(tar, "hard link \"h\" points at \"a/victim\", which is not a member inside the layer");
  expect_victims_untouched();
  EXPECT_NE(::access((temp_ / "out/h").c_str(), F_OK), 0);
}

TEST_F(LayerTarTest, KeepsOwnersModesXattrsAndHardLinksOfAValidLayer) {
  std::string tar = make_tar(
      "PAX_FORMAT",
      "    add(t, 'etc/ssh/key', b'k', mode=0o600, uid=1234)\n"  // parents implied, then stated
      "    add(t, 'etc', kind=tarfile.DIRTYPE, mode=0o751, uid=1234)\n"
      "    add(t, 'etc/key-link', kind=tarfile.LNKTYPE, link='etc/ssh/key')\n"
      "    add(t, 'etc/lt', kind=tarfile.SYMTYPE, link='key', uid=1234)\n"
      "    add(t, 'etc/lt-link', kind=tarfile.LNKTYPE, link='etc/lt')\n"
      "    add(t, 'bin/su', b'su', mode=0o4755)\n"
      "    add(t, 'opt', kind=tarfile.DIRTYPE, mode=0o755,\n"
      "        pax={'SCHILY.xattr.trusted.overlay.opaque': 'y'})\n");
  ASSERT_OK_AND_ASSIGN(UnpackReport report, unpack_layer_tar(tar, temp_ / "out"));
  EXPECT_EQ(report.entries, 7u);
  struct stat st, link;
  ASSERT_EQ(::lstat((temp_ / "out/etc").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0751u);
  EXPECT_EQ(st.st_uid, 1234u);
  ASSERT_EQ(::lstat((temp_ / "out/etc/ssh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);  // implied by a member below it
  ASSERT_EQ(::lstat((temp_ / "out/etc/ssh/key").c_str(), &st), 0);
  ASSERT_EQ(::lstat((temp_ / "out/etc/key-link").c_str(), &link), 0);
  EXPECT_EQ(st.st_ino, link.st_ino);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 1234u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);
  ASSERT_EQ(::lstat((temp_ / "out/etc/lt-link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));  // a hard link to the symlink, not to its target
  EXPECT_EQ(st.st_uid, 1234u);
  ASSERT_EQ(::lstat((temp_ / "out/bin/su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  char value[8] = {};
  ASSERT_EQ(::lgetxattr((temp_ / "out/opt").c_str(), "trusted.overlay.opaque", value, sizeof value), 1)
      << std::strerror(errno);
  EXPECT_EQ(value[0], 'y');
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
