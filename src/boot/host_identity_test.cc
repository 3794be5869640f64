#include "boot/host_identity.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "base/testing/testing.h"

namespace goldroot::boot {
namespace {

TEST(HostIdentityTest, DiskKeyIsMadeOnceAndKept) {
  testing::TempDir dir;
  std::string path = dir / "identity/host.key";
  ASSERT_OK_AND_ASSIGN(HostIdentity first, load_or_create_host_identity(path));
  EXPECT_TRUE(first.persistent());
  struct stat info;
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_OK_AND_ASSIGN(HostIdentity again, load_or_create_host_identity(path));
  EXPECT_EQ(again.key.public_key().key_id(), first.key.public_key().key_id());
}

// A diskless boot retried after a failure (the OOM killer, a server that
// went away) presents the key of its first attempt, which the server may
// already have enrolled; the next boot of the machine starts afresh.
TEST(HostIdentityTest, DisklessRetryOfOneBootKeepsItsKey) {
  testing::TempDir dir;
  std::string boot_path = dir / "run/boot-host.key";
  ASSERT_OK_AND_ASSIGN(HostIdentity first, load_or_create_host_identity("", boot_path));
  EXPECT_FALSE(first.persistent());
  ASSERT_OK_AND_ASSIGN(HostIdentity retry, load_or_create_host_identity("", boot_path));
  EXPECT_FALSE(retry.persistent());
  EXPECT_EQ(retry.key.public_key().key_id(), first.key.public_key().key_id());
  // A renewed key (the old one was revoked) is the one the next retry uses.
  ASSERT_OK(renew_host_identity(&retry));
  ASSERT_OK_AND_ASSIGN(HostIdentity after, load_or_create_host_identity("", boot_path));
  EXPECT_EQ(after.key.public_key().key_id(), retry.key.public_key().key_id());
  EXPECT_NE(after.key.public_key().key_id(), first.key.public_key().key_id());
  // No run directory: a new key every time.
  ASSERT_OK_AND_ASSIGN(HostIdentity a, load_or_create_host_identity(""));
  ASSERT_OK_AND_ASSIGN(HostIdentity b, load_or_create_host_identity(""));
  EXPECT_NE(a.key.public_key().key_id(), b.key.public_key().key_id());
}

}  // namespace
}  // namespace goldroot::boot
