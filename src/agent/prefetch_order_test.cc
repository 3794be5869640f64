#include "agent/prefetch_order.h"

#include "base/testing/testing.h"

namespace goldroot::agent {
namespace {

constexpr int64_t kNow = 1795000000;

class PrefetchOrderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(site_, SigningKey::generate());
    ASSERT_OK_AND_ASSIGN(host_, SigningKey::generate());
    expected_ = {.host = "pc01",
                 .mac = "52:54:00:aa:00:01",
                 .key_id = host_->public_key().key_id(),
                 .challenge = "prefetch boot-1 17",
                 .booted_commit = std::string(64, '1'),
                 .now = kNow};
  }

  // A manifest as BootService::prefetch_manifest makes it.
  BootManifest manifest() const {
    BootManifest out;
    out.image.sha256 = *Digest::from_hex(std::string(64, 'a'));
    out.image.format = "erofs";
    out.image.url = "/images/" + std::string(64, 'a') + ".erofs";
    ImageVerity verity;
    verity.params.data_blocks = 100;
    verity.params.salt = "salt";
    verity.params.root_hash = *Digest::from_hex(std::string(64, 'b'));
    verity.tree_size = VerityGeometry(100, 4096).tree_size();
    verity.tree_url = "/images/" + std::string(64, 'a') + ".verity";
    out.image.size = 100 * 4096;
    out.image.verity = verity;
    out.commit = *Digest::from_hex(std::string(64, '2'));
    out.kernel = {"/boot/vmlinuz", *Digest::from_hex(std::string(64, 'c')), 8};
    out.initrd = {"/boot/initrd.img", *Digest::from_hex(std::string(64, 'd')), 9};
    HostBinding binding;
    binding.name = "pc01";
    binding.mac = "52:54:00:aa:00:01";
    binding.mode = "normal";
    binding.key_id = host_->public_key().key_id();
    binding.issued_at = kNow;
    binding.expires_at = kNow + 900;
    binding.challenge = "prefetch boot-1 17";
    binding.image_time = kNow - 3600;
    binding.fetch = "demand";
    out.host = binding;
    return out;
  }

  std::string signed_text(const BootManifest& manifest) const {
    return sign_boot_manifest(manifest, *site_).value();
  }

  // Checks that `text` is refused with one sentence containing `why`.
  void expect_refused(const std::string& text, const std::string& why) {
    auto checked = check_prefetch_order(text, site_->public_key(), expected_);
    ASSERT_FALSE(checked.ok()) << why;
    const std::string& message = checked.error().message;
    EXPECT_EQ(message.rfind("refused the server's pre-fetch order: ", 0), 0u) << message;
    EXPECT_NE(message.find(why), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }

  std::optional<SigningKey> site_, host_;
  PrefetchExpectation expected_;
};

TEST_F(PrefetchOrderTest, AcceptsTheSitesOrderForThisHostAndReport) {
  ASSERT_OK_AND_ASSIGN(BootManifest checked,
                       check_prefetch_order(signed_text(manifest()), site_->public_key(), expected_));
  EXPECT_EQ(checked, manifest());
  // The MAC's spelling does not matter.
  expected_.mac = "52:54:00:AA:00:01";
  EXPECT_OK(check_prefetch_order(signed_text(manifest()), site_->public_key(), expected_));
}

TEST_F(PrefetchOrderTest, RefusesWhatTheSiteDidNotSign) {
  ASSERT_OK_AND_ASSIGN(SigningKey other, SigningKey::generate());
  expect_refused(sign_boot_manifest(manifest(), other).value(), "not by this site's key");
  std::string tampered = signed_text(manifest());
  tampered.replace(tampered.find(std::string(64, 'b')), 64, std::string(64, 'e'));
  expect_refused(tampered, "signature");
  std::string unsigned_text = tampered.substr(0, tampered.find("\"signature\"")) + "\"x\": 1}";
  expect_refused(unsigned_text, "");
  expect_refused("not json", "");
}

TEST_F(PrefetchOrderTest, RefusesAnOrderForAnotherHostKeyOrReport) {
  BootManifest other = manifest();
  other.host->name = "pc02";
  expect_refused(signed_text(other), "not this pc01");
  other = manifest();
  other.host->mac = "52:54:00:aa:00:02";
  expect_refused(signed_text(other), "not this pc01");
  other = manifest();
  other.host->key_id = "0123456789abcdef";
  expect_refused(signed_text(other), "issued to key 0123456789abcdef");
  other = manifest();
  other.host->challenge = "prefetch boot-1 16";  // the answer to an earlier report
  expect_refused(signed_text(other), "replayed");
  other.host->challenge = "a challenge the server minted for a boot";
  expect_refused(signed_text(other), "replayed");
  BootManifest unbound = manifest();
  unbound.host.reset();
  expect_refused(signed_text(unbound), "not bound to a host");
}

TEST_F(PrefetchOrderTest, RefusesAnExpiredOrderWithClockSlack) {
  expected_.now = kNow + 900 + 299;
  EXPECT_OK(check_prefetch_order(signed_text(manifest()), site_->public_key(), expected_));
  expected_.now = kNow + 900 + 301;
  expect_refused(signed_text(manifest()), "check this machine's clock");
  expected_.now = kNow - 301;
  expect_refused(signed_text(manifest()), "check this machine's clock");
}

TEST_F(PrefetchOrderTest, RefusesWhatCannotOrNeedNotBePrefetched) {
  BootManifest booted = manifest();
  booted.commit = *Digest::from_hex(expected_.booted_commit);
  expect_refused(signed_text(booted), "already runs");
  BootManifest whole = manifest();
  whole.image.verity.reset();
  whole.host->fetch = "full";
  expect_refused(signed_text(whole), "no verity tree");
  BootManifest old = manifest();
  old.host->floor = kNow;
  expect_refused(signed_text(old), "rollback floor");
}

}  // namespace
}  // namespace goldroot::agent
