// An erofs layout kept put against the kernel: v1 is written fresh, v2
// (additions, deletions, renames, hardlinks, a file that grows past its
// blocks) on v1's layout, v3 on v2's. Each must pass fsck.erofs, mount,
// and equal a checkout of its commit; unchanged files must keep their
// blocks and inodes, and a client holding v1 must fetch far less of v2
// than of a fresh v2. A damaged base layout falls back to a fresh one.
// Needs root (loop mounts) and erofs in the kernel.
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "base/testing/testing.h"
#include "image/block_diff.h"
#include "image/checkout.h"
#include "image/erofs_writer.h"
#include "image/export.h"
#include "image/import.h"

namespace goldroot {
namespace {

using erofs::ErofsLayout;
using erofs::LayoutRecord;
using testing::random_bytes;
using testing::run;
using testing::run_output;
using testing::TempDir;
using testing::write_file;

std::string text(size_t length, int seed) {
  std::string out;
  for (int i = 0; out.size() < length; ++i)
    out += "line " + std::to_string(i * seed) + " of file " + std::to_string(seed) + "\n";
  out.resize(length);
  return out;
}

class ErofsLayoutRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (loop mounts)";
    ASSERT_OK(store_.create());
  }

  void build_v1(const std::string& src) {
    for (int i = 0; i < 120; ++i) {
      std::string dir = src + "/usr/lib/pkg" + std::to_string(i % 12);
      // Compressible, random (stored flat) and small (inline) files.
      write_file(dir + "/text" + std::to_string(i), text(3000 + 977 * i, i));
      write_file(dir + "/blob" + std::to_string(i), random_bytes(1000 + 613 * i, i));
      write_file(dir + "/small" + std::to_string(i), "small " + std::to_string(i) + "\n");
    }
    for (int i = 0; i < 400; ++i)
      write_file(src + "/usr/share/many/" + std::string(60, 'm') + std::to_string(i),
                 std::to_string(i));
    write_file(src + "/grows", text(9000, 5));
    write_file(src + "/etc/config", "v1\n");
    write_file(src + "/usr/bin/tool", text(50000, 7));
    ASSERT_EQ(::link((src + "/usr/bin/tool").c_str(), (src + "/usr/bin/tool-link").c_str()), 0);
    ASSERT_EQ(::symlink("/usr/bin/tool", (src + "/tool").c_str()), 0);
    ASSERT_EQ(::symlink(std::string(3000, 'p').c_str(), (src + "/long-link").c_str()), 0);
    ASSERT_EQ(run("setfattr -n user.note -v v1 " + src + "/etc/config"), 0);
    write_file(src + "/doomed/a", text(20000, 11));
    write_file(src + "/doomed/b", random_bytes(30000, 12));
  }

  // v1 plus what an update does: a package added, one removed, files
  // renamed, hardlinks added and dropped, a file that outgrows its blocks,
  // a changed file and a changed xattr.
  void make_v2(const std::string& src) {
    ASSERT_EQ(run("rm -rf " + src + "/doomed " + src + "/usr/lib/pkg3"), 0);
    for (int i = 0; i < 30; ++i)
      write_file(src + "/usr/lib/newpkg/file" + std::to_string(i), text(2000 + 1500 * i, 100 + i));
    write_file(src + "/usr/share/many/added", "added");
    ASSERT_EQ(run("mv " + src + "/usr/lib/pkg5 " + src + "/usr/lib/pkg5-renamed"), 0);
    ASSERT_EQ(run("mv " + src + "/usr/lib/pkg7/text7 " + src + "/usr/lib/pkg7/text7.moved"), 0);
    ASSERT_EQ(::link((src + "/usr/lib/pkg1/blob1").c_str(), (src + "/blob1-link").c_str()), 0);
    ASSERT_EQ(::unlink((src + "/usr/bin/tool-link").c_str()), 0);
    write_file(src + "/grows", text(9000, 5) + random_bytes(200000, 6));
    write_file(src + "/etc/config", "v2, longer than before\n");
    ASSERT_EQ(run("setfattr -n user.note -v v2-with-more-bytes " + src + "/etc/config"), 0);
    write_file(src + "/usr/lib/pkg2/text2", text(3000 + 977 * 2, 2) + "patched");
  }

