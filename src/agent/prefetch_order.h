// The agent's check of a pre-fetch order (report/report.h): the server's
// answer to a report may name the image the host's channel moved to, as a
// boot manifest signed by the site. Nothing in the answer is believed
// unless this check passes — an answer over plain HTTP can be forged by
// anyone on the lab's wire — and the check is the one goldroot-boot makes
// of a manifest: the site's signature, then the binding to this host (its
// name, MAC and key), to the report it answers (the challenge), and a time
// window. The image it names is then fetched and checked block by block
// against the signed verity root hash, so the worst a forger achieves is
// the absence of a pre-fetch.
//
// Functions only; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "crypto/ed25519.h"
#include "manifest/boot_manifest.h"

namespace goldroot::agent {

// What a pre-fetch order must be bound to.
struct PrefetchExpectation {
  std::string host;           // the boot record's
  std::string mac;            // the boot record's
  std::string key_id;         // the host key's, which signed the report
  std::string challenge;      // prefetch_challenge() of the report answered
  std::string booted_commit;  // hex; an order for it is refused
  int64_t now = 0;            // Unix seconds
};

// The verified manifest of the image to pre-fetch; otherwise a Corruption
// error whose message is one sentence beginning "refused the server's
// pre-fetch order: ".
Result<BootManifest> check_prefetch_order(std::string_view signed_manifest,
                                          const VerifyKey& site_key,
                                          const PrefetchExpectation& expected);

}  // namespace goldroot::agent
