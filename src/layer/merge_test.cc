#include "layer/merge.h"

#include <unistd.h>

#include <filesystem>

#include "layer/layer_test_util.h"

namespace goldroot {
namespace {

using testing::put;
using testing::sample_profile;
using testing::TempDir;

class MergeTest : public ::testing::Test {
 protected:
  std::string layers() const { return dir_ / "layers"; }
  Result<MergedLayer> merge() {
    auto stack = TRY(host_layers(layers(), sample_profile()));
    return merge_layers(stack);
  }
  TempDir dir_;
};

TEST_F(MergeTest, LayersApplyInOrderAndMissingOnesAreSkipped) {
  put(layers() + "/base/etc/motd", "base");
  put(layers() + "/networks/10.1.0.0_24/etc/motd", "net");
  put(layers() + "/labs/lab1/etc/motd", "lab");
  put(layers() + "/ips/10.1.0.10/etc/motd", "ip");
  put(layers() + "/labs/lab2/etc/motd", "other lab");
  ASSERT_OK_AND_ASSIGN(auto stack, host_layers(layers(), sample_profile()));
  std::vector<std::string> names;
  for (const LayerRef& layer : stack) names.push_back(layer.name);
  EXPECT_EQ(names, (std::vector<std::string>{"base", "networks/10.1.0.0_24", "labs/lab1",
                                             "ips/10.1.0.10"}));
  ASSERT_OK_AND_ASSIGN(MergedLayer merged, merge());
  const MergedNode& motd = merged.nodes.at("etc/motd");
  EXPECT_EQ(motd.layer, "ips/10.1.0.10");
  EXPECT_EQ(motd.overridden,
            (std::vector<std::string>{"base", "networks/10.1.0.0_24", "labs/lab1"}));
  EXPECT_EQ(testing::read_file(motd.source), "ip");
}

TEST_F(MergeTest, DeletionMarkerRemovesEarlierFilesAndLeavesAWhiteout) {
  put(layers() + "/base/etc/cron.d/a", "a");
  put(layers() + "/base/etc/cron.d/b", "b");
  put(layers() + "/base/etc/issue", "issue");
  put(layers() + "/labs/lab1/etc/cron.d.goldroot-delete", "");
  put(layers() + "/hosts/pc1/etc/issue.goldroot-delete", "");
  ASSERT_OK_AND_ASSIGN(MergedLayer merged, merge());
  EXPECT_EQ(merged.nodes.at("etc/cron.d").kind, NodeKind::kWhiteout);
  EXPECT_EQ(merged.nodes.at("etc/cron.d").overridden, std::vector<std::string>{"base"});
  EXPECT_EQ(merged.nodes.count("etc/cron.d/a"), 0u);
  EXPECT_EQ(merged.nodes.at("etc/issue").kind, NodeKind::kWhiteout);
  EXPECT_EQ(merged.nodes.at("etc/issue").layer, "hosts/pc1");
  EXPECT_EQ(merged.nodes.count("etc/issue.goldroot-delete"), 0u);
}

TEST_F(MergeTest, DirectoryAfterADeletionIsOpaque) {
  put(layers() + "/base/etc/skel/old", "old");
  put(layers() + "/labs/lab1/etc/skel.goldroot-delete", "");
  put(layers() + "/hosts/pc1/etc/skel/new", "new");
  ASSERT_OK_AND_ASSIGN(MergedLayer merged, merge());
  EXPECT_EQ(merged.nodes.at("etc/skel").kind, NodeKind::kDirectory);
  EXPECT_TRUE(merged.nodes.at("etc/skel").opaque);
  EXPECT_EQ(merged.nodes.count("etc/skel/old"), 0u);
  EXPECT_EQ(merged.nodes.count("etc/skel/new"), 1u);
  EXPECT_FALSE(merged.nodes.at("etc").opaque);
}

TEST_F(MergeTest, FileReplacesDirectoryAndTemplatesDropTheirSuffix) {
  put(layers() + "/base/opt/tool/bin", "x");
  put(layers() + "/labs/lab1/opt/tool.tmpl", "{{ hostname }}");
  ASSERT_OK_AND_ASSIGN(MergedLayer merged, merge());
  EXPECT_EQ(merged.nodes.at("opt/tool").kind, NodeKind::kTemplate);
  EXPECT_EQ(merged.nodes.count("opt/tool/bin"), 0u);
}

TEST_F(MergeTest, FileAndTemplateOfOneNameInOneLayerIsAnError) {
  put(layers() + "/base/etc/hosts", "x");
  put(layers() + "/base/etc/hosts.tmpl", "y");
  auto merged = merge();
  ASSERT_FALSE(merged.ok());
  EXPECT_EQ(merged.error().message,
            "layer base: etc/hosts.tmpl and etc/hosts are both present; keep one");
}

TEST_F(MergeTest, SymlinksAreKeptButNotFollowedOrAllowedToEscape) {
  put(layers() + "/base/etc/motd", "m");
  ASSERT_EQ(::symlink("/usr/share/zoneinfo/UTC", (layers() + "/base/etc/localtime").c_str()), 0);
  ASSERT_OK_AND_ASSIGN(MergedLayer merged, merge());
  EXPECT_EQ(merged.nodes.at("etc/localtime").kind, NodeKind::kSymlink);
  EXPECT_EQ(merged.nodes.at("etc/localtime").link_target, "/usr/share/zoneinfo/UTC");

  ASSERT_EQ(::symlink("../../../../etc/shadow", (layers() + "/base/etc/leak").c_str()), 0);
  auto escaped = merge();
  ASSERT_FALSE(escaped.ok());
  EXPECT_NE(escaped.error().message.find("etc/leak is a symlink to ../../../../etc/shadow, which "
                                         "escapes the layer through '..'"),
            std::string::npos);
}

TEST_F(MergeTest, SymlinkedTemplateIsRefused) {
  put(dir_ / "secret", "{{ hostname }}");
  put(layers() + "/base/etc/motd", "m");
  ASSERT_EQ(::symlink((dir_ / "secret").c_str(), (layers() + "/base/etc/issue.tmpl").c_str()), 0);
  auto merged = merge();
  ASSERT_FALSE(merged.ok());
  EXPECT_NE(merged.error().message.find("etc/issue.tmpl is not a regular file"), std::string::npos);
}

TEST_F(MergeTest, LayerDirectorySymlinkMustStayInsideTheLayersDir) {
  put(layers() + "/labs/shared/etc/motd", "shared");
  std::filesystem::create_directories(layers() + "/labs");
  ASSERT_EQ(::symlink("shared", (layers() + "/labs/lab1").c_str()), 0);
  ASSERT_OK_AND_ASSIGN(MergedLayer merged, merge());
  EXPECT_EQ(merged.nodes.at("etc/motd").layer, "labs/lab1");

  std::filesystem::create_directories(dir_ / "outside/etc");
  std::filesystem::create_directories(layers() + "/hosts");
  ASSERT_EQ(::symlink((dir_ / "outside").c_str(), (layers() + "/hosts/pc1").c_str()), 0);
  auto escaped = merge();
  ASSERT_FALSE(escaped.ok());
  EXPECT_NE(escaped.error().message.find("layer hosts/pc1 is a symlink that leads outside"),
            std::string::npos);
}

TEST(NormalizeLayerPathTest, RefusesDotDot) {
  EXPECT_EQ(normalize_layer_path("/etc//hosts/").value(), "etc/hosts");
  auto escaped = normalize_layer_path("etc/../../shadow");
  ASSERT_FALSE(escaped.ok());
  EXPECT_NE(escaped.error().message.find("contains '..'"), std::string::npos);
}

}  // namespace
}  // namespace goldroot
