#include "agent/spool.h"

#include "base/testing/testing.h"

namespace goldroot::agent {
namespace {

TEST(SpoolTest, KeepsReportsInSequenceOrder) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(Spool spool, Spool::open(dir / "spool", 10));
  ASSERT_OK(spool.add(900, "b"));
  ASSERT_OK(spool.add(12, "a"));
  ASSERT_OK(spool.add(10000, "c"));
  ASSERT_OK_AND_ASSIGN(auto names, spool.pending());
  ASSERT_EQ(names.size(), 3u);
  std::string order;
  for (const std::string& name : names) order += spool.read(name).value();
  EXPECT_EQ(order, "abc");
  ASSERT_OK(spool.remove(names[0]));
  EXPECT_EQ(spool.pending()->size(), 2u);
}

TEST(SpoolTest, DropsTheOldestPastItsLimit) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(Spool spool, Spool::open(dir / "spool", 3));
  for (int i = 1; i <= 3; ++i) ASSERT_OK(spool.add(i, std::to_string(i)));
  ASSERT_OK_AND_ASSIGN(size_t dropped, spool.add(4, "4"));
  EXPECT_EQ(dropped, 1u);
  ASSERT_OK_AND_ASSIGN(auto names, spool.pending());
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(spool.read(names[0]).value(), "2");
}

}  // namespace
}  // namespace goldroot::agent
