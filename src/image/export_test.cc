// `image export` of erofs writes the image's dm-verity tree beside it: a
// tree that verify_verity_tree (and veritysetup, where installed) accepts
// for the image, with one constant salt for every image (so exports are
// reproducible, and identical blocks of two images have identical leaf
// hashes: the seeding index), recorded with the artifact and carried by its
// manifest. An export recorded before trees gets its tree, and only its
// tree, when it is exported again; one recorded with the older per-image
// salt keeps it.
#include "image/export.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "base/testing/testing.h"
#include "image/import.h"
#include "verity/hash_tree.h"

namespace goldroot {
namespace {

using testing::TempDir;
using testing::write_file;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tree = temp_ / "tree";
    for (int i = 0; i < 60; ++i)
      write_file(tree + "/usr/share/d" + std::to_string(i % 7) + "/f" + std::to_string(i),
                 std::string(5000 + i * 1231, static_cast<char>('a' + i % 26)));
    write_file(tree + "/boot/vmlinuz-6.1.0-1-amd64", "kernel");
    write_file(tree + "/boot/initrd.img-6.1.0-1-amd64", "initrd");
    store_ = std::make_unique<Store>(&posix_, temp_ / "store");
    ASSERT_OK(store_->create());
    ASSERT_OK_AND_ASSIGN(ImportResult imported, import_directory(*store_, tree, {"img", "v1"}));
    commit_ = imported.commit;
  }

  Result<Artifact> export_as(ExportFormat format, const std::string& exports = "exports") {
    return export_commit(*store_, temp_ / exports, temp_.path(), commit_, format);
  }

  TempDir temp_{"/dev/shm"};
  PosixEnv posix_;
  std::unique_ptr<Store> store_;
  Digest commit_;
};

TEST_F(ExportTest, ErofsExportWritesAVerityTreeThatChecksTheImage) {
  ASSERT_OK_AND_ASSIGN(Artifact artifact, export_as(ExportFormat::kErofs));
  ASSERT_TRUE(artifact.verity);
  const VerityParams& params = *artifact.verity;
  EXPECT_EQ(artifact.tree_path(), artifact.path + ".verity");
  EXPECT_EQ(params.data_block_size, 4096u);
  EXPECT_EQ(params.hash_block_size, 4096u);
  EXPECT_EQ(params.data_size(), artifact.size);
  EXPECT_EQ(params.salt, verity_salt());
  EXPECT_EQ(params.salt.size(), 32u);

  std::string tree = read_all(artifact.tree_path());
  EXPECT_EQ(tree.size(), artifact.tree_size);
  EXPECT_EQ(tree.size(), VerityGeometry(params.data_blocks, 4096).tree_size());
  EXPECT_EQ(Sha256::of(tree), artifact.tree_sha256);
  EXPECT_OK(verify_verity_tree(tree, params));
  // Every block of the image is what the tree says.
  std::string image = read_all(artifact.path);
  VerityGeometry geometry(params.data_blocks, params.hash_block_size);
  for (uint64_t block = 0; block < params.data_blocks; ++block)
    ASSERT_TRUE(verity_block_matches(tree, params, geometry, block, image.data() + block * 4096))
        << "block " << block;

  // The record keeps it, and the manifest carries it under the tree's URL.
  ASSERT_OK_AND_ASSIGN(auto cached, cached_artifact(temp_ / "exports", commit_, ExportFormat::kErofs));
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->verity, artifact.verity);
  EXPECT_EQ(cached->tree_sha256, artifact.tree_sha256);
  EXPECT_EQ(cached->tree_size, artifact.tree_size);
  ASSERT_OK_AND_ASSIGN(BootManifest manifest, boot_manifest_of(artifact));
  ASSERT_TRUE(manifest.image.verity);
  EXPECT_EQ(manifest.image.verity->params, params);
  EXPECT_EQ(manifest.image.verity->tree_size, artifact.tree_size);
  EXPECT_EQ(manifest.image.verity->tree_url, "/images/" + artifact.sha256.hex() + ".verity");
}

TEST_F(ExportTest, VeritysetupAcceptsTheTree) {
  if (::access("/usr/sbin/veritysetup", X_OK) != 0)
    GTEST_SKIP() << "needs veritysetup (package cryptsetup-bin)";
  ASSERT_OK_AND_ASSIGN(Artifact artifact, export_as(ExportFormat::kErofs));
  // veritysetup verify checks in user space: no device-mapper needed.
  auto verify = [&](const std::string& data) {
    std::string command = "/usr/sbin/veritysetup verify --no-superblock --hash=sha256 "
                          "--data-block-size=4096 --hash-block-size=4096 --salt=" +
                          hex_encode(artifact.verity->salt) + " " + data + " " +
                          artifact.tree_path() + " " + artifact.verity->root_hash.hex() +
                          " >/dev/null 2>&1";
    return std::system(command.c_str());
  };
  EXPECT_EQ(verify(artifact.path), 0);
  std::string flipped = temp_ / "flipped";
  std::string image = read_all(artifact.path);
  image[image.size() / 2] ^= 1;
  write_file(flipped, image);
  EXPECT_NE(verify(flipped), 0);
}

