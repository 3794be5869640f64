#include "store/tree.h"

#include "base/testing/testing.h"
#include "store/commit.h"

namespace goldroot {
namespace {

Entry make(std::string name, FileType type) {
  Entry e;
  e.name = std::move(name);
  e.type = type;
  e.mode = 04755;
  e.uid = 1000;
  e.gid = 100;
  e.mtime_sec = 1700000000;
  e.mtime_nsec = 123456789;
  return e;
}

TEST(TreeTest, SerializeRoundTripsEveryField) {
  Tree tree;
  Entry file = make("bin", FileType::kRegular);
  file.size = 42;
  file.digest = Sha256::of("content");
  file.xattrs = {{"security.capability", std::string("\x01\x00\x00\x02", 4)}, {"user.a", "b"}};
  Entry link = make("link", FileType::kSymlink);
  link.target = "../a b\nc";
  Entry device = make("null", FileType::kCharDevice);
  device.rdev = 0x103;
  tree.entries = {file, link, device};
  ASSERT_OK_AND_ASSIGN(Tree parsed, Tree::parse(tree.serialize()));
  ASSERT_EQ(parsed.entries.size(), 3u);
  EXPECT_EQ(parsed.entries[0], file);
  EXPECT_EQ(parsed.entries[1], link);
  EXPECT_EQ(parsed.entries[2], device);
  EXPECT_EQ(parsed.find("link")->target, "../a b\nc");
  EXPECT_EQ(parsed.find("missing"), nullptr);
}

TEST(TreeTest, ParseRejectsDamage) {
  Tree tree;
  tree.entries = {make("a", FileType::kRegular), make("b", FileType::kRegular)};
  std::string data = tree.serialize();
  EXPECT_FALSE(Tree::parse(data.substr(0, data.size() - 1)).ok());
  EXPECT_FALSE(Tree::parse(data + "x").ok());
  EXPECT_FALSE(Tree::parse("not a tree").ok());
  Tree unsorted;
  unsorted.entries = {make("b", FileType::kRegular), make("a", FileType::kRegular)};
  EXPECT_FALSE(Tree::parse(unsorted.serialize()).ok());
  Tree escaping;
  escaping.entries = {make("..", FileType::kDirectory)};
  EXPECT_FALSE(Tree::parse(escaping.serialize()).ok());
}

TEST(TreeTest, EscapedPathsRoundTrip) {
  std::string raw = std::string("a b\\c\n\x01\xff", 8);
  std::string escaped = escape_path(raw);
  EXPECT_EQ(escaped.find(' '), std::string::npos);
  EXPECT_EQ(escaped.find('\n'), std::string::npos);
  ASSERT_OK_AND_ASSIGN(std::string back, unescape_path(escaped));
  EXPECT_EQ(back, raw);
  EXPECT_FALSE(unescape_path("bad\\q").ok());
}

TEST(TreeTest, ModeString) {
  EXPECT_EQ(mode_string(FileType::kRegular, 04755), "-rwsr-xr-x");
  EXPECT_EQ(mode_string(FileType::kDirectory, 01777), "drwxrwxrwt");
}

TEST(CommitTest, RoundTrip) {
  Commit commit;
  commit.root = Sha256::of("root");
  commit.parents = {Sha256::of("p1"), Sha256::of("p2")};
  commit.created = 1790000000;
  commit.name = "lab";
  commit.message = "v2: vim and less\nsecond line";
  commit.size = 123;
  commit.entries = 7;
  commit.hardlinks = {{"usr/bin/a", "usr/bin/b c"}};
  ASSERT_OK_AND_ASSIGN(Commit parsed, Commit::parse(commit.serialize()));
  EXPECT_EQ(parsed.root, commit.root);
  EXPECT_EQ(parsed.parents, commit.parents);
  EXPECT_EQ(parsed.message, commit.message);
  EXPECT_EQ(parsed.hardlinks, commit.hardlinks);
  EXPECT_EQ(parsed.serialize(), commit.serialize());
  EXPECT_FALSE(Commit::parse("goldroot-commit 1\nsize 3\n").ok());  // no root
}

}  // namespace
}  // namespace goldroot
