#include "bootserver/boot_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <set>
#include <filesystem>

#include "base/strings.h"
#include "bootserver/admin_auth.h"
#include "crypto/host_signature.h"
#include "image/export.h"
#include "crypto/site_key.h"
#include "fleet/agent_store.h"
#include "net/address.h"
#include "fleet/channel.h"
#include "fleet/effective.h"
#include "fleet/unregistered.h"
#include "image/image_info.h"
#include "initrd/uki.h"
#include "store/channel_journal.h"
#include "layer/render.h"
#include "netboot/mac_address.h"
#include "verity/update_patch.h"

namespace goldroot {

using server::CachePolicy;
using server::HttpRequest;
using server::HttpResponse;

HttpResponse json_error(int status, const std::string& message) {
  nlohmann::json body = {{"error", message}};
  return HttpResponse::json(status, body.dump() + "\n").with_cache(CachePolicy::kNoStore);
}

namespace {

// `base_url` ("http://HOST[:PORT]", HOST as the client named the server)
// moved to https on `tls_port`, or as it is without one.
std::string secure_base(const std::string& base_url, uint16_t tls_port) {
  if (tls_port == 0 || !starts_with(base_url, "http://")) return base_url;
  std::string host(host_of_authority(std::string_view(base_url).substr(7)));
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "https://" + host + ":" + std::to_string(tls_port);
}

HttpResponse json_ok(const nlohmann::json& body) {
  return HttpResponse::json(200, body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
                                     "\n")
      .with_cache(CachePolicy::kNoStore);
}

}  // namespace

BootService::BootService(Site* site, Inventory inventory, SigningKey key,
                         BootServiceOptions options, std::unique_ptr<LayerCache> layers,
                         Challenges challenges)
    : site_(site),
      inventory_(std::move(inventory)),
      key_(std::move(key)),
      options_(std::move(options)),
      artifacts_(&site->store(), site->exports_dir()),
      layers_(std::move(layers)),
      challenges_(std::move(challenges)) {}

Result<std::unique_ptr<BootService>> BootService::open(Site* site, BootServiceOptions options) {
  Inventory inventory = TRY(Inventory::open(site->database()));
  SigningKey key = TRY(load_site_key(site->keys_dir()));
  auto layers = TRY(LayerCache::create(options.cache_parent));
  Challenges challenges = TRY(Challenges::create(site->env()));
  return std::unique_ptr<BootService>(new BootService(site, std::move(inventory), std::move(key),
                                                      std::move(options), std::move(layers),
                                                      std::move(challenges)));
}

Result<Artifact> BootService::bootable_artifact(const Digest& commit) {
  auto artifact = TRY(artifacts_.for_commit(commit, ExportFormat::kErofs));
  if (!artifact)
    return make_error(ErrorCode::kNotFound, "image " + commit.hex().substr(0, 12) +
                                                " is not exported; run 'goldroot image export " +
                                                commit.hex().substr(0, 12) + "'");
  if (!artifact->kernel || !artifact->initrd)
    return make_error(ErrorCode::kNotFound,
                      "image " + commit.hex().substr(0, 12) + " has no kernel or initrd in /boot");
  return *artifact;
}

Result<netboot::BootUrls> BootService::boot_urls(const Digest& commit, const std::string& mac,
                                                const std::string& base_url) {
  Artifact artifact = TRY(bootable_artifact(commit));
  netboot::BootUrls urls;
  // iPXE fetches the kernel and initrds over plain HTTP (it holds no pin);
  // goldroot-boot and the agent use the server URL, over TLS when it has it.
  std::string client_base = secure_base(base_url, options_.tls_port);
  urls.server = client_base;
  urls.script_server = base_url;
  urls.kernel = base_url + "/objects/" + artifact.kernel->sha256.hex();
  urls.initrd = base_url + "/objects/" + artifact.initrd->sha256.hex();
  GoldrootInitrd initrd = TRY(initrd_for(commit, *artifact.kernel));
  urls.goldroot_initrd = base_url + "/initrd/" + initrd.sha256.hex() + ".img";
  urls.manifest = client_base + "/api/v1/boot/" + mac;
  return urls;
}

Result<std::optional<Digest>> BootService::default_commit() {
  Store& store = site_->store();
  return read_channel(store.env(), store.refs(), store.dir(), "gold");
}

Result<BootService::LocalBootFiles> BootService::local_boot_files(const Digest& commit) {
  Artifact artifact = TRY(bootable_artifact(commit));
  LocalBootFiles files;
  files.kernel_sha256 = artifact.kernel->sha256.hex();
  files.initrd_sha256 = artifact.initrd->sha256.hex();
  auto kernel = artifacts_.boot_file(files.kernel_sha256);
  auto initrd = artifacts_.boot_file(files.initrd_sha256);
  if (!kernel || !initrd)
    return make_error(ErrorCode::kNotFound,
                      "image " + commit.hex().substr(0, 12) + "'s kernel or initrd is not exported");
  files.kernel = *kernel;
  files.initrd = *initrd;
  GoldrootInitrd goldroot = TRY(initrd_for(commit, *artifact.kernel));
  files.goldroot_initrd = goldroot.path;
  files.goldroot_initrd_sha256 = goldroot.sha256.hex();
  return files;
}

Result<GoldrootInitrd> BootService::initrd_for(const Digest& commit, const BootFile& kernel) {
  std::lock_guard lock(initrd_mutex_);
  auto found = initrds_.find(commit);
  // `image gc` may have removed a build this server still remembered.
  if (found != initrds_.end() && ::access(found->second.path.c_str(), F_OK) == 0)
    return found->second;
  InitrdSources sources;
  sources.tools_dir = options_.tools_dir;
  if (sources.tools_dir.empty()) {
    std::error_code error;
    sources.tools_dir = std::filesystem::read_symlink("/proc/self/exe", error).parent_path().string();
  }
  sources.site_public_key = key_.public_key().to_pem();
  sources.tls_pin = options_.tls_pin;
  GoldrootInitrd initrd = TRY(build_goldroot_initrd(site_->store(), commit, kernel, sources,
                                                    site_->exports_dir() + "/initrd")
                                  .context("building the goldroot initrd"));
  initrds_[commit] = initrd;
  return initrd;
}

Result<std::string> BootService::signed_kernel_image(const Digest& commit, std::string_view mode,
                                                     const std::string& base_url) {
  UkiOptions uki;
  uki.server = secure_base(base_url, options_.tls_port);
  uki.kernel_arguments = options_.menu.extra_kernel_arguments;
  uki.tls_pin = options_.tls_pin;
  uki.tools_dir = options_.tools_dir;
  // It builds the goldroot initrd too: one build at a time, as initrd_for.
  std::lock_guard lock(initrd_mutex_);
  return uki_for(*site_, commit, mode, uki);
}

void BootService::prepare_initrds() {
  Store& store = site_->store();
  auto channels = channel_view(store.env(), store.refs(), store.dir());
  if (!channels.ok()) return;
  std::set<Digest> commits;
  for (const auto& [name, commit] : *channels) commits.insert(commit);
  for (const Digest& commit : commits) {
    auto artifact = artifacts_.for_commit(commit, ExportFormat::kErofs);
    if (!artifact.ok() || !*artifact || !(*artifact)->kernel) continue;
    auto initrd = initrd_for(commit, *(*artifact)->kernel);
    if (!initrd.ok())
      std::fprintf(stderr, "goldroot: image %.12s: %s\n", commit.hex().c_str(),
                   initrd.error().message.c_str());
  }
}

HttpResponse BootService::goldroot_initrd(const std::string& name) {
  auto digest = ends_with(name, ".img") ? Digest::from_hex(name.substr(0, name.size() - 4))
                                        : std::nullopt;
  if (!digest) return json_error(404, "goldroot initrds are served as <sha256>.img");
  std::string path = site_->exports_dir() + "/initrd/" + digest->hex() + ".img";
  return HttpResponse::open_file(path).with_etag(digest->hex()).with_cache(CachePolicy::kImmutable);
}

HttpResponse BootService::ipxe_script(const std::string& name, const std::string& base_url) {
  auto ipxe = [](int status, std::string body) {
    return HttpResponse::text(status, std::move(body), "text/plain; charset=utf-8")
        .with_cache(CachePolicy::kNoStore);
  };
  // A script that says what is wrong on the machine's screen and asks again.
  auto trouble = [&](const std::string& message) {
    std::string text = message;
    for (char& c : text)
      if (c == '\n' || c == '$') c = ' ';
    return ipxe(200, "#!ipxe\necho goldroot: " + text + "\necho retrying in 30 seconds\nsleep 30\n"
                     "chain --replace --autofree " + base_url + "/boot/${netX/mac}.ipxe\n");
  };
  auto mac = netboot::mac_from_boot_script_name(name);
  if (!mac.ok()) return json_error(400, mac.error().message);
  auto host = host_for_mac(*mac);
  if (!host.ok()) return json_error(400, host.error().message);
  if (!*host || ((*host)->unregistered &&
                 options_.unknown.policy != netboot::UnknownHostPolicy::kDefaultImage)) {
    Store& store = site_->store();
    auto read_gold = read_channel(store.env(), store.refs(), store.dir(), "gold");
    std::optional<Digest> gold = read_gold.ok() ? *read_gold : std::nullopt;
    netboot::BootUrls urls;
    urls.server = base_url;
    if (gold) {
      auto found = boot_urls(*gold, *mac, base_url);
      if (found.ok()) urls = *found;
    }
    auto script = netboot::render_unknown_host_script(*mac, options_.unknown, urls, options_.menu);
    if (!script.ok()) return trouble(script.error().message);
    return ipxe(200, *script);
  }
  std::optional<Lab> lab;
  if ((*host)->lab) {
    std::lock_guard lock(inventory_mutex_);
    auto found = inventory_.find_lab(*(*host)->lab);
    if (found.ok()) lab = *found;
  }
  auto commit = commit_for(**host);
  if (!commit.ok()) return trouble(commit.error().message);
  auto urls = boot_urls(*commit, *mac, base_url);
  if (!urls.ok()) return trouble(urls.error().message);
  netboot::BootHost boot_host{(*host)->name, *mac,
                             boot_mode_name(effective_mode(**host, lab ? &*lab : nullptr).mode)};
  auto script = netboot::render_host_script(boot_host, *urls, options_.menu);
  if (!script.ok()) return trouble(script.error().message);
  return ipxe(200, *script);
}

Result<std::optional<Host>> BootService::host_for_mac(const std::string& raw) {
  std::string mac = TRY(parse_mac(raw));
  std::lock_guard lock(inventory_mutex_);
  return inventory_.find_host_by_mac(mac);
}

Result<Digest> BootService::commit_for(const Host& host) {
  std::optional<Lab> lab;
  if (host.lab) {
    std::lock_guard lock(inventory_mutex_);
    lab = TRY(inventory_.find_lab(*host.lab));
  }
  EffectiveChannel effective = effective_channel(host, lab ? &*lab : nullptr);
  if (effective.pinned_commit) {
    auto digest = Digest::from_hex(*effective.pinned_commit);
    if (!digest) return make_error(ErrorCode::kCorruption, "host " + host.name + " has a bad pin");
    return *digest;
  }
  Store& store = site_->store();
  auto commit = TRY(read_channel(store.env(), store.refs(), store.dir(), *effective.channel));
  if (!commit)
    return make_error(ErrorCode::kNotFound,
                      "host " + host.name + " follows channel '" + *effective.channel +
                          "', which points at no image yet; run 'goldroot channel set " +
                          *effective.channel + " IMAGE'");
  return *commit;
}

KeyPresentation BootService::presentation(const Host& host, const SignedRequest& signed_request,
                                          const HttpRequest& request) {
  KeyPresentation presented;
  presented.key = signed_request.key;
  presented.persistent = signed_request.persistent;
  presented.privileged_port = request.remote_port != 0 && request.remote_port < 1024;
  presented.from_inventory_ip = !host.ip || *host.ip == request.remote_address ||
                                "::ffff:" + *host.ip == request.remote_address;
  presented.address = request.remote_address;
  presented.now = site_->env()->now_seconds();
  return presented;
}

Result<KeyVerdict> BootService::present_key(const Host& host, const Lab* lab,
                                            const SiteSettings& settings,
                                            const SignedRequest& signed_request,
                                            const HttpRequest& request) {
  std::lock_guard lock(inventory_mutex_);
  auto transaction = TRY(inventory_.begin_write());
  EnrollPolicy policy = effective_enroll_policy(host, lab, settings.enroll);
  HostKeys keys(inventory_.database());
  KeyVerdict verdict =
      TRY(keys.present(host.name, policy, presentation(host, signed_request, request)));
  TRY(transaction.commit());
  return verdict;
}

Result<std::string> BootService::manifest_for(const Host& host, const Lab* lab,
                                              const SiteSettings& settings, const std::string& mac,
                                              const VerifyKey& key, const std::string& challenge,
                                              std::string* mode) {
  Digest commit = TRY(commit_for(host));
  auto artifact = TRY(artifacts_.for_commit(commit, ExportFormat::kErofs));
  if (!artifact)
    return make_error(ErrorCode::kNotFound, "image " + commit.hex().substr(0, 12) +
                                                " for host " + host.name +
                                                " is not exported; run 'goldroot image export " +
                                                commit.hex().substr(0, 12) + "'");
  BootManifest manifest = TRY(boot_manifest_of(*artifact));
  Commit data = TRY(site_->store().objects().read_commit(commit));
  if (data.created < settings.rollback_floor)
    return make_error(ErrorCode::kNotFound,
                      "image " + commit.hex().substr(0, 12) + " for host " + host.name +
                          " is older than the site's rollback floor (" +
                          format_utc(settings.rollback_floor) +
                          "); point its channel at a newer image");
  HostBinding binding;
  binding.name = host.name;
  binding.mac = TRY(parse_mac(mac));
  binding.mode = boot_mode_name(effective_mode(host, lab).mode);
  binding.key_id = key.key_id();
  LayerCache::Bundle bundle = TRY(layer_bundle(host.name));
  binding.layer_sha256 = bundle.sha256;
  binding.layer_size = bundle.size;
  binding.issued_at = site_->env()->now_seconds();
  binding.expires_at = binding.issued_at + kManifestLifetimeSeconds;
  binding.challenge = challenge;
  binding.image_time = data.created;
  binding.floor = settings.rollback_floor;
  binding.servers = options_.peers;
  // On demand needs the image's verity tree; without one (squashfs, or an
  // export from before trees) the host downloads it whole, as before.
  bool demand = effective_fetch(host, lab, settings.fetch).mode == FetchMode::kDemand;
  binding.fetch = fetch_mode_name(demand && manifest.image.verity ? FetchMode::kDemand
                                                                  : FetchMode::kFull);
  *mode = binding.mode;
  manifest.host = std::move(binding);
  return sign_boot_manifest(manifest, key_);
}

Result<std::optional<std::string>> BootService::prefetch_manifest(const std::string& name,
                                                                  const std::string& booted_commit,
                                                                  const std::string& challenge,
                                                                  int64_t now) {
  using Nothing = std::optional<std::string>;
  std::optional<Host> host;
  std::optional<Lab> lab;
  std::optional<VerifyKey> key;
  {
    std::lock_guard lock(inventory_mutex_);
    auto transaction = TRY(inventory_.begin_read());
    host = TRY(inventory_.find_host(name));
    if (!host || host->macs.empty()) return Nothing();
    if (host->lab) lab = TRY(inventory_.find_lab(*host->lab));
    key = TRY(HostKeys(inventory_.database()).enrolled(name));
  }
  if (!key) return Nothing();
  SiteSettings settings = TRY(site_->settings());
  const Lab* host_lab = lab ? &*lab : nullptr;
  if (!prefetch_open(effective_prefetch(host_lab, settings.prefetch), local_minute_of_day(now)))
    return Nothing();
  Digest commit = TRY(commit_for(*host));
  if (commit.hex() == booted_commit) return Nothing();
  auto artifact = TRY(artifacts_.for_commit(commit, ExportFormat::kErofs));
  if (!artifact) return Nothing();
  BootManifest manifest = TRY(boot_manifest_of(*artifact));
  // Blocks are fetched and checked against the image's verity tree.
  if (!manifest.image.verity) return Nothing();
  Commit data = TRY(site_->store().objects().read_commit(commit));
  if (data.created < settings.rollback_floor) return Nothing();
  HostBinding binding;
  binding.name = host->name;
  binding.mac = host->macs[0];
  binding.mode = boot_mode_name(effective_mode(*host, host_lab).mode);
  binding.key_id = key->key_id();
  binding.issued_at = now;
  binding.expires_at = now + kManifestLifetimeSeconds;
  binding.challenge = challenge;
  binding.image_time = data.created;
  binding.floor = settings.rollback_floor;
  binding.fetch = fetch_mode_name(effective_fetch(*host, host_lab, settings.fetch).mode);
  manifest.host = std::move(binding);
  return Nothing(TRY(sign_boot_manifest(manifest, key_)));
}

Result<BootService::Registered> BootService::register_unknown(const std::string& mac,
                                                              const SignedRequest& signed_request,
                                                              const HttpRequest& request) {
  BootMode mode = TRY(parse_boot_mode(options_.unknown.default_mode));
  // As the iPXE script: nothing that writes local disks or opens a shell.
  if (mode != BootMode::kNormal && mode != BootMode::kReset && mode != BootMode::kCache)
    return make_error(ErrorCode::kInvalidArgument,
                      "unregistered machines may boot in normal, reset or cache mode, not " +
                          options_.unknown.default_mode);
  std::lock_guard lock(inventory_mutex_);
  auto transaction = TRY(inventory_.begin_write());
  // Registered meanwhile (by the admin, or this MAC's previous request):
  // the usual path decides about its key.
  if (auto known = TRY(inventory_.find_host_by_mac(mac))) return Registered{*known, std::nullopt};
  Host host = TRY(add_unregistered_host(inventory_, mac, mode, options_.max_unregistered));
  HostKeys keys(inventory_.database());
  KeyVerdict verdict =
      TRY(keys.present(host.name, effective_enroll_policy(host, nullptr, EnrollPolicy::kAdmin),
                       presentation(host, signed_request, request)));
  // A host made for a key it then refuses would be a row for nothing:
  // the transaction is dropped, and the refusal answered.
  if (verdict != KeyVerdict::kAccepted) return Registered{host, verdict};
  TRY(transaction.commit());
  std::printf("goldroot serve: unregistered machine %s boots the default image as %s\n",
              host.macs[0].c_str(), host.name.c_str());
  std::fflush(stdout);
  return Registered{host, verdict};
}

HttpResponse BootService::boot_manifest(const HttpRequest& request, const std::string& mac) {
  auto host = host_for_mac(mac);
  if (!host.ok()) return json_error(400, host.error().message);
  bool unknown = !*host;
  // Unregistered hosts made under default-image wait like unknown MACs
  // when the server now asks for registration.
  if ((unknown || (*host)->unregistered) &&
      options_.unknown.policy != netboot::UnknownHostPolicy::kDefaultImage)
    return json_error(
        404, "no host has MAC " + mac + "; register it (goldroot host add NAME --mac " + mac + ")");
  // Checked before anything is written: an unknown MAC becomes a host only
  // for a request signed over a fresh challenge.
  auto signed_request = check_signed_request(request, challenges_, std::nullopt);
  if (!signed_request.ok())
    return json_error(signed_request.error().code == ErrorCode::kInvalidArgument ? 401 : 403,
                      signed_request.error().message);
  std::optional<KeyVerdict> registered_verdict;
  if (unknown) {
    auto added = register_unknown(mac, *signed_request, request);
    if (!added.ok())
      return json_error(added.error().code == ErrorCode::kNoSpace         ? 429
                        : added.error().code == ErrorCode::kAlreadyExists ? 409
                                                                          : 503,
                        added.error().message);
    *host = std::move(added->host);
    registered_verdict = added->verdict;
  }
  // What the key and the manifest depend on, read once for both.
  auto settings = site_->settings();
  if (!settings.ok()) return json_error(503, settings.error().message);
  std::optional<Lab> lab;
  if ((*host)->lab) {
    std::lock_guard lock(inventory_mutex_);
    auto found = inventory_.find_lab(*(*host)->lab);
    if (!found.ok()) return json_error(503, found.error().message);
    lab = std::move(found).value();
  }
  const Lab* host_lab = lab ? &*lab : nullptr;
  Result<KeyVerdict> verdict =
      registered_verdict ? Result<KeyVerdict>(*registered_verdict)
                         : present_key(**host, host_lab, *settings, *signed_request, request);
  if (!verdict.ok()) return json_error(503, verdict.error().message);
  const std::string& name = (*host)->name;
  std::string key_id = signed_request->key.key_id();
  auto refuse = [&](const std::string& message) {
    nlohmann::json body = {{"error", message},
                           {"enrollment", key_verdict_name(*verdict)},
                           {"key_id", key_id}};
    return HttpResponse::json(403, body.dump() + "\n").with_cache(CachePolicy::kNoStore);
  };
  switch (*verdict) {
    case KeyVerdict::kAccepted: break;
    case KeyVerdict::kPending:
      return refuse("host " + name + "'s key " + key_id +
                    " waits for the admin: goldroot host enroll " + name + " --key-id " + key_id);
    case KeyVerdict::kRefused:
      if (registered_verdict)  // nothing was written: no such host now
        return refuse("key " + key_id + " is not taken for unregistered machine " + mac +
                      ": it is another host's, or a diskless machine's new key sent from an "
                      "unprivileged port");
      return refuse("host " + name + " has another key enrolled; key " + key_id +
                    " is refused (the admin sees this in 'goldroot host keys'; "
                    "'goldroot host rekey " + name + "' starts over)");
    case KeyVerdict::kRevoked:
      return refuse("key " + key_id + " was revoked; the host must make a new key");
  }
  std::string mode;
  auto manifest = manifest_for(**host, host_lab, *settings, mac, signed_request->key,
                               *request.header(kChallengeHeader), &mode);
  if (!manifest.ok())
    return json_error(manifest.error().code == ErrorCode::kNotFound ? 409 : 500,
                      manifest.error().message);
  record_boot(name, mode);
  return HttpResponse::json(200, *manifest + "\n").with_cache(CachePolicy::kNoStore);
}

HttpResponse BootService::image(const std::string& name) {
  if (ends_with(name, ".verity")) {
    auto tree = artifacts_.verity_tree(name.substr(0, name.size() - 7));
    if (!tree) return json_error(404, "no verity tree " + name);
    return HttpResponse::open_file(tree->path)
        .with_etag(tree->sha256.hex())
        .with_cache(CachePolicy::kImmutable);
  }
  // An update patch for clients holding an older image: "<image>.patch-<its
  // root hash>" beside the image (image/export_patch.h).
  if (size_t at = name.find(".patch-"); at != std::string::npos) {
    std::string root = name.substr(at + 7);
    auto old_root = Digest::from_hex(root);
    auto artifact = artifacts_.image(name.substr(0, at));
    if (!artifact || !old_root || old_root->hex() != root)
      return json_error(404, "no update patch " + name);
    return HttpResponse::open_file(artifact->path + patch_suffix(*old_root))
        .with_cache(CachePolicy::kImmutable);
  }
  auto artifact = artifacts_.image(name);
  if (!artifact) return json_error(404, "no exported image " + name);
  return HttpResponse::open_file(artifact->path)
      .with_etag(artifact->sha256.hex())
      .with_cache(CachePolicy::kImmutable);
}

HttpResponse BootService::object(const std::string& digest) {
  auto path = artifacts_.boot_file(digest);
  if (!path) return json_error(404, "no kernel or initrd " + digest);
  return HttpResponse::open_file(*path).with_etag(digest).with_cache(CachePolicy::kImmutable);
}

void BootService::record_boot(const std::string& host, const std::string& mode) {
  int64_t now = site_->env()->now_seconds();
  {
    std::lock_guard lock(boots_mutex_);
    auto& [last, last_mode] = boots_recorded_[host];
    if (now - last < 60 && last_mode == mode) return;
    last = now;
    last_mode = mode;
  }
  std::lock_guard lock(inventory_mutex_);
  AgentStore agents(inventory_.database());
  (void)agents.record_boot_request(host, now, mode);
}

Result<LayerCache::Bundle> BootService::layer_bundle(const std::string& name) {
  RenderedLayer rendered = TRY([&] {
    std::lock_guard lock(inventory_mutex_);
    auto transaction = inventory_.begin_read();
    return render_host_layer(inventory_, site_->layers_dir(), name);
  }());
  return layers_->get(name, rendered);
}

HttpResponse BootService::layer(const HttpRequest& request, const std::string& name) {
  auto key = [&]() -> Result<std::optional<VerifyKey>> {
    std::lock_guard lock(inventory_mutex_);
    if (!TRY(inventory_.find_host(name)))
      return make_error(ErrorCode::kNotFound, "there is no host " + name);
    return HostKeys(inventory_.database()).enrolled(name);
  }();
  if (!key.ok())
    return json_error(key.error().code == ErrorCode::kNotFound ? 404 : 503, key.error().message);
  if (!*key)
    return json_error(403, "host " + name + " has no enrolled key, so nobody may have its layer");
  auto signed_request = check_signed_request(request, challenges_, **key);
  if (!signed_request.ok())
    return json_error(signed_request.error().code == ErrorCode::kInvalidArgument ? 401 : 403,
                      signed_request.error().message);
  auto bundle = layer_bundle(name);
  if (!bundle.ok())
    return json_error(bundle.error().code == ErrorCode::kNotFound ? 404 : 500,
                      bundle.error().message);
  return HttpResponse::file(std::move(bundle->file), bundle->size, "application/x-tar")
      .with_cache(CachePolicy::kNoStore);
}

HttpResponse BootService::hosts() {
  std::lock_guard lock(inventory_mutex_);
  auto hosts = inventory_.hosts();
  if (!hosts.ok()) return json_error(500, hosts.error().message);
  nlohmann::json out = nlohmann::json::array();
  for (const Host& host : *hosts) {
    std::optional<Lab> lab;
    if (host.lab) {
      auto found = inventory_.find_lab(*host.lab);
      if (found.ok()) lab = *found;
    }
    nlohmann::json item = to_json(host);
    EffectiveMode mode = effective_mode(host, lab ? &*lab : nullptr);
    EffectiveChannel channel = effective_channel(host, lab ? &*lab : nullptr);
    item["effective_mode"] = boot_mode_name(mode.mode);
    if (channel.channel) item["effective_channel"] = *channel.channel;
    out.push_back(item);
  }
  return json_ok(out);
}

HttpResponse BootService::images() {
  auto images = list_images(site_->store());
  if (!images.ok()) return json_error(500, images.error().message);
  nlohmann::json out = nlohmann::json::array();
  for (const ImageInfo& image : *images) {
    nlohmann::json item = commit_json(image.commit, image.data);
    item["name"] = image.name;
    out.push_back(item);
  }
  return json_ok(out);
}

HttpResponse BootService::channels() {
  Store& store = site_->store();
  auto channels = channel_view(store.env(), store.refs(), store.dir());
  if (!channels.ok()) return json_error(500, channels.error().message);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, commit] : *channels)
    out.push_back({{"name", name}, {"commit", commit.hex()}});
  return json_ok(out);
}

