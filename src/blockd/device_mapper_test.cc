#include "blockd/device_mapper.h"

#include "base/testing/testing.h"

namespace goldroot::blockd {
namespace {

TEST(VerityTableTest, DataThenTreeOnOneDevice) {
  VerityParams params;
  params.data_blocks = 1000;
  params.salt = std::string("\x01\xab", 2);
  params.root_hash = *Digest::from_hex(std::string(64, 'f'));
  // The kernel's documented order: version, data and hash devices, block
  // sizes, data blocks, the hash tree's first block, algorithm, root, salt.
  EXPECT_EQ(verity_table_params("43:0", params),
            "1 43:0 43:0 4096 4096 1000 1000 sha256 " + std::string(64, 'f') + " 01ab");
  params.salt.clear();
  std::string table = verity_table_params("43:0", params);
  EXPECT_EQ(table.substr(table.size() - 2), " -");
}

TEST(VerityTableTest, DeviceNumbersOfBlockDevicesOnly) {
  auto number = block_device_number("/dev/null");
  ASSERT_FALSE(number.ok());
  EXPECT_NE(number.error().message.find("not a block device"), std::string::npos);
}

}  // namespace
}  // namespace goldroot::blockd
