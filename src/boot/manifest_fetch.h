// Steps 1 and 4 of a boot on the network (boot_sequence.h): the signed,
// host-bound boot manifest and the host's configuration layer, fetched with
// requests signed by the host key over a fresh server challenge and checked
// before anything trusts them. goldroot-boot runs them; so does the boot
// storm benchmark's simulated client (bench/boot_storm_client.cc), which
// must load the server exactly as a PC does.
//
// A manifest is trusted only when it verifies against the pinned site key,
// names this MAC and this host key, answers this boot's challenge, has not
// expired (beyond clock slack) and names an image no older than the
// rollback floor. Functions only.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "boot/host_identity.h"
#include "boot/http_fetch.h"
#include "boot/kernel_cmdline.h"
#include "crypto/ed25519.h"
#include "manifest/boot_manifest.h"

namespace goldroot::boot {

// The verified manifest, from the server or from the local copy.
struct Obtained {
  std::string manifest_text;
  BootManifest manifest;
  BootMode mode = BootMode::kNormal;  // what the manifest says, or reset on request
};

// Takes a challenge and fetches options.manifest_url signed with the host
// key (a revoked key is renewed once and the request repeated); `challenge`
// receives the challenge the request answered.
Result<Obtained> fetch_manifest(const BootOptions& options, const FetchOptions& fetch,
                                const VerifyKey& key, HostIdentity* identity, int64_t floor_seen,
                                std::string* challenge);

// The copy a cache-mode host kept in `cache_dir` (manifest.json), verified
// again; only a manifest whose mode is cache boots offline.
Result<Obtained> cached_manifest(const std::string& cache_dir, const VerifyKey& key,
                                 const BootOptions& options, const HostIdentity& identity,
                                 int64_t floor_seen);

// The image's absolute URL: the manifest's own, else /images/SHA.FORMAT,
// resolved against the manifest's URL.
std::string manifest_image_url(const BootOptions& options, const BootManifest& manifest);
// SERVER/layers/HOST.tar for this boot.
std::string host_layer_url(const BootOptions& options, const HostBinding& binding);
// Fetches the layer with a signed request and checks it is the bundle the
// manifest names (size and sha256).
Result<std::string> fetch_host_layer(const std::string& url, const HostBinding& binding,
                                     const HostIdentity& identity, FetchOptions fetch);
Status check_host_layer(const std::string& tar, const HostBinding& binding, const std::string& url);

}  // namespace goldroot::boot