TEST_F(ExportTest, TheSameImageGetsTheSameTree) {
  ASSERT_OK_AND_ASSIGN(Artifact first, export_as(ExportFormat::kErofs, "one"));
  ASSERT_OK_AND_ASSIGN(Artifact second, export_as(ExportFormat::kErofs, "two"));
  ASSERT_EQ(first.sha256, second.sha256);
  EXPECT_EQ(first.verity, second.verity);
  EXPECT_EQ(first.tree_sha256, second.tree_sha256);
}

TEST_F(ExportTest, AnOlderRecordGetsItsTreeWithoutANewImage) {
  ASSERT_OK_AND_ASSIGN(Artifact artifact, export_as(ExportFormat::kErofs));
  // What an export made before verity trees left: no tree, no "verity".
  nlohmann::json record = artifact.to_json();
  record.erase("verity");
  write_file(artifact.path + ".json", record.dump(2));
  ASSERT_EQ(::unlink(artifact.tree_path().c_str()), 0);
  ASSERT_OK_AND_ASSIGN(auto older, cached_artifact(temp_ / "exports", commit_, ExportFormat::kErofs));
  ASSERT_TRUE(older);
  EXPECT_FALSE(older->verity);
  ASSERT_OK_AND_ASSIGN(BootManifest manifest, boot_manifest_of(*older));
  EXPECT_FALSE(manifest.image.verity);

  struct stat before, after;
  ASSERT_EQ(::stat(artifact.path.c_str(), &before), 0);
  ASSERT_OK_AND_ASSIGN(Artifact again, export_as(ExportFormat::kErofs));
  ASSERT_EQ(::stat(artifact.path.c_str(), &after), 0);
  EXPECT_TRUE(again.reused);
  EXPECT_EQ(after.st_ino, before.st_ino) << "the image was rebuilt";
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_EQ(again.verity, artifact.verity);
  EXPECT_EQ(again.tree_sha256, artifact.tree_sha256);
  ASSERT_OK_AND_ASSIGN(auto cached, cached_artifact(temp_ / "exports", commit_, ExportFormat::kErofs));
  EXPECT_EQ(cached->verity, artifact.verity);

  // A tree removed by hand is written again too.
  ASSERT_EQ(::unlink(artifact.tree_path().c_str()), 0);
  ASSERT_OK_AND_ASSIGN(Artifact third, export_as(ExportFormat::kErofs));
  EXPECT_EQ(Sha256::of(read_all(third.tree_path())), artifact.tree_sha256);
}

TEST_F(ExportTest, OneSaltForEveryImageAndOlderRecordsKeepTheirs) {
  ASSERT_OK_AND_ASSIGN(Artifact artifact, export_as(ExportFormat::kErofs));
  EXPECT_EQ(hex_encode(artifact.verity->salt),
            Sha256::of(std::string_view("goldroot-verity-salt\n")).hex());
  // A record written with the per-image salt of before (and its tree): the
  // record, the manifest and a later export keep that salt.
  Sha256 old_salt_hash;
  old_salt_hash.update("goldroot-verity-salt\n");
  old_salt_hash.update(artifact.sha256.bytes.data(), artifact.sha256.bytes.size());
  Digest old_salt_digest = old_salt_hash.finish();
  std::string old_salt(reinterpret_cast<const char*>(old_salt_digest.bytes.data()), 32);
  ASSERT_OK_AND_ASSIGN(BuiltTree built, build_verity_tree_of_file(artifact.path, 4096, 4096, old_salt));
  write_file(artifact.tree_path(), built.tree);
  nlohmann::json record = artifact.to_json();
  record["verity"]["salt"] = hex_encode(old_salt);
  record["verity"]["root_hash"] = built.root_hash.hex();
  record["verity"]["tree_sha256"] = Sha256::of(built.tree).hex();
  write_file(artifact.path + ".json", record.dump(2));
  ASSERT_OK_AND_ASSIGN(Artifact again, export_as(ExportFormat::kErofs));
  EXPECT_TRUE(again.reused);
  ASSERT_TRUE(again.verity);
  EXPECT_EQ(again.verity->salt, old_salt);
  EXPECT_EQ(again.verity->root_hash, built.root_hash);
  ASSERT_OK_AND_ASSIGN(BootManifest manifest, boot_manifest_of(again));
  EXPECT_EQ(manifest.image.verity->params.salt, old_salt);
}

TEST_F(ExportTest, TarAndSquashfsExportsHaveNoTree) {
  ASSERT_OK_AND_ASSIGN(Artifact tar, export_as(ExportFormat::kTar));
  EXPECT_FALSE(tar.verity);
  EXPECT_NE(::access(tar.tree_path().c_str(), F_OK), 0);
  ASSERT_OK_AND_ASSIGN(BootManifest manifest, boot_manifest_of(tar));
  EXPECT_FALSE(manifest.image.verity);
  ASSERT_OK_AND_ASSIGN(auto cached, cached_artifact(temp_ / "exports", commit_, ExportFormat::kTar));
  EXPECT_FALSE(cached->verity);
}

TEST_F(ExportTest, ARecordWithBadVerityIsNotTrusted) {
  ASSERT_OK_AND_ASSIGN(Artifact artifact, export_as(ExportFormat::kErofs));
  nlohmann::json record = artifact.to_json();
  record["verity"]["data_blocks"] = artifact.verity->data_blocks + 1;
  EXPECT_FALSE(Artifact::from_json(record).ok());
  record = artifact.to_json();
  record["verity"]["salt"] = "xyz";
  EXPECT_FALSE(Artifact::from_json(record).ok());
}

}  // namespace
}  // namespace goldroot