  Digest import(const std::string& src) {
    auto result = import_directory(store_, src, {"img", ""});
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
    return result.ok() ? result->commit : Digest{};
  }

  // fsck.erofs, a loop mount, and every path's metadata and bytes against
  // a checkout of `commit`.
  void expect_image_equals(const std::string& image, const Digest& commit) {
    EXPECT_EQ(run("fsck.erofs " + image + " >/dev/null"), 0) << image;
    std::string expected_dir = shm_ / ("checkout-" + commit.hex());
    if (::access(expected_dir.c_str(), F_OK) != 0) ASSERT_OK(checkout(store_, commit, expected_dir));
    std::string mount_dir = temp_ / "mnt";
    ::mkdir(mount_dir.c_str(), 0755);
    ASSERT_EQ(run("mount -t erofs -o loop,ro " + image + " " + mount_dir), 0) << image;
    std::string listing =
        "find . -printf '%p %y %m %U %G %T@ %l %n\\n' | sort; "
        "find . -print0 | sort -z | xargs -0 getfattr -h -d -m - -e hex 2>/dev/null; "
        "find . -type f -print0 | sort -z | xargs -0 sha256sum";
    std::string expected = run_output("cd " + expected_dir + " && (" + listing + ")");
    std::string actual = run_output("cd " + mount_dir + " && (" + listing + ")");
    EXPECT_GT(expected.size(), 1000u);
    EXPECT_EQ(actual, expected) << image;
    // Hardlinks stay one inode.
    std::string links = "find . -type f -links +1 -printf '%i %p\\n' | sort -n | awk '{print $1}' "
                        "| uniq -c | awk '{print $1}' | sort | tr '\\n' ' '";
    EXPECT_EQ(run_output("cd " + mount_dir + " && " + links),
              run_output("cd " + expected_dir + " && " + links));
    run("umount " + mount_dir);
  }

  ErofsStats write(const Digest& commit, const std::string& image, const ErofsLayout* base,
                   ErofsOptions options = {}) {
    options.base = base;
    auto stats = write_erofs(store_, commit, image, options);
    EXPECT_TRUE(stats.ok()) << (stats.ok() ? "" : stats.error().message);
    return stats.ok() ? std::move(stats).value() : ErofsStats{};
  }

  TempDir temp_;
  TempDir shm_{"/dev/shm"};
  PosixEnv env_;
  Store store_{&env_, temp_ / "store"};
};

std::map<std::string, const LayoutRecord*> by_path(const ErofsLayout& layout) {
  std::map<std::string, const LayoutRecord*> out;
  for (const LayoutRecord& record : layout.records) out[record.path] = &record;
  return out;
}

