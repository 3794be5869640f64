#include "layer/blame.h"
#include "layer/layer_diff.h"
#include "layer/layer_test_util.h"

namespace goldroot {
namespace {

using testing::put;
using testing::sample_profile;
using testing::TempDir;

class BlameDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    put(layers() + "/base/etc/hostname.tmpl", "{{ hostname }}\n");
    put(layers() + "/base/etc/motd", "base\n");
    put(layers() + "/base/etc/issue", "Debian\n");
    put(layers() + "/labs/lab1/etc/motd", "lab1\n");
    put(layers() + "/hosts/pc1/etc/motd", "pc1\n", 0600);
    put(layers() + "/hosts/pc1/etc/issue.goldroot-delete", "");
    put(layers() + "/hosts/pc2/etc/extra", "x\n");
  }
  std::string layers() const { return dir_ / "layers"; }
  Result<RenderedLayer> build(const std::string& name, const std::string& ip) {
    HostProfile profile = sample_profile(name, ip);
    auto stack = TRY(host_layers(layers(), profile));
    return build_rendered_layer(stack, template_variables(profile));
  }
  TempDir dir_;
};

TEST_F(BlameDiffTest, BlameNamesSupplierAndOverriddenLayers) {
  ASSERT_OK_AND_ASSIGN(RenderedLayer pc1, build("pc1", "10.1.0.10"));
  ASSERT_OK_AND_ASSIGN(auto lines, blame(pc1.merged, std::nullopt));
  std::vector<std::string> text;
  for (const BlameLine& line : lines) text.push_back(format_blame(line));
  ASSERT_EQ(text.size(), 3u);
  EXPECT_EQ(text[0], std::string("etc/hostname") + std::string(28, ' ') + "  base (template)");
  EXPECT_EQ(text[1], std::string("etc/issue") + std::string(31, ' ') +
                         "  deleted by hosts/pc1  (overrides base)");
  EXPECT_EQ(text[2], std::string("etc/motd") + std::string(32, ' ') +
                         "  hosts/pc1  (overrides labs/lab1, base)");
  ASSERT_OK_AND_ASSIGN(auto one, blame(pc1.merged, std::string("/etc/motd")));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(to_json(one[0])["overrides"], nlohmann::json({"labs/lab1", "base"}));
  ASSERT_OK_AND_ASSIGN(auto dir, blame(pc1.merged, std::string("etc")));
  EXPECT_EQ(dir.size(), 4u);
  auto missing = blame(pc1.merged, std::string("etc/nothing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "no layer of this host has etc/nothing");
  EXPECT_FALSE(blame(pc1.merged, std::string("etc/../../x")).ok());
}

TEST_F(BlameDiffTest, DiffShowsOnlyOneSideAndDifferences) {
  ASSERT_OK_AND_ASSIGN(RenderedLayer pc1, build("pc1", "10.1.0.10"));
  ASSERT_OK_AND_ASSIGN(RenderedLayer pc2, build("pc2", "10.1.0.11"));
  ASSERT_OK_AND_ASSIGN(auto differences, diff_layers(pc1, pc2));
  std::vector<std::string> text;
  for (const LayerDifference& d : differences) text.push_back(format_difference(d));
  EXPECT_EQ(text, (std::vector<std::string>{
                      "+ etc/extra  (hosts/pc2)",
                      "~ etc/hostname  content  (base | base)",
                      "~ etc/issue  type deleted -> file  (hosts/pc1 | base)",
                      "~ etc/motd  content, mode 0600 -> 0644  (hosts/pc1 | labs/lab1)",
                  }));
  ASSERT_OK_AND_ASSIGN(auto same, diff_layers(pc1, pc1));
  EXPECT_TRUE(same.empty());
}

}  // namespace
}  // namespace goldroot
