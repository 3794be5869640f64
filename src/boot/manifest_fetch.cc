#include "boot/manifest_fetch.h"

#include <cctype>
#include <ctime>

#include "base/hash.h"
#include "boot/files.h"

namespace goldroot::boot {
namespace {

constexpr uint64_t kManifestLimit = 1 << 20;
constexpr uint64_t kLayerLimit = 256ull << 20;

// "52-54-00-AA-00-01" and "52:54:00:aa:00:01" alike, for comparing.
std::string canonical_mac(std::string mac) {
  for (char& c : mac) c = c == '-' ? ':' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return mac;
}

// Clocks of lab PCs drift; a manifest is refused only when it expired
// longer ago than this.
constexpr int64_t kClockSlackSeconds = 300;

// Checks what binds a manifest to this host and this boot. `challenge` is
// the one this boot's request was signed over; empty for the offline copy,
// which was checked when it was fetched.
Status check_binding(const BootManifest& manifest, const BootOptions& options,
                     const HostIdentity& identity, const std::string& challenge,
                     int64_t floor_seen) {
  if (!manifest.host)
    return make_error(ErrorCode::kCorruption,
                      "the manifest is not bound to a host (the server is older than this "
                      "goldroot-boot); refusing it");
  const HostBinding& host = *manifest.host;
  if (canonical_mac(host.mac) != canonical_mac(options.mac))
    return make_error(ErrorCode::kCorruption, "the manifest is for MAC " + host.mac +
                                                  ", not this machine's " + options.mac);
  if (host.key_id != identity.key.public_key().key_id())
    return make_error(ErrorCode::kCorruption, "the manifest was issued to key " + host.key_id +
                                                  ", not this host's " +
                                                  identity.key.public_key().key_id());
  if (!challenge.empty()) {
    if (host.challenge != challenge)
      return make_error(ErrorCode::kCorruption,
                        "the manifest answers another request (a replayed manifest)");
    int64_t now = ::time(nullptr);
    if (now > host.expires_at + kClockSlackSeconds)
      return make_error(ErrorCode::kCorruption,
                        "the manifest expired at " + std::to_string(host.expires_at) +
                            " (now " + std::to_string(now) + "); check this machine's clock");
  }
  if (host.image_time < host.floor || host.image_time < floor_seen)
    return make_error(ErrorCode::kCorruption,
                      "the manifest's image (made at " + std::to_string(host.image_time) +
                          ") is older than the rollback floor " +
                          std::to_string(std::max(host.floor, floor_seen)) + " this host has seen");
  TRY(parse_boot_mode(host.mode).context("the manifest's mode"));
  return ok_status();
}

// The mode to boot: the manifest's. The command line may only ask for a
// reset of a normal host (which discards nothing but local changes).
BootMode decide_mode(const BootManifest& manifest, const BootOptions& options) {
  BootMode decided = parse_boot_mode(manifest.host->mode).value();
  if (options.mode == BootMode::kReset && decided == BootMode::kNormal) return BootMode::kReset;
  if (options.mode != decided)
    std::fprintf(stderr, "goldroot-boot: the server says mode %s; goldroot.mode=%s on the "
                 "command line is ignored\n",
                 boot_mode_name(decided), boot_mode_name(options.mode));
  return decided;
}

}  // namespace

Result<Obtained> fetch_manifest(const BootOptions& options, const FetchOptions& base_fetch,
                                const VerifyKey& key, HostIdentity* identity, int64_t floor_seen,
                                std::string* challenge) {
  std::string server = options.server.empty() ? resolve_url(options.manifest_url, "/")
                                              : options.server;
  while (!server.empty() && server.back() == '/') server.pop_back();
  Obtained obtained;
  for (int attempt = 0;; ++attempt) {
    *challenge = TRY(fetch_challenge(server, base_fetch));
    FetchOptions fetch = base_fetch;
    // A diskless host's new key counts, under a lab's port policy, only
    // from a privileged port.
    fetch.privileged_source_port = !identity->persistent();
    fetch.headers = TRY(signed_request_headers(*identity, "GET", options.manifest_url, *challenge,
                                               /*introduce=*/true));
    std::string error_body;
    fetch.error_body = &error_body;
    auto text = fetch_text(options.manifest_url, kManifestLimit, fetch);
    if (!text.ok() && attempt == 0 &&
        error_body.find("\"enrollment\":\"revoked\"") != std::string::npos) {
      TRY(renew_host_identity(identity));
      continue;
    }
    obtained.manifest_text = TRY(std::move(text).context("boot manifest"));
    break;
  }
  obtained.manifest = TRY(verify_boot_manifest(obtained.manifest_text, key));
  TRY(check_binding(obtained.manifest, options, *identity, *challenge, floor_seen));
  obtained.mode = decide_mode(obtained.manifest, options);
  return obtained;
}

Result<Obtained> cached_manifest(const std::string& cache_dir, const VerifyKey& key,
                                 const BootOptions& options, const HostIdentity& identity,
                                 int64_t floor_seen) {
  Obtained obtained;
  obtained.manifest_text =
      TRY(read_whole_file(cache_dir + "/manifest.json").context("cached boot manifest"));
  obtained.manifest = TRY(verify_boot_manifest(obtained.manifest_text, key)
                              .context("cached copy in " + cache_dir));
  TRY(check_binding(obtained.manifest, options, identity, "", floor_seen)
          .context("cached copy in " + cache_dir));
  obtained.mode = decide_mode(obtained.manifest, options);
  if (obtained.mode != BootMode::kCache)
    return make_error(ErrorCode::kIo, "this host's last mode was " + obtained.manifest.host->mode +
                                          ", which boots only with its server");
  return obtained;
}

std::string manifest_image_url(const BootOptions& options, const BootManifest& manifest) {
  std::string reference = manifest.image.url.empty()
                              ? "/images/" + manifest.image.sha256.hex() + "." + manifest.image.format
                              : manifest.image.url;
  return resolve_url(options.manifest_url, reference);
}

std::string host_layer_url(const BootOptions& options, const HostBinding& binding) {
  std::string server = options.server.empty() ? options.manifest_url : options.server + "/";
  return resolve_url(server, "/layers/" + binding.name + ".tar");
}

Result<std::string> fetch_host_layer(const std::string& url, const HostBinding& binding,
                                     const HostIdentity& identity, FetchOptions fetch) {
  std::string base = resolve_url(url, "/");
  base.pop_back();
  std::string challenge = TRY(fetch_challenge(base, fetch));
  fetch.headers = TRY(signed_request_headers(identity, "GET", url, challenge, /*introduce=*/false));
  std::string tar = TRY(fetch_text(url, kLayerLimit, fetch).context("host layer"));
  TRY(check_host_layer(tar, binding, url));
  return tar;
}

Status check_host_layer(const std::string& tar, const HostBinding& binding, const std::string& url) {
  if (!binding.layer_sha256 || tar.size() != binding.layer_size ||
      Sha256::of(tar) != *binding.layer_sha256)
    return make_error(ErrorCode::kCorruption,
                      "the host layer " + url + " is not the one the manifest names (sha256 differs)");
  return ok_status();
}

}  // namespace goldroot::boot