TEST_F(ErofsLayoutRootTest, AnUpdateOnABaseKeepsUnchangedFilesPutAndEqualsItsCommit) {
  std::string src = shm_ / "src";
  build_v1(src);
  Digest v1 = import(src);
  make_v2(src);
  Digest v2 = import(src);
  // The streaming path, too, keeps a large unchanged file put.
  ErofsOptions options{.stream_threshold = 40000};

  ErofsStats first = write(v1, temp_ / "v1.erofs", nullptr, options);
  expect_image_equals(temp_ / "v1.erofs", v1);
  ErofsStats kept = write(v2, temp_ / "v2.erofs", &first.layout, options);
  EXPECT_TRUE(kept.used_base);
  EXPECT_EQ(kept.base_note, "");
  expect_image_equals(temp_ / "v2.erofs", v2);
  ErofsStats fresh = write(v2, temp_ / "v2-fresh.erofs", nullptr, options);
  expect_image_equals(temp_ / "v2-fresh.erofs", v2);

  // Unchanged files keep their blocks and their nids.
  auto before = by_path(first.layout);
  size_t unchanged = 0;
  for (const LayoutRecord& record : kept.layout.records) {
    auto old = before.find(record.path);
    if (record.type != FileType::kRegular || old == before.end() ||
        old->second->digest != record.digest)
      continue;
    ++unchanged;
    EXPECT_EQ(record.blocks, old->second->blocks) << record.path;
    EXPECT_EQ(record.meta_offset, old->second->meta_offset) << record.path;
    EXPECT_EQ(record.ino, old->second->ino) << record.path;
  }
  EXPECT_GT(unchanged, 300u);
  // The renamed file found its old bytes by content.
  auto after = by_path(kept.layout);
  EXPECT_EQ(after.at("usr/lib/pkg7/text7.moved")->blocks, before.at("usr/lib/pkg7/text7")->blocks);
  // The file that grew moved; it no longer fits its old blocks.
  EXPECT_GT(after.at("grows")->blocks.count, before.at("grows")->blocks.count);

  // What a client holding v1 fetches: far less than for a fresh v2.
  ASSERT_OK_AND_ASSIGN(BlockDiff on_base, diff_blocks(temp_ / "v1.erofs", temp_ / "v2.erofs"));
  ASSERT_OK_AND_ASSIGN(BlockDiff afresh, diff_blocks(temp_ / "v1.erofs", temp_ / "v2-fresh.erofs"));
  std::printf("v1->v2: %llu of %llu blocks differ on the base, %llu of %llu fresh "
              "(in place: %llu vs %llu)\n",
              static_cast<unsigned long long>(on_base.missing),
              static_cast<unsigned long long>(on_base.blocks),
              static_cast<unsigned long long>(afresh.missing),
              static_cast<unsigned long long>(afresh.blocks),
              static_cast<unsigned long long>(on_base.changed_in_place),
              static_cast<unsigned long long>(afresh.changed_in_place));
  EXPECT_LE(on_base.missing, afresh.missing);
  EXPECT_LT(on_base.changed_in_place, afresh.changed_in_place / 2);
  EXPECT_LT(on_base.missing, on_base.blocks / 4);

  // A third version on v2's layout (holes, moved inodes, appended metadata).
  ASSERT_EQ(run("rm -rf " + src + "/usr/lib/pkg8 " + src + "/grows"), 0);
  write_file(src + "/usr/lib/pkg9/new", text(70000, 9));
  write_file(src + "/usr/share/many/added2", "again");
  Digest v3 = import(src);
  ErofsStats third = write(v3, temp_ / "v3.erofs", &kept.layout, options);
  EXPECT_TRUE(third.used_base);
  expect_image_equals(temp_ / "v3.erofs", v3);
  // The same commit on the same base gives the same bytes.
  write(v3, temp_ / "v3-again.erofs", &kept.layout, {.threads = 1, .stream_threshold = 40000});
  EXPECT_EQ(run("cmp " + temp_ / "v3.erofs" + " " + temp_ / "v3-again.erofs"), 0);
}

// A package adds a directory to usr/share/doc, whose entries are inline
// and outgrow their slots: the directory keeps its nid (its entries go out
// to a block of their own), so no subdirectory's ".." entry changes, and
// the subdirectories' inodes keep their bytes.
TEST_F(ErofsLayoutRootTest, ADirectoryThatOutgrowsItsInlineEntriesKeepsItsSubdirectoriesBytes) {
  std::string src = shm_ / "src";
  for (int i = 0; i < 12; ++i)
    write_file(src + "/usr/share/doc/pkg" + std::to_string(i) + "/copyright", text(900 + i, i));
  Digest v1 = import(src);
  write_file(src + "/usr/share/doc/" + std::string(120, 'n') + "/copyright", text(950, 50));
  Digest v2 = import(src);

  ErofsStats first = write(v1, temp_ / "v1.erofs", nullptr);
  ErofsStats kept = write(v2, temp_ / "v2.erofs", &first.layout);
  EXPECT_TRUE(kept.used_base);
  expect_image_equals(temp_ / "v2.erofs", v2);
  auto before = by_path(first.layout);
  auto after = by_path(kept.layout);
  const LayoutRecord& doc_before = *before.at("usr/share/doc");
  const LayoutRecord& doc_after = *after.at("usr/share/doc");
  ASSERT_EQ(doc_before.blocks.count, 0u);  // v1's entries were inline
  EXPECT_EQ(doc_after.meta_offset, doc_before.meta_offset);
  EXPECT_EQ(doc_after.blocks.count, 1u);
  std::string v1_image = testing::read_file(temp_ / "v1.erofs");
  std::string v2_image = testing::read_file(temp_ / "v2.erofs");
  auto inode_bytes = [](const std::string& image, const ErofsLayout& layout,
                        const LayoutRecord& record) {
    return image.substr(uint64_t{layout.meta_blkaddr} * 4096 + record.meta_offset, record.meta_bytes);
  };
  for (int i = 0; i < 12; ++i) {
    const std::string path = "usr/share/doc/pkg" + std::to_string(i);
    EXPECT_EQ(inode_bytes(v2_image, kept.layout, *after.at(path)),
              inode_bytes(v1_image, first.layout, *before.at(path)))
        << path;
  }
}