void BootService::install(server::Router& router) {
  auto suffix = [](const HttpRequest& request, std::string_view prefix) {
    return request.path.substr(prefix.size());
  };
  router.add_prefix("/boot/", [this, suffix](const HttpRequest& request) {
    // Absolute URLs for iPXE, on whatever address the client reached us.
    const std::string* host = request.header("host");
    std::string base = "http://" + (host ? *host : std::string("127.0.0.1"));
    return HttpResponse::later([this, name = suffix(request, "/boot/"), base] {
      return ipxe_script(name, base);
    });
  });
  router.add_exact("/api/v1/challenge", [this](const HttpRequest&) {
    nlohmann::json body = {{"challenge", challenges_.mint()},
                           {"expires_in", Challenges::kLifetimeSeconds}};
    return HttpResponse::json(200, body.dump() + "\n").with_cache(CachePolicy::kNoStore);
  });
  // Checking a signature and writing an enrolment: off the event loop.
  router.add_prefix("/api/v1/boot/", [this, suffix](const HttpRequest& request) {
    return HttpResponse::later([this, request, mac = suffix(request, "/api/v1/boot/")] {
      return boot_manifest(request, mac);
    });
  });
  // A new export is hashed before it is offered: not on the event loop.
  router.add_prefix("/images/", [this, suffix](const HttpRequest& request) {
    return HttpResponse::later([this, name = suffix(request, "/images/")] { return image(name); });
  });
  router.add_prefix("/objects/", [this, suffix](const HttpRequest& request) {
    return HttpResponse::later(
        [this, digest = suffix(request, "/objects/")] { return object(digest); });
  });
  router.add_prefix("/initrd/", [this, suffix](const HttpRequest& request) {
    return goldroot_initrd(suffix(request, "/initrd/"));
  });
  router.add_prefix("/layers/", [this, suffix](const HttpRequest& request) {
    std::string name = suffix(request, "/layers/");
    if (!ends_with(name, ".tar")) return json_error(404, "host layers are served as NAME.tar");
    return HttpResponse::later([this, request, host = name.substr(0, name.size() - 4)] {
      return layer(request, host);
    });
  });
  auto admin = [this](server::Handler handler) {
    return options_.admin ? options_.admin->guard(std::move(handler)) : handler;
  };
  auto later = [](std::function<HttpResponse()> work) {
    return [work](const HttpRequest&) { return HttpResponse::later(work); };
  };
  router.add_exact("/api/v1/hosts", admin(later([this] { return hosts(); })));
  router.add_exact("/api/v1/images", admin(later([this] { return images(); })));
  router.add_exact("/api/v1/channels", admin(later([this] { return channels(); })));
}

}  // namespace goldroot
