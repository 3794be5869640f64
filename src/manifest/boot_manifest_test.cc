#include "manifest/boot_manifest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/testing/testing.h"
#include "crypto/base64.h"

namespace goldroot {
namespace {

BootManifest sample() {
  BootManifest manifest;
  manifest.image.sha256 = Sha256::of("image");
  manifest.image.size = 262144000;
  manifest.image.format = "erofs";
  manifest.image.url = "images/" + manifest.image.sha256.hex() + ".erofs";
  manifest.commit = Sha256::of("commit");
  manifest.kernel = {"/boot/vmlinuz-6.1.0-13-amd64", Sha256::of("kernel"), 8123456};
  manifest.initrd = {"/boot/initrd.img-6.1.0-13-amd64", Sha256::of("initrd"), 40123456};
  return manifest;
}

class BootManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = SigningKey::generate();
    ASSERT_OK(key);
    key_ = std::make_unique<SigningKey>(std::move(key).value());
    auto text = sign_boot_manifest(sample(), *key_);
    ASSERT_OK(text);
    signed_ = std::move(text).value();
  }

  // Applies `edit` to the parsed signed manifest and re-serializes it.
  std::string edited(const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json document = nlohmann::json::parse(signed_);
    edit(document);
    return document.dump();
  }

  Error expect_rejected(const std::string& text) {
    auto result = verify_boot_manifest(text, key_->public_key());
    EXPECT_FALSE(result.ok()) << text;
    return result.ok() ? Error{} : std::move(result).error();
  }

  std::unique_ptr<SigningKey> key_;
  std::string signed_;
};

TEST_F(BootManifestTest, VerifiesAndRoundTrips) {
  ASSERT_OK_AND_ASSIGN(BootManifest manifest, verify_boot_manifest(signed_, key_->public_key()));
  EXPECT_EQ(manifest, sample());
  nlohmann::json document = nlohmann::json::parse(signed_);
  EXPECT_EQ(document["image"]["sha256"], sample().image.sha256.hex());
  EXPECT_EQ(document["signature"]["algorithm"], "ed25519");
  EXPECT_EQ(document["signature"]["key_id"], key_->public_key().key_id());
}

TEST_F(BootManifestTest, FormattingDoesNotMatterButContentDoes) {
  // Re-serialized compactly (different whitespace): still valid.
  EXPECT_OK(verify_boot_manifest(nlohmann::json::parse(signed_).dump(), key_->public_key()));
}

TEST_F(BootManifestTest, TamperedManifestsFailVerification) {
  Error error = expect_rejected(edited([](auto& d) { d["image"]["size"] = 262144001; }));
  EXPECT_EQ(error.code, ErrorCode::kCorruption);
  EXPECT_NE(error.message.find("bad signature"), std::string::npos) << error.message;
  expect_rejected(edited([](auto& d) { d["image"]["sha256"] = Sha256::of("evil").hex(); }));
  expect_rejected(edited([](auto& d) { d["image"]["url"] = "http://evil/image"; }));
  expect_rejected(edited([](auto& d) { d["kernel"]["path"] = "/boot/vmlinuz-evil"; }));
  expect_rejected(edited([](auto& d) { d["extra"] = "smuggled"; }));
  expect_rejected(edited([](auto& d) { d["image"].erase("url"); }));
  expect_rejected(edited([](auto& d) { d.erase("signature"); }));
  expect_rejected(edited([](auto& d) {
    std::string value = d["signature"]["value"];
    value[5] = value[5] == 'A' ? 'B' : 'A';
    d["signature"]["value"] = value;
  }));
  expect_rejected(edited([](auto& d) { d["signature"]["value"] = "!!notbase64"; }));
  expect_rejected(edited([](auto& d) { d["signature"]["algorithm"] = "none"; }));
  expect_rejected("{not json");
  expect_rejected("[]");
}

TEST_F(BootManifestTest, AnotherSiteKeyIsRejectedByName) {
  ASSERT_OK_AND_ASSIGN(SigningKey other, SigningKey::generate());
  auto result = verify_boot_manifest(signed_, other.public_key());
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("not by this site's key"), std::string::npos);
  // Claiming the other key's id does not help: the signature still fails.
  std::string relabelled =
      edited([&](auto& d) { d["signature"]["key_id"] = other.public_key().key_id(); });
  EXPECT_FALSE(verify_boot_manifest(relabelled, other.public_key()).ok());
}

TEST_F(BootManifestTest, SignedButMalformedIsStillRejected) {
  // A manifest the site itself signed with a field missing.
  nlohmann::json body = nlohmann::json::parse(signed_);
  body.erase("signature");
  body.erase("kernel");
  std::string bytes = "goldroot-boot-manifest-v1\n" + body.dump();
  ASSERT_OK_AND_ASSIGN(std::string signature, key_->sign(bytes));
  body["signature"] = {{"algorithm", "ed25519"},
                       {"key_id", key_->public_key().key_id()},
                       {"value", base64_encode(signature)}};
  Error error = expect_rejected(body.dump());
  EXPECT_NE(error.message.find("kernel"), std::string::npos) << error.message;
}

TEST_F(BootManifestTest, HostBoundManifestRoundTripsAndEveryFieldIsSigned) {
  BootManifest manifest = sample();
  HostBinding host;
  host.name = "pc01";
  host.mac = "52:54:00:aa:00:01";
  host.mode = "normal";
  host.key_id = "0123456789abcdef";
  host.layer_sha256 = Sha256::of("layer");
  host.layer_size = 10240;
  host.issued_at = 1733300000;
  host.expires_at = 1733303600;
  host.challenge = "1733300000.abcd.ef01";
  host.image_time = 1733200000;
  host.floor = 1733100000;
  manifest.host = host;
  ASSERT_OK_AND_ASSIGN(std::string text, sign_boot_manifest(manifest, *key_));
  EXPECT_EQ(nlohmann::json::parse(text)["version"], 2);
  ASSERT_OK_AND_ASSIGN(BootManifest back, verify_boot_manifest(text, key_->public_key()));
  EXPECT_EQ(back, manifest);

  signed_ = text;
  expect_rejected(edited([](auto& d) { d["host"]["mac"] = "52:54:00:aa:00:02"; }));
  expect_rejected(edited([](auto& d) { d["host"]["mode"] = "maintenance"; }));
  expect_rejected(edited([](auto& d) { d["host"]["expires_at"] = 1893456000; }));
  expect_rejected(edited([](auto& d) { d["host"]["layer"]["sha256"] = Sha256::of("x").hex(); }));
  expect_rejected(edited([](auto& d) { d["host"]["challenge"] = "replayed"; }));
  expect_rejected(edited([](auto& d) { d.erase("host"); }));  // v2 without its binding
}

}  // namespace
}  // namespace goldroot
