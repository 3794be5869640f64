#include "agent/prefetch_order.h"

#include <algorithm>
#include <cctype>

namespace goldroot::agent {

namespace {

// Lab PCs' clocks drift; as goldroot-boot, an order is refused only when
// it expired longer ago than this (or was issued this far in the future).
constexpr int64_t kClockSlackSeconds = 300;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

Error refused(const std::string& why) {
  return make_error(ErrorCode::kCorruption, "refused the server's pre-fetch order: " + why);
}

}  // namespace

Result<BootManifest> check_prefetch_order(std::string_view signed_manifest,
                                          const VerifyKey& site_key,
                                          const PrefetchExpectation& expected) {
  auto verified = verify_boot_manifest(signed_manifest, site_key);
  if (!verified.ok()) return refused(verified.error().message);
  BootManifest manifest = std::move(verified).value();
  if (!manifest.host) return refused("its manifest is not bound to a host");
  const HostBinding& host = *manifest.host;
  if (host.name != expected.host || lower(host.mac) != lower(expected.mac))
    return refused("it is for host " + host.name + " (" + host.mac + "), not this " +
                   expected.host + " (" + expected.mac + ")");
  if (host.key_id != expected.key_id)
    return refused("it was issued to key " + host.key_id + ", not this host's " + expected.key_id);
  if (host.challenge != expected.challenge)
    return refused("it answers another report (a replayed order)");
  if (expected.now > host.expires_at + kClockSlackSeconds ||
      expected.now + kClockSlackSeconds < host.issued_at)
    return refused("it is valid from " + std::to_string(host.issued_at) + " to " +
                   std::to_string(host.expires_at) + ", not now (" + std::to_string(expected.now) +
                   "); check this machine's clock");
  if (host.image_time < host.floor)
    return refused("its image is older than the site's rollback floor");
  if (manifest.image.format != "erofs" || !manifest.image.verity)
    return refused("its image has no verity tree to check the fetched blocks with");
  if (manifest.commit.hex() == expected.booted_commit)
    return refused("it names the image this host already runs");
  return manifest;
}

}  // namespace goldroot::agent