TEST_F(ErofsLayoutRootTest, ABaseWrittenOtherwiseGivesAFreshLayoutAndSaysWhy) {
  std::string src = shm_ / "src";
  build_v1(src);
  Digest v1 = import(src);
  make_v2(src);
  Digest v2 = import(src);
  ErofsStats first = write(v1, temp_ / "v1.erofs", nullptr);
  ErofsStats flat = write(v2, temp_ / "v2.erofs", &first.layout,
                          {.compression = ErofsCompression::kNone});
  EXPECT_FALSE(flat.used_base);
  EXPECT_EQ(flat.base_note, "it was encoded as lz4hc:9, this image as none");
  expect_image_equals(temp_ / "v2.erofs", v2);
}

TEST_F(ErofsLayoutRootTest, ExportKeepsTheLayoutOfItsAncestorAndFallsBackOnADamagedOne) {
  std::string src = shm_ / "src";
  build_v1(src);
  Digest v1 = import(src);
  make_v2(src);
  Digest v2 = import(src);
  std::string exports = temp_ / "exports";
  ASSERT_OK_AND_ASSIGN(Artifact first,
                       export_commit(store_, exports, temp_.path(), v1, ExportFormat::kErofs));
  ASSERT_OK_AND_ASSIGN(std::string sidecar, env_.read_file(first.layout_path()));
  ASSERT_OK(ErofsLayout::parse(sidecar));
  ASSERT_OK_AND_ASSIGN(std::optional<Digest> base, find_base_export(store_, exports, v2));
  ASSERT_TRUE(base.has_value());
  EXPECT_EQ(*base, v1);

  ASSERT_OK_AND_ASSIGN(Artifact second, export_commit(store_, exports, temp_.path(), v2,
                                                      ExportFormat::kErofs,
                                                      ErofsBuilder::kNative, base));
  EXPECT_EQ(second.base_note, "");
  ASSERT_TRUE(second.base_diff.has_value());
  EXPECT_LT(second.base_diff->missing, second.base_diff->blocks / 4);
  expect_image_equals(second.path, v2);

  // v2's export again from scratch, on a damaged v1 layout.
  ASSERT_EQ(run("rm " + second.path + "*"), 0);
  sidecar[sidecar.size() / 2] ^= 1;
  write_file(first.layout_path(), sidecar);
  ASSERT_OK_AND_ASSIGN(Artifact fallback, export_commit(store_, exports, temp_.path(), v2,
                                                        ExportFormat::kErofs,
                                                        ErofsBuilder::kNative, base));
  EXPECT_EQ(fallback.base_note, "not keeping the layout of the base export " +
                                    v1.hex().substr(0, 12) +
                                    ": the erofs layout is damaged: its checksum does not match; "
                                    "the image has a fresh layout");
  expect_image_equals(fallback.path, v2);
  ASSERT_OK(ErofsLayout::parse(env_.read_file(fallback.layout_path()).value()));
}

}  // namespace
}  // namespace goldroot
