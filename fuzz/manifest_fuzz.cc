// libFuzzer: the signed boot manifest as goldroot-boot reads it from the
// server (or its cache) before trusting anything, verify_boot_manifest.
//
// Each input is verified twice against a fixed test key: as sent, which
// covers the JSON, the "signature" object, base64 and the key check; and
// re-signed, with its "signature" replaced by a valid one over the rest, so
// the field checks after the signature see arbitrary content too (only the
// site key could make such a manifest, but it must still be a sentence, not
// a crash). A manifest that passes is signed again and must read back
// equal.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/base64.h"
#include "crypto/ed25519.h"
#include "manifest/boot_manifest.h"

namespace {

using goldroot::SigningKey;

// A throwaway key made for this target; the seeds in
// fuzz/corpus/manifest are signed with it (key id cf70bdc1fe89715e).
constexpr std::string_view kTestKey =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ0cq6DZF9H77cVCu/yoxA62WpUvuUhGTIcOq3cS84Nq\n"
    "-----END PRIVATE KEY-----\n";

const SigningKey& test_key() {
  static const SigningKey key = SigningKey::from_pem(kTestKey).value();
  return key;
}

// `document` with a valid "signature" by `key` over the rest of it.
std::optional<std::string> resigned(nlohmann::json document, const SigningKey& key) {
  document.erase("signature");
  auto signature = key.sign("goldroot-boot-manifest-v1\n" + document.dump());
  if (!signature.ok()) return std::nullopt;
  document["signature"] = {{"algorithm", "ed25519"},
                           {"key_id", key.public_key().key_id()},
                           {"value", goldroot::base64_encode(*signature)}};
  return document.dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace goldroot;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const SigningKey& key = test_key();
  const VerifyKey public_key = key.public_key();
  (void)verify_boot_manifest(text, public_key);

  nlohmann::json document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object()) return 0;
  std::optional<std::string> signed_text = resigned(std::move(document), key);
  if (!signed_text) __builtin_trap();
  auto manifest = verify_boot_manifest(*signed_text, public_key);
  if (!manifest.ok()) return 0;
  auto again = sign_boot_manifest(*manifest, key);
  if (!again.ok()) __builtin_trap();
  auto reread = verify_boot_manifest(*again, public_key);
  if (!reread.ok() || !(*reread == *manifest)) __builtin_trap();
  return 0;
}
