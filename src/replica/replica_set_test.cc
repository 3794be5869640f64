#include "replica/replica_set.h"

#include <sys/stat.h>
#include <unistd.h>

#include "base/testing/testing.h"

namespace goldroot {
namespace {

TEST(ReplicaSetTest, CopiesWhatBootsAndNeverKeysOrTheDatabase) {
  for (const char* path :
       {"site.json", "store/channel-journal", "store/refs/channels/gold", "layers/base/etc/motd",
        "layers/hosts/pc1/home/u/.bashrc", "layers/base/etc/x.tmp", "exports/ab.erofs",
        "exports/ab.erofs.verity", "store/objects/ab/cdef.file"})
    EXPECT_TRUE(is_replicated(path)) << path;
  for (const char* path :
       {"", "/site.json", "keys/site.key", "keys/admin.token", "goldroot.db", "goldroot.db-wal",
        "uploads/1.tar", "logs/audit.log", "dnsmasq/hosts", "store/tmp/x", "store/cache/x",
        "exports/uki/a.efi", "exports/initrd/a.img", "layers/../keys/site.key",
        "store/refs/../../keys/site.key", "layers//x", "layers/./x", "exports/.hidden",
        "store/refs/channels/gold.tmp", "layers/base/etc/motd.goldroot-replica-part", "layers",
        "site.json/x"})
    EXPECT_FALSE(is_replicated(path)) << path;
}

TEST(ReplicaSetTest, PublishesNamesAfterWhatTheyName) {
  EXPECT_LT(publish_rank("store/objects/ab/cd.commit"), publish_rank("exports/ab.erofs"));
  EXPECT_LT(publish_rank("exports/ab.erofs"), publish_rank("exports/ab.erofs.json"));
  EXPECT_LT(publish_rank("exports/ab.erofs.json"), publish_rank("store/refs/channels/gold"));
  EXPECT_LT(publish_rank("store/refs/channels/gold"), publish_rank("store/channel-journal"));
  EXPECT_LT(publish_rank("store/channel-journal"), publish_rank("site.json"));
}

TEST(ReplicaSetTest, IndexRoundTrips) {
  std::vector<ReplicaFile> files = {
      {.path = "exports/a.erofs", .size = 5, .sha256 = Sha256::of("hello"), .mode = 0644},
      {.path = "layers/base/etc/localtime", .kind = ReplicaKind::kSymlink,
       .target = "/usr/share/zoneinfo/UTC", .mode = 0777},
      {.path = "layers/base/root", .kind = ReplicaKind::kDirectory, .mode = 0700, .uid = 0, .gid = 0},
      {.path = "layers/base/usr/bin/tool", .size = 0, .sha256 = Sha256::of(""), .mode = 04755,
       .uid = 1000, .gid = 50}};
  ASSERT_OK_AND_ASSIGN(auto back, index_from_json(index_to_json(files)));
  EXPECT_EQ(back, files);
}

TEST(ReplicaSetTest, RefusesAForgedIndexWithOneSentence) {
  std::string object = "store/objects/" + Sha256::of("x").hex().insert(2, "/") + ".file";
  auto entry = [](const std::string& path, const std::string& rest) {
    return R"({"version":1,"files":[{"path":")" + path + R"(","mode":420,"uid":0,"gid":0,)" +
           rest + "}]}";
  };
  std::string file = R"("kind":"file","size":1,"sha256":")" + Sha256::of("x").hex() + R"(")";
  EXPECT_OK(index_from_json(entry(object, file)));
  struct Case {
    std::string text, says;
  } cases[] = {
      {entry("keys/site.key", file), "lists 'keys/site.key', which no replica copies"},
      {entry("layers/../keys/site.key", file), "which no replica copies"},
      {entry("store/objects/" + Sha256::of("y").hex().insert(2, "/") + ".file", file),
       "another sha256 than its name"},
      {entry("exports/x", R"("kind":"symlink","target":"/etc/shadow")"), "only layers have those"},
      {entry("layers/x", R"("kind":"file","size":1,"sha256":"zz")"), "malformed entry"},
      {entry("layers/x", R"("kind":"fifo")"), "malformed entry"},
      {R"({"version":2,"files":[]})", "not version 1"},
      {"not json", "not version 1"},
      {R"({"version":1,"files":[{"path":"layers/l","kind":"symlink","target":"/etc","mode":511,"uid":0,"gid":0},)"
       R"({"path":"layers/l/passwd",)" + file + R"(,"mode":420,"uid":0,"gid":0}]})",
       "layers/l/passwd beneath a symlink"},
  };
  for (const Case& c : cases) {
    auto parsed = index_from_json(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_NE(parsed.error().message.find(c.says), std::string::npos) << parsed.error().message;
  }
}

TEST(ReplicaSetTest, ListsASiteWithoutItsSecrets) {
  testing::TempDir site;
  std::string object_hex = Sha256::of("object bytes").hex();
  std::string object = "store/objects/" + object_hex.substr(0, 2) + "/" + object_hex.substr(2) + ".file";
  testing::write_file(site / object, "object bytes");
  testing::write_file(site / "site.json", "{}");
  testing::write_file(site / "store/refs/channels/gold", "ref");
  testing::write_file(site / "exports/a.erofs", "image");
  testing::write_file(site / "layers/base/etc/motd", "hello");
  testing::write_file(site / "keys/site.key", "secret");
  testing::write_file(site / "goldroot.db", "db");
  testing::write_file(site / "store/tmp/staged", "x");
  ASSERT_EQ(::symlink("../keys/site.key", (site / "exports/leak.erofs").c_str()), 0);
  ASSERT_EQ(::symlink("/usr/share/zoneinfo/UTC", (site / "layers/base/etc/localtime").c_str()), 0);
  ASSERT_EQ(::chmod((site / "layers/base/etc").c_str(), 0750), 0);

  DigestCache cache;
  ASSERT_OK_AND_ASSIGN(auto files, list_replica_set(site.path(), &cache));
  std::vector<std::string> paths;
  for (const ReplicaFile& file : files) paths.push_back(file.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"exports/a.erofs", "layers/base", "layers/base/etc",
                                             "layers/base/etc/localtime", "layers/base/etc/motd",
                                             "site.json", object, "store/refs/channels/gold"}));
  EXPECT_EQ(files[0].sha256, Sha256::of("image"));
  EXPECT_EQ(files[2].kind, ReplicaKind::kDirectory);
  EXPECT_EQ(files[2].mode, 0750u);
  EXPECT_EQ(files[3].kind, ReplicaKind::kSymlink);
  EXPECT_EQ(files[3].target, "/usr/share/zoneinfo/UTC");
  EXPECT_EQ(files[6].sha256, Sha256::of("object bytes"));
  EXPECT_EQ(files[6].size, 12u);
}

}  // namespace
}  // namespace goldroot
