#include "crypto/secure_boot_key.h"

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

TEST(SecureBootKey, MakesAnRsaKeyOnlyItsOwnerReadsAndItsCertificateInPemAndDer) {
  testing::TempDir keys;
  ASSERT_OK_AND_ASSIGN(bool made, ensure_secure_boot_key(keys.path(), "goldroot site lab Secure Boot"));
  EXPECT_TRUE(made);
  EXPECT_EQ(mode_of(keys / "secureboot.key"), 0600u);
  EXPECT_EQ(mode_of(keys / "secureboot.crt"), 0644u);
  EXPECT_EQ(mode_of(keys / "secureboot.der"), 0644u);
  std::string key = testing::run_output("openssl pkey -in " + (keys / "secureboot.key") + " -noout -text");
  EXPECT_NE(key.find("Private-Key: (2048 bit"), std::string::npos) << key;
  std::string text = testing::run_output("openssl x509 -in " + (keys / "secureboot.crt") + " -noout -text");
  EXPECT_NE(text.find("CN = goldroot site lab Secure Boot"), std::string::npos) << text;
  EXPECT_NE(text.find("Code Signing"), std::string::npos) << text;
  EXPECT_EQ(testing::run_output("openssl x509 -inform der -in " + (keys / "secureboot.der") +
                                " -outform pem | cmp - " + (keys / "secureboot.crt") + " && echo same"),
            "same\n");
  // Never replaced: a second call keeps the key.
  std::string before = testing::read_file(keys / "secureboot.key");
  ASSERT_OK_AND_ASSIGN(bool again, ensure_secure_boot_key(keys.path(), "other"));
  EXPECT_FALSE(again);
  EXPECT_EQ(testing::read_file(keys / "secureboot.key"), before);
  ASSERT_OK_AND_ASSIGN(SecureBootCertificateInfo info, describe_secure_boot_certificate(keys.path()));
  EXPECT_NE(info.subject.find("goldroot site lab Secure Boot"), std::string::npos);
  EXPECT_EQ(info.fingerprint.size(), 32u * 3 - 1);
}

class SecureBootImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(ensure_secure_boot_key(a_.path(), "a"));
    ASSERT_OK(ensure_secure_boot_key(b_.path(), "b"));
  }
  std::string file(const testing::TempDir& dir, const char* name) {
    return testing::read_file(dir / name);
  }
  testing::TempDir a_, b_, site_;
};

TEST_F(SecureBootImportTest, AMismatchedPairIsOneSentenceAndWritesNothing) {
  Status imported = import_secure_boot_key(site_.path(), file(a_, "secureboot.key"),
                                           file(b_, "secureboot.crt"), ReplaceKey::kNo);
  ASSERT_FALSE(imported.ok());
  EXPECT_EQ(imported.error().message,
            "the certificate is not for that key (their public keys differ); nothing was imported");
  EXPECT_EQ(testing::run_output("ls -A " + site_.path()), "");
}

TEST_F(SecureBootImportTest, EncryptedKeysAndOtherKindsAreRefused) {
  std::string encrypted = testing::run_output("openssl pkey -in " + (a_ / "secureboot.key") +
                                              " -aes256 -passout pass:secret");
  Status refused = import_secure_boot_key(site_.path(), encrypted, file(a_, "secureboot.crt"),
                                          ReplaceKey::kNo);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("is encrypted"), std::string::npos) << refused.error().message;
  std::string ec = testing::run_output("openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 2>/dev/null");
  Status not_rsa = import_secure_boot_key(site_.path(), ec, file(a_, "secureboot.crt"), ReplaceKey::kNo);
  ASSERT_FALSE(not_rsa.ok());
  EXPECT_NE(not_rsa.error().message.find("not an RSA key"), std::string::npos);
  Status garbage = import_secure_boot_key(site_.path(), file(a_, "secureboot.key"), "hello", ReplaceKey::kNo);
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().message.find("not an X.509 certificate"), std::string::npos);
  EXPECT_EQ(testing::run_output("ls -A " + site_.path()), "");
}

TEST_F(SecureBootImportTest, ImportsAPairAndReplacesAnotherOnlyWhenForced) {
  // A DER certificate is taken as well as PEM.
  ASSERT_OK(import_secure_boot_key(site_.path(), file(a_, "secureboot.key"),
                                   file(a_, "secureboot.der"), ReplaceKey::kNo));
  EXPECT_EQ(file(site_, "secureboot.crt"), file(a_, "secureboot.crt"));
  EXPECT_EQ(file(site_, "secureboot.der"), file(a_, "secureboot.der"));
  EXPECT_EQ(mode_of(site_ / "secureboot.key"), 0600u);
  // The same pair again is a no-op.
  ASSERT_OK(import_secure_boot_key(site_.path(), file(a_, "secureboot.key"),
                                   file(a_, "secureboot.crt"), ReplaceKey::kNo));
  Status kept = import_secure_boot_key(site_.path(), file(b_, "secureboot.key"),
                                       file(b_, "secureboot.crt"), ReplaceKey::kNo);
  ASSERT_FALSE(kept.ok());
  EXPECT_NE(kept.error().message.find("--force"), std::string::npos);
  EXPECT_EQ(file(site_, "secureboot.crt"), file(a_, "secureboot.crt"));
  ASSERT_OK(import_secure_boot_key(site_.path(), file(b_, "secureboot.key"),
                                   file(b_, "secureboot.crt"), ReplaceKey::kYes));
  EXPECT_EQ(file(site_, "secureboot.crt"), file(b_, "secureboot.crt"));
  EXPECT_EQ(file(site_, "secureboot.der"), file(b_, "secureboot.der"));
  ASSERT_OK_AND_ASSIGN(bool made, ensure_secure_boot_key(site_.path(), "x"));
  EXPECT_FALSE(made);
}

}  // namespace
}  // namespace goldroot
