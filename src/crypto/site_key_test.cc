#include "crypto/site_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/testing/testing.h"

namespace goldroot {
namespace {

mode_t mode_of(const std::string& path) {
  struct stat status;
  EXPECT_EQ(::stat(path.c_str(), &status), 0) << path;
  return status.st_mode & 07777;
}

TEST(SiteKey, CreatesAPrivateKeyOnlyItsOwnerCanRead) {
  testing::TempDir keys;
  ASSERT_OK(ensure_site_key(keys.path()));
  EXPECT_EQ(mode_of(keys / "site.key"), 0600u);
  EXPECT_EQ(mode_of(keys / "site.pub"), 0644u);
  ASSERT_OK_AND_ASSIGN(SigningKey key, load_site_key(keys.path()));
  ASSERT_OK_AND_ASSIGN(VerifyKey published, load_site_public_key(keys.path()));
  EXPECT_EQ(key.public_key(), published);
  EXPECT_EQ(testing::run_output("ls -A " + keys.path()), "site.key\nsite.pub\n");
}

TEST(SiteKey, NeverReplacesAnExistingKey) {
  testing::TempDir keys;
  ASSERT_OK(ensure_site_key(keys.path()));
  std::string before = testing::read_file(keys / "site.key");
  ASSERT_OK(ensure_site_key(keys.path()));
  EXPECT_EQ(testing::read_file(keys / "site.key"), before);
  // A lost public key is rebuilt from the private one.
  ASSERT_EQ(::unlink((keys / "site.pub").c_str()), 0);
  ASSERT_OK(ensure_site_key(keys.path()));
  EXPECT_EQ(testing::read_file(keys / "site.key"), before);
  ASSERT_OK_AND_ASSIGN(VerifyKey published, load_site_public_key(keys.path()));
  ASSERT_OK_AND_ASSIGN(SigningKey key, load_site_key(keys.path()));
  EXPECT_EQ(published, key.public_key());
}

TEST(SiteKey, RefusesAPublicKeyThatDoesNotMatch) {
  testing::TempDir keys;
  ASSERT_OK(ensure_site_key(keys.path()));
  ASSERT_OK_AND_ASSIGN(SigningKey other, SigningKey::generate());
  testing::write_file(keys / "site.pub", other.public_key().to_pem());
  auto status = ensure_site_key(keys.path());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kCorruption);
}

TEST(SiteKey, UnreadableKeyIsAClearError) {
  testing::TempDir keys;
  testing::write_file(keys / "site.key", "garbage");
  auto status = ensure_site_key(keys.path());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("site.key"), std::string::npos);
}

}  // namespace
}  // namespace goldroot
