// Import, checkout, diff, resolve, fsck and gc on real temporary trees.
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>

#include "base/testing/testing.h"
#include "image/checkout.h"
#include "image/diff.h"
#include "image/import.h"
#include "image/verify.h"

namespace goldroot {
namespace {

using testing::read_file;
using testing::run;
using testing::TempDir;
using testing::write_file;

class ImageTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(store_.create()); }

  Digest import(const std::string& dir, const std::string& name, ImportStats* stats = nullptr) {
    auto result = import_directory(store_, dir, {name, ""});
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
    if (!result.ok()) return {};
    if (stats) *stats = result->stats;
    return result->commit;
  }

  TempDir temp_;
  PosixEnv env_;
  Store store_{&env_, temp_ / "store"};
};

TEST_F(ImageTest, CheckoutReproducesTheTree) {
  std::string src = temp_ / "src";
  write_file(src + "/etc/fstab", "proc /proc proc defaults 0 0\n");
  write_file(src + "/usr/bin/tool", std::string(300000, 'x'));
  write_file(src + "/empty", "");
  ASSERT_EQ(::mkdir((src + "/var").c_str(), 0750), 0);
  ASSERT_EQ(::symlink("/etc/fstab", (src + "/abs").c_str()), 0);
  ASSERT_EQ(::symlink("missing", (src + "/dangling").c_str()), 0);
  ASSERT_EQ(::link((src + "/usr/bin/tool").c_str(), (src + "/usr/bin/tool2").c_str()), 0);
  ASSERT_EQ(::chmod((src + "/usr/bin/tool").c_str(), 04711), 0);
  ASSERT_EQ(run("touch -d '2020-02-02 02:02:02.5' " + src + "/etc " + src), 0);
  Digest commit = import(src, "base");
  ASSERT_OK_AND_ASSIGN(CheckoutStats stats, checkout(store_, commit, temp_ / "out"));
  EXPECT_EQ(stats.entries, 10u);
  EXPECT_EQ(run("rsync -aHAXnci --numeric-ids " + src + "/ " + temp_ / "out/" +
                " > " + temp_ / "rsync.txt"), 0);
  EXPECT_EQ(read_file(temp_ / "rsync.txt"), "");
  struct stat a, b;
  ASSERT_EQ(::stat((temp_ / "out/usr/bin/tool").c_str(), &a), 0);
  ASSERT_EQ(::stat((temp_ / "out/usr/bin/tool2").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mode & 07777, 04711u);
}

// A real root filesystem has thousands of directories; the walk's threads
// then grow the directory list while others read it. Run under
// ThreadSanitizer in CI (scripts/test.sh), this caught a race the small trees
// above never showed.
TEST_F(ImageTest, ImportsAWideDeepTreeExactly) {
  std::string src = temp_ / "wide";
  for (int top = 0; top < 30; ++top) {
    for (int middle = 0; middle < 25; ++middle) {
      std::string dir = src + "/d" + std::to_string(top) + "/m" + std::to_string(middle);
      for (int depth = 0; depth < 4; ++depth) dir += "/l" + std::to_string(depth);
      write_file(dir + "/f", std::to_string(top * 100 + middle));
    }
  }
  ImportStats stats;
  Digest commit = import(src, "wide", &stats);
  EXPECT_EQ(stats.entries, 30u * (1 + 25 * (1 + 4 + 1)));  // 4,530 entries, 3,780 dirs
  ASSERT_OK(checkout(store_, commit, temp_ / "out"));
  EXPECT_EQ(run("rsync -aHAXnci --numeric-ids " + src + "/ " + temp_ / "out/" + " > " +
                temp_ / "rsync.txt"), 0);
  EXPECT_EQ(read_file(temp_ / "rsync.txt"), "");
}

TEST_F(ImageTest, CheckoutRefusesANonEmptyTarget) {
  std::string src = temp_ / "src";
  write_file(src + "/a", "a");
  Digest commit = import(src, "base");
  write_file(temp_ / "out/keep", "mine");
  auto result = checkout(store_, commit, temp_ / "out");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(read_file(temp_ / "out/keep"), "mine");
}

TEST_F(ImageTest, IdenticalContentIsStoredOnce) {
  std::string src = temp_ / "src";
  write_file(src + "/a", std::string(100000, 'a'));
  write_file(src + "/copy", std::string(100000, 'a'));
  std::string count_files =
      "test $(find " + temp_ / "store/objects" + " -name '*.file' | wc -l) -eq 1";
  import(src, "one");
  EXPECT_EQ(run(count_files), 0);
  ImportStats second;
  import(src, "two", &second);  // a new image of the same tree: one new commit, nothing else
  EXPECT_EQ(second.objects_written, 1u);
  EXPECT_EQ(run(count_files), 0);
}

TEST_F(ImageTest, StatCacheSkipsUnchangedFilesAndNeverMissesAChange) {
  std::string src = temp_ / "src";
  for (int i = 0; i < 20; ++i) write_file(src + "/f" + std::to_string(i), "v1 " + std::to_string(i));
  // Files changed within two seconds of an import are not trusted next time
  // ("racily clean"); ctime cannot be set back, so wait that out.
  ASSERT_EQ(run("touch -d '2 hours ago' " + src + "/* && sleep 2.1"), 0);
  ImportStats stats;
  Digest v1 = import(src, "img", &stats);
  EXPECT_EQ(stats.files_hashed, 20u);
  import(src, "img", &stats);
  EXPECT_EQ(stats.files_hashed, 0u);
  EXPECT_EQ(stats.files_cached, 20u);

  // Same size, and the mtime put back: only ctime betrays the change.
  ASSERT_EQ(run("printf 'V1 3' > " + src + "/f3 && touch -d '2 hours ago' " + src + "/f3"), 0);
  ASSERT_EQ(run("sleep 2.1"), 0);
  Digest v3 = import(src, "img", &stats);
  EXPECT_EQ(stats.files_hashed, 1u);
  std::vector<std::string> changed;
  ASSERT_OK(diff_commits(store_, v1, v3, [&](const TreeChange& c) { changed.push_back(c.path); }));
  EXPECT_EQ(changed, std::vector<std::string>{"/f3"});

  // A damaged cache is ignored: everything is hashed again.
  ASSERT_EQ(run("for f in " + temp_ / "store/cache/stat-*" + "; do printf x >> $f; done"), 0);
  import(src, "img", &stats);
  EXPECT_EQ(stats.files_hashed, 20u);
}

TEST_F(ImageTest, StatCacheIsNotTrustedAfterGcRemovedItsObjects) {
  std::string src = temp_ / "src";
  write_file(src + "/a", "content that gc will remove");
  ASSERT_EQ(run("touch -d '2 hours ago' " + src + "/a && sleep 2.1"), 0);
  import(src, "img");
  ASSERT_OK(store_.refs().remove(RefKind::kImage, "img"));
  ASSERT_OK(gc(store_));
  EXPECT_FALSE(store_.objects().has(ObjectType::kFile, Sha256::of("content that gc will remove")));
  ImportStats stats;
  Digest again = import(src, "img", &stats);
  EXPECT_EQ(stats.files_hashed, 1u);
  ASSERT_OK_AND_ASSIGN(FsckReport report, fsck(store_));
  EXPECT_TRUE(report.problems.empty());
  ASSERT_OK(checkout(store_, again, temp_ / "out"));
  EXPECT_EQ(read_file(temp_ / "out/a"), "content that gc will remove");
}

TEST_F(ImageTest, DiffClassifiesChanges) {
  std::string src = temp_ / "src";
  write_file(src + "/keep", "k");
  write_file(src + "/edit", "1");
  write_file(src + "/chmod", "c");
  write_file(src + "/gone/inner", "i");
  write_file(src + "/swap", "file");
  ASSERT_EQ(run("touch -d '1 hour ago' " + src + "/*"), 0);
  Digest a = import(src, "img");
  write_file(src + "/edit", "2");
  ASSERT_EQ(run("touch -d '1 hour ago' " + src + "/edit"), 0);
  ASSERT_EQ(::chmod((src + "/chmod").c_str(), 0600), 0);
  ASSERT_EQ(run("rm -r " + src + "/gone " + src + "/swap && mkdir " + src + "/swap"), 0);
  write_file(src + "/new", "n");
  ASSERT_EQ(run("touch -d '1 hour ago' " + src + " " + src + "/new " + src + "/swap"), 0);
  Digest b = import(src, "img");
  std::map<std::string, std::string> seen;
  ASSERT_OK(diff_commits(store_, a, b, [&](const TreeChange& c) {
    seen[c.path] = change_kind_name(c.kind);
  }));
  std::map<std::string, std::string> expected = {
      {"/", "metadata"}, {"/chmod", "metadata"}, {"/edit", "modified"}, {"/gone", "deleted"},
      {"/gone/inner", "deleted"}, {"/new", "added"}, {"/swap", "modified"}};
  EXPECT_EQ(seen, expected);
}

TEST_F(ImageTest, ResolveNamesPrefixesAndAncestors) {
  std::string src = temp_ / "src";
  write_file(src + "/a", "1");
  Digest first = import(src, "img");
  write_file(src + "/a", "22");
  Digest second = import(src, "img");
  ASSERT_OK_AND_ASSIGN(Digest by_name, store_.resolve("img"));
  EXPECT_EQ(by_name, second);
  ASSERT_OK_AND_ASSIGN(Digest parent, store_.resolve("img~1"));
  EXPECT_EQ(parent, first);
  ASSERT_OK_AND_ASSIGN(Digest by_prefix, store_.resolve(first.hex().substr(0, 10)));
  EXPECT_EQ(by_prefix, first);
  ASSERT_OK_AND_ASSIGN(Digest by_full, store_.resolve(second.hex()));
  EXPECT_EQ(by_full, second);
  auto too_far = store_.resolve("img~2");
  ASSERT_FALSE(too_far.ok());
  EXPECT_NE(too_far.error().message.find("further than the history"), std::string::npos);
  auto unknown = store_.resolve("nope");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(store_.resolve("img~x").ok());
}

TEST_F(ImageTest, AmbiguousCommitPrefixIsRefused) {
  // Find two commits whose ids share their first four hex digits (a
  // birthday search over cheap hashes), and store just those two.
  std::map<std::string, std::string> by_prefix;
  std::string first, second;
  for (int i = 0; second.empty(); ++i) {
    Commit commit;
    commit.root = Sha256::of("root");
    commit.created = i;
    std::string data = commit.serialize();
    std::string prefix = Sha256::of(data).hex().substr(0, 4);
    auto [it, inserted] = by_prefix.emplace(prefix, data);
    if (!inserted) {
      first = it->second;
      second = data;
    }
  }
  Transaction transaction(&store_.objects());
  ASSERT_OK(transaction.begin());
  ASSERT_OK_AND_ASSIGN(Digest a, transaction.add_bytes(ObjectType::kCommit, first));
  ASSERT_OK_AND_ASSIGN(Digest b, transaction.add_bytes(ObjectType::kCommit, second));
  ASSERT_OK(transaction.commit());
  auto ambiguous = store_.resolve(a.hex().substr(0, 4));
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_NE(ambiguous.error().message.find("ambiguous"), std::string::npos);
  // One more digit tells them apart, unless they share it too.
  size_t common = 0;
  while (a.hex()[common] == b.hex()[common]) ++common;
  ASSERT_OK_AND_ASSIGN(Digest resolved, store_.resolve(a.hex().substr(0, common + 1)));
  EXPECT_EQ(resolved, a);
}

TEST_F(ImageTest, FsckNamesCorruptAndMissingObjectsAndTheirRefs) {
  std::string src = temp_ / "src";
  write_file(src + "/a", "alpha");
  write_file(src + "/b", "beta");
  import(src, "img");
  ASSERT_OK_AND_ASSIGN(FsckReport clean, fsck(store_));
  EXPECT_TRUE(clean.problems.empty());

  std::string alpha = store_.objects().object_path(ObjectType::kFile, Sha256::of("alpha"));
  std::string beta = store_.objects().object_path(ObjectType::kFile, Sha256::of("beta"));
  write_file(alpha, "alpHa");
  ASSERT_EQ(::unlink(beta.c_str()), 0);
  ASSERT_OK_AND_ASSIGN(FsckReport report, fsck(store_));
  ASSERT_EQ(report.problems.size(), 2u);
  for (const Problem& p : report.problems)
    EXPECT_EQ(p.needed_by, std::vector<std::string>{"image img"});
  std::set<std::string> kinds = {report.problems[0].kind, report.problems[1].kind};
  EXPECT_EQ(kinds, (std::set<std::string>{"corrupt", "missing"}));
  // gc refuses to run over a damaged store rather than guess.
  EXPECT_FALSE(gc(store_).ok());
}

TEST_F(ImageTest, GcRemovesOnlyUnreachableObjects) {
  std::string src = temp_ / "src";
  write_file(src + "/a", "kept");
  import(src, "keep");
  write_file(src + "/a", "dropped");
  import(src, "drop");
  ASSERT_OK(store_.refs().remove(RefKind::kImage, "drop"));
  ASSERT_OK_AND_ASSIGN(GcReport report, gc(store_));
  EXPECT_GT(report.objects_removed, 0u);
  EXPECT_FALSE(store_.objects().has(ObjectType::kFile, Sha256::of("dropped")));
  EXPECT_TRUE(store_.objects().has(ObjectType::kFile, Sha256::of("kept")));
  ASSERT_OK_AND_ASSIGN(FsckReport after, fsck(store_));
  EXPECT_TRUE(after.problems.empty());
  ASSERT_OK_AND_ASSIGN(GcReport again, gc(store_));
  EXPECT_EQ(again.objects_removed, 0u);
}

}  // namespace
}  // namespace goldroot
