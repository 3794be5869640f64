#include "crypto/tls_identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/testing/testing.h"
#include "crypto/tls_pin.h"

namespace goldroot {
namespace {

mode_t mode_of(const std::string& path) {
  struct stat status;
  EXPECT_EQ(::stat(path.c_str(), &status), 0) << path;
  return status.st_mode & 07777;
}

const std::vector<std::string> kNames = {"localhost", "lab-server", "127.0.0.1", "::1",
                                         "10.0.0.1", "not a name"};

TEST(TlsIdentity, CreatesAPrivateKeyOnlyItsOwnerCanReadAndACertificateForIt) {
  testing::TempDir keys;
  ASSERT_OK(ensure_tls_identity(keys.path(), kNames));
  EXPECT_EQ(mode_of(keys / "tls.key"), 0600u);
  EXPECT_EQ(mode_of(keys / "tls.crt"), 0644u);
  EXPECT_EQ(testing::run_output("ls -A " + keys.path()), "tls.crt\ntls.key\n");
  std::string key_text = testing::run_output("openssl pkey -in " + (keys / "tls.key") + " -noout -text");
  EXPECT_NE(key_text.find("P-256"), std::string::npos) << key_text;
  std::string text = testing::run_output("openssl x509 -in " + (keys / "tls.crt") + " -noout -text");
  EXPECT_NE(text.find("DNS:localhost, DNS:lab-server, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, "
                      "IP Address:10.0.0.1"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("not a name"), std::string::npos);
  EXPECT_NE(text.find("CN = lab-server"), std::string::npos) << text;
  // The certificate signs itself with the key beside it.
  EXPECT_EQ(testing::run_output("openssl verify -CAfile " + (keys / "tls.crt") + " -x509_strict " +
                                (keys / "tls.crt") + " 2>&1 | tail -1"),
            keys / "tls.crt" + ": OK\n");
}

TEST(TlsIdentity, ThePinIsLibcurlsSha256OfThePublicKey) {
  testing::TempDir keys;
  ASSERT_OK(ensure_tls_identity(keys.path(), kNames));
  ASSERT_OK_AND_ASSIGN(std::string pin, tls_public_key_pin(keys.path()));
  std::string expected = testing::run_output(
      "openssl x509 -in " + (keys / "tls.crt") +
      " -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64");
  EXPECT_EQ(pin + "\n", "sha256//" + expected);
  EXPECT_TRUE(is_tls_pin(pin));
}

TEST(TlsIdentity, NeverReplacesTheKeyAndRemakesAMissingCertificateForIt) {
  testing::TempDir keys;
  ASSERT_OK(ensure_tls_identity(keys.path(), kNames));
  std::string key = testing::read_file(keys / "tls.key");
  std::string certificate = testing::read_file(keys / "tls.crt");
  ASSERT_OK_AND_ASSIGN(std::string pin, tls_public_key_pin(keys.path()));
  ASSERT_OK(ensure_tls_identity(keys.path(), {"other-name"}));
  EXPECT_EQ(testing::read_file(keys / "tls.key"), key);
  EXPECT_EQ(testing::read_file(keys / "tls.crt"), certificate);

  ASSERT_EQ(::unlink((keys / "tls.crt").c_str()), 0);
  ASSERT_OK(ensure_tls_identity(keys.path(), {"other-name"}));
  EXPECT_EQ(testing::read_file(keys / "tls.key"), key);
  std::string text = testing::run_output("openssl x509 -in " + (keys / "tls.crt") + " -noout -text");
  EXPECT_NE(text.find("DNS:other-name"), std::string::npos) << text;
  ASSERT_OK_AND_ASSIGN(std::string again, tls_public_key_pin(keys.path()));
  EXPECT_EQ(again, pin);  // what clients hold stays valid
}

TEST(TlsIdentity, ACertificateForAnotherKeyIsRefusedWithWhatToDo) {
  testing::TempDir keys, other;
  ASSERT_OK(ensure_tls_identity(keys.path(), kNames));
  ASSERT_OK(ensure_tls_identity(other.path(), kNames));
  testing::write_file(keys / "tls.crt", testing::read_file(other / "tls.crt"));
  auto status = ensure_tls_identity(keys.path(), kNames);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kCorruption);
  EXPECT_NE(status.error().message.find("remove tls.crt"), std::string::npos);
}

TEST(TlsIdentity, AnUnreadableKeyIsAClearError) {
  testing::TempDir keys;
  testing::write_file(keys / "tls.key", "garbage");
  auto status = ensure_tls_identity(keys.path(), kNames);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("tls.key"), std::string::npos);
  EXPECT_FALSE(tls_public_key_pin(keys.path()).ok());
}

}  // namespace
}  // namespace goldroot
