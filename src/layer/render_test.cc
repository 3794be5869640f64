#include "layer/render.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "layer/layer_test_util.h"

namespace goldroot {
namespace {

using testing::put;
using testing::read_file;
using testing::sample_profile;
using testing::TempDir;

class RenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    put(layers() + "/base/etc/hostname.tmpl", "{{ hostname }}\n");
    put(layers() + "/base/etc/hosts.tmpl",
        "127.0.0.1 localhost\n{{ ip }} {{ fqdn }} {{ hostname }}\n");
    put(layers() + "/base/etc/issue", "Debian\n");
    put(layers() + "/base/etc/skel/.bashrc", "old\n");
    put(layers() + "/networks/10.1.0.0_24/etc/resolv.conf.tmpl",
        "search {{ domain }}\nnameserver {{ dns }}\n");
    put(layers() + "/labs/lab1/etc/motd", "lab1\n");
    put(layers() + "/labs/lab1/etc/secret", "s\n", 0600);
    put(layers() + "/labs/lab1/etc/skel.goldroot-delete", "");
    put(layers() + "/labs/lab1/etc/skel/.profile", "new\n");
    put(layers() + "/hosts/pc1/etc/issue.goldroot-delete", "");
    put(layers() + "/hosts/pc1/usr/bin/tool", "#!/bin/sh\n", 04755);
    put(layers() + "/hosts/pc1/srv/shared", "", 0666);
    if (root()) {
      ASSERT_EQ(::chown((layers() + "/labs/lab1/etc/secret").c_str(), 1234, 5678), 0);
    }
    struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (layers() + "/labs/lab1/etc/motd").c_str(), times, 0), 0);
  }

  static bool root() { return ::geteuid() == 0; }
  std::string layers() const { return dir_ / "layers"; }
  Result<RenderedLayer> build() {
    HostProfile profile = sample_profile();
    auto stack = TRY(host_layers(layers(), profile));
    return build_rendered_layer(stack, template_variables(profile));
  }
  std::vector<std::string> leftovers() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path()))
      if (entry.path().filename().string().find(".tmp-") != std::string::npos)
        names.push_back(entry.path().filename());
    return names;
  }

  TempDir dir_;
};

