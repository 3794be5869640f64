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

  // The same, signed again with the site key: a manifest the site itself
  // signed with a bad field.
  std::string resigned(const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json body = nlohmann::json::parse(signed_);
    body.erase("signature");
    edit(body);
    auto signature = key_->sign("goldroot-boot-manifest-v1\n" + body.dump());
    EXPECT_OK(signature);
    body["signature"] = {{"algorithm", "ed25519"},
                         {"key_id", key_->public_key().key_id()},
                         {"value", base64_encode(signature.ok() ? *signature : "")}};
    return body.dump();
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

// sample()'s image (262144000 bytes: 64000 blocks) with its verity tree.
ImageVerity sample_verity() {
  ImageVerity verity;
  verity.params.data_blocks = 64000;
  verity.params.salt = std::string(32, '\x5a');
  verity.params.root_hash = Sha256::of("root");
  verity.tree_size = VerityGeometry(64000, 4096).tree_size();
  verity.tree_url = "images/" + sample().image.sha256.hex() + ".verity";
  return verity;
}

HostBinding sample_host() {
  HostBinding host;
  host.name = "pc01";
  host.mac = "52:54:00:aa:00:01";
  host.mode = "normal";
  host.key_id = "0123456789abcdef";
  host.issued_at = 1733300000;
  host.expires_at = 1733303600;
  host.challenge = "1733300000.abcd.ef01";
  return host;
}

TEST_F(BootManifestTest, VerityRoundTripsAndIsSigned) {
  BootManifest manifest = sample();
  manifest.image.verity = sample_verity();
  ASSERT_OK_AND_ASSIGN(signed_, sign_boot_manifest(manifest, *key_));
  nlohmann::json verity = nlohmann::json::parse(signed_)["image"]["verity"];
  std::string salt_hex;
  for (int i = 0; i < 32; ++i) salt_hex += "5a";
  EXPECT_EQ(verity["salt"], salt_hex);
  EXPECT_EQ(verity["data_block_size"], 4096);
  EXPECT_EQ(verity["tree_size"], sample_verity().tree_size);
  EXPECT_EQ(verity["tree_url"], "images/" + sample().image.sha256.hex() + ".verity");
  ASSERT_OK_AND_ASSIGN(BootManifest back, verify_boot_manifest(signed_, key_->public_key()));
  EXPECT_EQ(back, manifest);

  expect_rejected(edited([](auto& d) { d["image"]["verity"]["root_hash"] = Sha256::of("x").hex(); }));
  expect_rejected(edited([](auto& d) { d["image"]["verity"]["salt"] = "00"; }));
  expect_rejected(edited([](auto& d) { d["image"]["verity"]["tree_url"] = "http://evil/t"; }));
  expect_rejected(edited([](auto& d) { d["image"].erase("verity"); }));
}

TEST_F(BootManifestTest, SignedButBadVerityFieldsAreRejectedInOneSentence) {
  BootManifest manifest = sample();
  manifest.image.verity = sample_verity();
  ASSERT_OK_AND_ASSIGN(signed_, sign_boot_manifest(manifest, *key_));
  ASSERT_OK(verify_boot_manifest(resigned([](auto&) {}), key_->public_key()));
  auto rejected = [&](const std::function<void(nlohmann::json&)>& edit, const std::string& says) {
    Error error = expect_rejected(resigned([&](auto& d) { edit(d["image"]["verity"]); }));
    EXPECT_EQ(error.code, ErrorCode::kCorruption);
    EXPECT_NE(error.message.find(says), std::string::npos) << error.message;
    EXPECT_EQ(error.message.find('\n'), std::string::npos) << error.message;
  };
  rejected([](auto& v) { v["root_hash"] = "abcd"; }, "root_hash");
  rejected([](auto& v) { v.erase("root_hash"); }, "root_hash");
  rejected([](auto& v) { v["salt"] = "abc"; }, "salt");
  rejected([](auto& v) { v["salt"] = "zz"; }, "salt");
  rejected([](auto& v) { v["salt"] = std::string(514, 'a'); }, "at most 256 bytes");
  rejected([](auto& v) { v["salt"] = 5; }, "salt");
  rejected([](auto& v) { v["data_block_size"] = 4095; }, "power of two");
  rejected([](auto& v) { v["hash_block_size"] = 256; }, "power of two");
  rejected([](auto& v) { v["hash_block_size"] = 131072; }, "power of two");
  rejected([](auto& v) { v["data_block_size"] = -4096; }, "data_block_size");
  rejected([](auto& v) { v["data_blocks"] = 0; }, "not the image's 262144000 bytes");
  rejected([](auto& v) { v["data_blocks"] = 63999; }, "not the image's");
  rejected([](auto& v) { v["data_blocks"] = uint64_t{1} << 62; }, "not the image's");
  rejected([](auto& v) { v["tree_size"] = v["tree_size"].template get<uint64_t>() + 4096; },
           "need a tree of " + std::to_string(sample_verity().tree_size));
  rejected([](auto& v) { v.erase("tree_url"); }, "tree_url");
  // Other sizes are fine when they agree with each other.
  std::string small = resigned([](auto& d) {
    auto& v = d["image"]["verity"];
    v["hash_block_size"] = 512;
    v["tree_size"] = VerityGeometry(64000, 512).tree_size();
    v["salt"] = "";
  });
  ASSERT_OK_AND_ASSIGN(BootManifest back, verify_boot_manifest(small, key_->public_key()));
  EXPECT_EQ(back.image.verity->params.hash_block_size, 512u);
  EXPECT_EQ(back.image.verity->params.salt, "");
}

TEST_F(BootManifestTest, HostFetchIsSignedAndOlderServersMeanFull) {
  BootManifest manifest = sample();
  manifest.image.verity = sample_verity();
  manifest.host = sample_host();
  manifest.host->fetch = "demand";
  ASSERT_OK_AND_ASSIGN(signed_, sign_boot_manifest(manifest, *key_));
  EXPECT_EQ(nlohmann::json::parse(signed_)["host"]["fetch"], "demand");
  ASSERT_OK_AND_ASSIGN(BootManifest back, verify_boot_manifest(signed_, key_->public_key()));
  EXPECT_EQ(back, manifest);
  expect_rejected(edited([](auto& d) { d["host"]["fetch"] = "full"; }));

  // A server from before the setting sent no "fetch": the host downloads it all.
  ASSERT_OK_AND_ASSIGN(BootManifest older,
                       verify_boot_manifest(resigned([](auto& d) { d["host"].erase("fetch"); }),
                                            key_->public_key()));
  EXPECT_EQ(older.host->fetch, "full");
  Error error = expect_rejected(resigned([](auto& d) { d["host"]["fetch"] = "lazy"; }));
  EXPECT_NE(error.message.find("not full or demand"), std::string::npos) << error.message;
  error = expect_rejected(resigned([](auto& d) { d["image"].erase("verity"); }));
  EXPECT_NE(error.message.find("no verity tree"), std::string::npos) << error.message;
}

TEST_F(BootManifestTest, PeerServersAreSignedAndMustBeUrls) {
  BootManifest manifest = sample();
  manifest.host = sample_host();
  manifest.host->servers = {"http://10.0.0.2:8080/", "https://10.0.0.3:8443/"};
  ASSERT_OK_AND_ASSIGN(signed_, sign_boot_manifest(manifest, *key_));
  ASSERT_OK_AND_ASSIGN(BootManifest back, verify_boot_manifest(signed_, key_->public_key()));
  EXPECT_EQ(back, manifest);
  // A man in the middle cannot add a server of his own.
  expect_rejected(edited([](auto& d) { d["host"]["servers"].push_back("http://10.0.0.66/"); }));
  Error error = expect_rejected(resigned([](auto& d) { d["host"]["servers"] = {"file:///etc"}; }));
  EXPECT_NE(error.message.find("not an http(s):// URL"), std::string::npos) << error.message;
  error = expect_rejected(resigned([](auto& d) { d["host"]["servers"] = "http://x/"; }));
  EXPECT_NE(error.message.find("not a list"), std::string::npos) << error.message;
  // None listed: the key is left out, so manifests without peers are as before.
  manifest.host->servers.clear();
  ASSERT_OK_AND_ASSIGN(signed_, sign_boot_manifest(manifest, *key_));
  EXPECT_FALSE(nlohmann::json::parse(signed_)["host"].contains("servers"));
}

}  // namespace
}  // namespace goldroot
