// BootService: what `goldroot serve` offers on top of the HTTP server, read
// straight from a site (no site lock: refs are replaced atomically, objects
// and exports are immutable, the inventory is SQLite in WAL mode — so admin
// commands keep working while clients boot).
//
//   GET /boot/<mac>.ipxe       the host's iPXE menu (iPXE's ${netX/mac})
//   GET /api/v1/challenge      a fresh challenge for a signed host request
//                              (host_auth.h)
//   GET /api/v1/boot/<mac>     the host's signed boot manifest (JSON), bound
//                              to the host, its mode, its layer bundle and
//                              this request (manifest/boot_manifest.h v2)
//                              and saying how it fetches the image;
//                              the request is signed with the host's key,
//                              which must be enrolled (fleet/host_keys.h) —
//                              or gets enrolled by the lab's policy — and
//                              counts as the host booting. Under
//                              --unknown default-image a MAC nobody
//                              registered becomes an unregistered host
//                              (fleet/unregistered.h; at most
//                              max_unregistered of them, 429 beyond) and
//                              boots like one; else it gets 404
//   GET /images/<sha256>.<fmt> an exported artifact (immutable)
//   GET /images/<sha256>.verity   an erofs artifact's dm-verity tree
//                              (immutable; Range like the images)
//   GET /objects/<sha256>      an exported image's kernel or initrd (immutable)
//   GET /initrd/<sha256>.img   a goldroot initrd (initrd/goldroot_initrd.h),
//                              built for an image when its first host's
//                              script is asked for (immutable)
//   GET /layers/<host>.tar     the host's rendered configuration layer (written
//                              once per change, layer_cache.h), only for a
//                              request signed with that host's enrolled key
//   GET /api/v1/hosts|images|channels   the inventory and store, as JSON
//
// Handlers are thread-safe (the inventory connection is shared under a
// mutex). Every route that reads the inventory or builds something answers
// off the event loop (HttpResponse::later); none writes to the inventory
// for a request not signed by a host key.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "bootserver/artifact_index.h"
#include "bootserver/host_auth.h"
#include "bootserver/layer_cache.h"
#include "crypto/ed25519.h"
#include "fleet/host_keys.h"
#include "fleet/inventory.h"
#include "fleet/unregistered.h"
#include "initrd/goldroot_initrd.h"
#include "netboot/ipxe_script.h"
#include "server/router.h"
#include "site/site.h"

namespace goldroot {

struct BootServiceOptions {
  // What an unregistered MAC gets: a registration screen showing its MAC,
  // or the default image (channel gold) in normal or reset mode.
  netboot::UnknownHostOptions unknown;
  // Under kDefaultImage: how many unregistered hosts the inventory may hold
  // (a student can forge any number of MACs).
  int64_t max_unregistered = kDefaultUnregisteredLimit;
  netboot::IpxeMenuOptions menu;
  // Guards the listing API (/api/v1/hosts|images|channels); null: open.
  class AdminAuth* admin = nullptr;
  // Where goldroot-boot and goldroot-agent are (default: beside this
  // program), for the goldroot initrd.
  std::string tools_dir;
  // Where the layer cache's private directory goes (e.g. $TMPDIR; not
  // SITE/store/tmp, which admin commands empty).
  std::string cache_parent = "/tmp";
  // The server's TLS port: when set, a client's goldroot-boot and agent are
  // sent to https://<the host iPXE used>:<tls_port> for the manifest, the
  // image, the layer and reports (iPXE itself stays on plain HTTP). 0: all
  // plain HTTP.
  uint16_t tls_port = 0;
  // The pin of the server's TLS key (crypto/tls_identity.h), carried in the
  // goldroot initrd; "": none.
  // The site's other servers (`serve --peer URL`), named in every host's
  // manifest: where its running daemon and agent turn when this server
  // stops answering.
  std::vector<std::string> peers;
  std::string tls_pin;
};

class BootService {
 public:
  static Result<std::unique_ptr<BootService>> open(Site* site, BootServiceOptions options = {});

  // Adds the routes above to `router`.
  void install(server::Router& router);
  // Builds the goldroot initrds of the images the channels point at, so
  // the first machines of a lab do not wait for them. Errors are printed:
  // a script request would build (and report) them again.
  void prepare_initrds();