TEST_F(RenderTest, DirectoryKeepsContentMetadataAndDeletions) {
  ASSERT_OK_AND_ASSIGN(RenderedLayer layer, build());
  std::string out = dir_ / "out";
  ASSERT_OK(write_layer(layer, out, OutputFormat::kDirectory, {}));
  EXPECT_EQ(read_file(out + "/etc/hostname"), "pc1\n");
  EXPECT_EQ(read_file(out + "/etc/hosts"), "127.0.0.1 localhost\n10.1.0.10 pc1.lab.test pc1\n");
  EXPECT_EQ(read_file(out + "/etc/resolv.conf"), "search lab.test\nnameserver 10.1.0.2 10.1.0.3\n");
  EXPECT_EQ(read_file(out + "/etc/skel/.profile"), "new\n");
  EXPECT_FALSE(std::filesystem::exists(out + "/etc/skel/.bashrc"));
  struct stat st;
  ASSERT_EQ(::lstat((out + "/etc/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::lstat((out + "/etc/motd").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  // Modes survive the umask, setuid included.
  mode_t old_umask = ::umask(022);
  ASSERT_OK(write_layer(layer, dir_ / "out-umask", OutputFormat::kDirectory, {}));
  ::umask(old_umask);
  ASSERT_EQ(::lstat((dir_ / "out-umask/usr/bin/tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  ASSERT_EQ(::lstat((dir_ / "out-umask/srv/shared").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  if (!root()) GTEST_SKIP() << "owners, whiteouts and trusted xattrs need root";
  ASSERT_EQ(::lstat((out + "/etc/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  ASSERT_EQ(::lstat((out + "/etc/issue").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char value[8] = {};
  ASSERT_EQ(::lgetxattr((out + "/etc/skel").c_str(), "trusted.overlay.opaque", value, sizeof value),
            1);
  EXPECT_EQ(value[0], 'y');
  EXPECT_LT(::lgetxattr((out + "/etc").c_str(), "trusted.overlay.opaque", value, sizeof value), 0);
}

TEST_F(RenderTest, TemplateErrorWritesNothing) {
  put(layers() + "/hosts/pc1/etc/motd.tmpl", "welcome to {{ var.building }}\n");
  auto layer = build();
  ASSERT_FALSE(layer.ok());
  EXPECT_EQ(layer.error().message,
            "hosts/pc1/etc/motd.tmpl:1: variable 'var.building' is not defined for this host");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out"));
}

TEST_F(RenderTest, ExistingOutputNeedsReplaceAndFailedWritesLeaveNoTemporary) {
  ASSERT_OK_AND_ASSIGN(RenderedLayer layer, build());
  std::string out = dir_ / "out";
  put(out + "/stale", "stale");
  auto refused = write_layer(layer, out, OutputFormat::kDirectory, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("already exists; remove it or pass --force"),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(out + "/stale"));
  ASSERT_OK(
      write_layer(layer, out, OutputFormat::kDirectory, {Replace::kYes, Durability::kNoSync}));
  EXPECT_FALSE(std::filesystem::exists(out + "/stale"));
  EXPECT_EQ(read_file(out + "/etc/hostname"), "pc1\n");
  EXPECT_TRUE(leftovers().empty());

  // A source that vanished between merge and write: the write fails whole.
  std::filesystem::remove(layers() + "/labs/lab1/etc/motd");
  auto failed = write_layer(layer, dir_ / "out2", OutputFormat::kDirectory, {});
  ASSERT_FALSE(failed.ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out2"));
  EXPECT_TRUE(leftovers().empty());
}

std::map<std::string, std::pair<const struct stat*, std::string>> read_tar(
    const std::string& path, std::vector<struct stat>& stats,
    std::map<std::string, std::string>& xattrs) {
  std::map<std::string, std::pair<const struct stat*, std::string>> entries;
  struct archive* archive = archive_read_new();
  archive_read_support_format_all(archive);
  EXPECT_EQ(archive_read_open_filename(archive, path.c_str(), 65536), ARCHIVE_OK);
  stats.reserve(100);
  struct archive_entry* entry;
  while (archive_read_next_header(archive, &entry) == ARCHIVE_OK) {
    std::string data(static_cast<size_t>(archive_entry_size(entry)), '\0');
    if (!data.empty()) archive_read_data(archive, data.data(), data.size());
    stats.push_back(*archive_entry_stat(entry));
    std::string name = archive_entry_pathname(entry);
    if (name.size() > 1 && name.back() == '/') name.pop_back();  // libarchive marks directories
    entries[name] = {&stats.back(), data};
    const char* xattr_name;
    const void* value;
    size_t size;
    archive_entry_xattr_reset(entry);
    while (archive_entry_xattr_next(entry, &xattr_name, &value, &size) == ARCHIVE_OK)
      xattrs[name + ":" + xattr_name] = std::string(static_cast<const char*>(value), size);
  }
  archive_read_free(archive);
  return entries;
}

TEST_F(RenderTest, TarCarriesOwnersWhiteoutsAndOpaqueDirectories) {
  ASSERT_OK_AND_ASSIGN(RenderedLayer layer, build());
  std::string out = dir_ / "pc1.tar";
  ASSERT_EQ(output_format_for(out), OutputFormat::kTar);
  ASSERT_OK(write_layer(layer, out, OutputFormat::kTar, {}));
  std::vector<struct stat> stats;
  std::map<std::string, std::string> xattrs;
  auto entries = read_tar(out, stats, xattrs);
  ASSERT_TRUE(entries.count("etc/hosts"));
  EXPECT_EQ(entries["etc/hosts"].second, "127.0.0.1 localhost\n10.1.0.10 pc1.lab.test pc1\n");
  EXPECT_EQ(entries["etc/secret"].first->st_mode & 07777, 0600u);
  if (root()) EXPECT_EQ(entries["etc/secret"].first->st_uid, 1234u);
  EXPECT_TRUE(S_ISCHR(entries["etc/issue"].first->st_mode));
  EXPECT_EQ(entries["etc/issue"].first->st_rdev, 0u);
  EXPECT_EQ(xattrs["etc/skel:trusted.overlay.opaque"], "y");
  EXPECT_EQ(entries.count("etc/skel/.bashrc"), 0u);
}

TEST_F(RenderTest, ErofsImageHoldsTheRenderedTree) {
  if (!root()) GTEST_SKIP() << "an erofs layer with whiteouts needs root to build";
  ASSERT_OK_AND_ASSIGN(RenderedLayer layer, build());
  std::string out = dir_ / "pc1.erofs";
  ASSERT_OK(write_layer(layer, out, OutputFormat::kErofs, {}));
  EXPECT_TRUE(leftovers().empty());
  std::string extracted = dir_ / "extracted";
  ASSERT_EQ(testing::run("fsck.erofs --extract=" + extracted + " " + out + " >/dev/null 2>&1"), 0);
  EXPECT_EQ(read_file(extracted + "/etc/hostname"), "pc1\n");
  EXPECT_EQ(read_file(extracted + "/etc/skel/.profile"), "new\n");
  struct stat st;
  ASSERT_EQ(::lstat((extracted + "/etc/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, 1234u);
  ASSERT_EQ(::lstat((extracted + "/etc/issue").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(RenderTest, RenderHostLayerReadsTheInventory) {
  ASSERT_OK_AND_ASSIGN(Inventory inventory, Inventory::open(dir_ / "goldroot.db"));
  ASSERT_OK(inventory.add_network({"10.1.0.0/24", "10.1.0.1", {"10.1.0.2"}, "lab.test"}));
  ASSERT_OK(inventory.add_lab(Lab{.name = "lab1", .networks = {"10.1.0.0/24"}}));
  ASSERT_OK(inventory.add_host(
      Host{.name = "pc1", .macs = {"52:54:00:00:00:01"}, .ip = "10.1.0.10", .lab = "lab1"}));
  std::string out = dir_ / "pc1.tar";
  ASSERT_OK(render_host_layer_to(inventory, layers(), "pc1", out, OutputFormat::kTar, {}));
  std::vector<struct stat> stats;
  std::map<std::string, std::string> xattrs;
  auto entries = read_tar(out, stats, xattrs);
  EXPECT_EQ(entries["etc/resolv.conf"].second, "search lab.test\nnameserver 10.1.0.2\n");
  auto missing = render_host_layer(inventory, layers(), "pc2");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "there is no host pc2");
}

}  // namespace
}  // namespace goldroot
