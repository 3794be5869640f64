#include "verity/hash_tree.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

#include "base/testing/testing.h"
#include "sys/directory.h"

namespace goldroot {
namespace {

using testing::random_bytes;

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string hex_of(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : bytes) hex += {digits[c >> 4], digits[c & 15]};
  return hex;
}

TEST(VerityGeometryTest, LevelsFollowTheKernel) {
  // 4096-byte hash blocks hold 128 hashes.
  EXPECT_EQ(VerityGeometry(1, 4096).levels(), 0);
  EXPECT_EQ(VerityGeometry(2, 4096).levels(), 1);
  EXPECT_EQ(VerityGeometry(128, 4096).levels(), 1);
  EXPECT_EQ(VerityGeometry(129, 4096).levels(), 2);
  VerityGeometry three(128 * 128 + 1, 4096);
  ASSERT_EQ(three.levels(), 3);
  EXPECT_EQ(three.level_blocks(0), 129u);
  EXPECT_EQ(three.level_blocks(1), 2u);
  EXPECT_EQ(three.level_blocks(2), 1u);
  // The top level comes first.
  EXPECT_EQ(three.level_start(2), 0u);
  EXPECT_EQ(three.level_start(1), 1u);
  EXPECT_EQ(three.level_start(0), 3u);
  EXPECT_EQ(three.tree_blocks(), 132u);
  EXPECT_EQ(three.hash_offset(0, 129), (3 + 1) * 4096u + 1 * 32u);
}

// The tree and root hash goldroot writes are byte for byte the ones
// veritysetup (libcryptsetup) writes, for one, two and three levels.
TEST(VerityTreeTest, EqualsVeritysetup) {
  if (::access("/usr/sbin/veritysetup", X_OK) != 0)
    GTEST_SKIP() << "needs veritysetup (package cryptsetup-bin)";
  testing::TempDir dir;
  struct Case { size_t blocks; uint32_t hash_block; };
  for (Case c : {Case{1, 4096}, Case{7, 4096}, Case{300, 4096}, Case{1000, 512}}) {
    SCOPED_TRACE(std::to_string(c.blocks) + " blocks, hash block " + std::to_string(c.hash_block));
    std::string data_path = dir.path() + "/data", hash_path = dir.path() + "/hash";
    write_file(data_path, random_bytes(c.blocks * 4096, c.blocks));
    write_file(hash_path, "");
    std::string salt = random_bytes(32, 7);
    std::string command = "/usr/sbin/veritysetup format --no-superblock --hash=sha256 "
                          "--data-block-size=4096 --hash-block-size=" +
                          std::to_string(c.hash_block) + " --salt=" + hex_of(salt) + " " +
                          data_path + " " + hash_path + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char line[512];
    while (std::fgets(line, sizeof line, pipe)) output += line;
    ASSERT_EQ(::pclose(pipe), 0) << output;
    size_t at = output.find("Root hash:");
    ASSERT_NE(at, std::string::npos) << output;
    std::string root = output.substr(output.find_first_not_of(" \t", at + 10), 64);

    ASSERT_OK_AND_ASSIGN(BuiltTree built, build_verity_tree_of_file(data_path, 4096, c.hash_block, salt));
    EXPECT_EQ(built.root_hash.hex(), root);
    std::string theirs = read_file(hash_path);
    // veritysetup may round its file up; the tree is its first tree_size bytes.
    VerityGeometry geometry(c.blocks, c.hash_block);
    ASSERT_GE(theirs.size(), geometry.tree_size());
    EXPECT_TRUE(theirs.substr(0, geometry.tree_size()) == built.tree);
  }
}

TEST(VerityTreeTest, VerifiesTreeAndBlocks) {
  std::string data = random_bytes(300 * 4096, 3);
  std::string salt = "salt";
  auto read = [&](uint64_t index, char* buffer) {
    std::memcpy(buffer, data.data() + index * 4096, 4096);
    return ok_status();
  };
  ASSERT_OK_AND_ASSIGN(BuiltTree built, build_verity_tree(300, 4096, 4096, salt, read));
  VerityParams params{.data_blocks = 300, .salt = salt, .root_hash = built.root_hash};
  EXPECT_OK(verify_verity_tree(built.tree, params));
  VerityGeometry geometry(300, 4096);
  for (uint64_t index : {0u, 127u, 128u, 299u})
    EXPECT_TRUE(verity_block_matches(built.tree, params, geometry, index, data.data() + index * 4096));
  std::string flipped = data.substr(5 * 4096, 4096);
  flipped[100] ^= 1;
  EXPECT_FALSE(verity_block_matches(built.tree, params, geometry, 5, flipped.data()));
  EXPECT_FALSE(verity_block_matches(built.tree, params, geometry, 6, data.data() + 5 * 4096));
  EXPECT_FALSE(verity_block_matches(built.tree, params, geometry, 300, data.data()));

  // Any byte of the tree, padding included, is covered by the root hash.
  for (size_t offset : {size_t{0}, size_t{4095}, size_t{4096 + 17}, built.tree.size() - 1}) {
    std::string bad = built.tree;
    bad[offset] ^= 0x40;
    Status status = verify_verity_tree(bad, params);
    EXPECT_FALSE(status.ok()) << "byte " << offset;
  }
  EXPECT_FALSE(verify_verity_tree(built.tree.substr(4096), params).ok());
  VerityParams other = params;
  other.salt = "pepper";
  EXPECT_FALSE(verify_verity_tree(built.tree, other).ok());
}

TEST(VerityTreeTest, RefusesAFileOfPartBlocks) {
  testing::TempDir dir;
  write_file(dir.path() + "/odd", std::string(5000, 'x'));
  auto built = build_verity_tree_of_file(dir.path() + "/odd", 4096, 4096, "");
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.error().message.find("not a whole number of 4096-byte blocks"), std::string::npos);
}

}  // namespace
}  // namespace goldroot