  // The host whose primary or other MAC is `mac` (any common spelling).
  Result<std::optional<Host>> host_for_mac(const std::string& mac);
  // The commit a host boots: its pin, or its channel's commit.
  Result<Digest> commit_for(const Host& host);
  // The commit's erofs export, which has a kernel and an initrd: NotFound
  // with the fixing command otherwise.
  Result<Artifact> bootable_artifact(const Digest& commit);
  // The URLs of the commit's kernel, initrd and manifest under `base_url`.
  Result<netboot::BootUrls> boot_urls(const Digest& commit, const std::string& mac,
                                      const std::string& base_url);
  // The same files on this machine, for boot loaders that load files from
  // a TFTP root rather than URLs (GRUB, grub_tree.h).
  struct LocalBootFiles {
    std::string kernel, initrd, goldroot_initrd;  // paths
    std::string kernel_sha256, initrd_sha256, goldroot_initrd_sha256;
  };
  Result<LocalBootFiles> local_boot_files(const Digest& commit);
  // The signed unified kernel image (initrd/uki.h) of `commit` in `mode`,
  // its command line pointing at `base_url` (as clients reach this server;
  // moved to https with a TLS port): its path, built once.
  Result<std::string> signed_kernel_image(const Digest& commit, std::string_view mode,
                                          const std::string& base_url);
  // The pre-fetch order for the answer to a report of host `name`, which
  // booted `booted_commit` (report/report.h): the signed manifest of the
  // image its channel or pin points at now, bound to the host's primary
  // MAC, its enrolled key and `challenge` — or nothing when its lab's (else
  // the site's) prefetch setting is closed at the server's local time
  // `now`, it already runs that image, or the image cannot be pre-fetched
  // (not exported as erofs with a verity tree, below the rollback floor).
  Result<std::optional<std::string>> prefetch_manifest(const std::string& name,
                                                       const std::string& booted_commit,
                                                       const std::string& challenge, int64_t now);
  // What unregistered machines boot by default: channel gold's commit, if any.
  Result<std::optional<Digest>> default_commit();
  const BootServiceOptions& options() const { return options_; }
  // How long a host's manifest is good for after it is issued.
  static constexpr int64_t kManifestLifetimeSeconds = 15 * 60;

 private:
  BootService(Site* site, Inventory inventory, SigningKey key, BootServiceOptions options,
              std::unique_ptr<LayerCache> layers, Challenges challenges);

  server::HttpResponse boot_manifest(const server::HttpRequest& request, const std::string& mac);
  // The host a validly signed request for unknown `mac` boots as under
  // --unknown default-image: a new unregistered host, written together with
  // its key and only when the key is accepted (the verdict says; a refusal
  // writes nothing) — or the host that took the MAC meanwhile (no
  // verdict: the usual path decides). NoSpace when max_unregistered are
  // kept.
  struct Registered {
    Host host;
    std::optional<KeyVerdict> verdict;
  };
  Result<Registered> register_unknown(const std::string& mac, const SignedRequest& signed_request,
                                      const server::HttpRequest& request);
  // What a request signed by `host`'s key presents (fleet/host_keys.h).
  KeyPresentation presentation(const Host& host, const SignedRequest& signed_request,
                               const server::HttpRequest& request);
  // The manifest for `host` (of `lab`, or null) under the site's
  // `settings`, booted from `mac` and asked with `challenge` by `key`; sets
  // `mode` to the mode it gives.
  Result<std::string> manifest_for(const Host& host, const Lab* lab, const SiteSettings& settings,
                                   const std::string& mac,
                                   const VerifyKey& key, const std::string& challenge,
                                   std::string* mode);
  // The enrolment decision about the key a request for `host` is signed with.
  Result<KeyVerdict> present_key(const Host& host, const Lab* lab, const SiteSettings& settings,
                                 const SignedRequest& signed_request,
                                 const server::HttpRequest& request);
  server::HttpResponse ipxe_script(const std::string& name, const std::string& base_url);
  server::HttpResponse image(const std::string& name);
  server::HttpResponse object(const std::string& digest);
  server::HttpResponse goldroot_initrd(const std::string& name);
  // The goldroot initrd for `commit`, built once per commit and process.
  Result<GoldrootInitrd> initrd_for(const Digest& commit, const BootFile& kernel);
  server::HttpResponse layer(const server::HttpRequest& request, const std::string& host);
  // The host's rendered layer bundle.
  Result<LayerCache::Bundle> layer_bundle(const std::string& host);
  // Marks `host` as booting in `mode` (down until its agent speaks), at
  // most once a minute per host and mode.
  void record_boot(const std::string& host, const std::string& mode);
  server::HttpResponse hosts();
  server::HttpResponse images();
  server::HttpResponse channels();

  Site* site_;
  std::mutex inventory_mutex_;
  Inventory inventory_;
  SigningKey key_;
  BootServiceOptions options_;
  ArtifactIndex artifacts_;
  std::mutex initrd_mutex_;  // held while one is built: a lab asks at once
  std::map<Digest, GoldrootInitrd> initrds_;
  std::unique_ptr<LayerCache> layers_;
  Challenges challenges_;
  std::mutex boots_mutex_;
  std::map<std::string, std::pair<int64_t, std::string>> boots_recorded_;  // host -> when, mode
};

// {"error": "..."} with `status`, uncached.
server::HttpResponse json_error(int status, const std::string& message);

}  // namespace goldroot
