// `goldroot site show|set`: the site's settings (site/site.h);
// `goldroot site secure-boot`: its Secure Boot key (crypto/secure_boot_key.h).
#include <cstdio>

#include "base/strings.h"
#include "cli/command.h"
#include "crypto/secure_boot_key.h"
#include "fleet/database.h"
#include "replica/replica_pull.h"

namespace goldroot::cli {

namespace {

Result<int> site_show(Context& context, const Args& args) {
  CLI::App app{"Show the site's settings and where its inventory lives.", "goldroot site show"};
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kShared, "site show"));
  std::fputs(describe(TRY(site->settings())).c_str(), stdout);
  if (auto primary = TRY(site->primary_url())) std::printf("secondary-of=%s\n", primary->c_str());
  // Set by `goldroot init --database`, never by `site set`; no password.
  std::printf("database=%s\n", describe_database(site->database()).c_str());
  return 0;
}

Result<int> site_replicate(Context& context, const Args& args) {
  CLI::App app{"On a secondary server's site: copy what changed from the primary now (images, "
               "exports, layers, settings; checked by SHA-256, resumed where a copy stopped). "
               "'goldroot serve' on a secondary does this every few seconds.",
               "goldroot site replicate"};
  if (auto exit = parse_args(app, args)) return *exit;
  // No lock: a pull publishes each file atomically, as a running server does.
  auto site = TRY(Site::open_unlocked(context.env, context.site_root()));
  ReplicaSource source = TRY(replica_source(*site));
  DigestCache cache;
  PullSummary summary = TRY(pull_replica(context.env, site->root(), source, cache));
  std::printf("from %s: %s\n", source.primary_url.c_str(), describe(summary).c_str());
  return 0;
}

Result<int> site_set(Context& context, const Args& args) {
  CLI::App app{"Change site settings: goldroot site set key=value… (keys: upload-max, the "
               "largest upper layer an agent may upload for 'capture --host', e.g. 20G; "
               "enroll, how a host's first key is enrolled where its lab sets no policy: "
               "admin (default), first-use or port; uefi, what UEFI machines boot through where "
               "their lab sets nothing, and unregistered ones: ipxe (default), shim (Debian's "
               "signed shim and GRUB, for Secure Boot) or uki (the site's signed unified kernel images); fetch, how hosts "
               "get their image where neither they nor their lab say: full (default; download it "
               "all, then mount) or demand (read blocks as needed, checked by dm-verity); "
               "prefetch, when agents fetch the image their channel moved to before the host "
               "boots it, where their lab says nothing: off (default), now, or a daily window "
               "of the server's local time such as 22:00-06:00; "
               "rollback-floor=IMAGE, no host is given an "
               "image made before IMAGE from now on, and hosts refuse one older than the "
               "highest floor they saw — it only rises). A running server sees the change at "
               "its next upload or boot.",
               "goldroot site set"};
  std::vector<std::string> assignments;
  app.add_option("SETTINGS", assignments, "key=value")->required();
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kExclusive, "site set"));
  SiteSettings settings = TRY(site->settings());
  for (std::string assignment : assignments) {
    // An image's creation time is the floor it sets.
    if (assignment.rfind("rollback-floor=", 0) == 0) {
      std::string image = assignment.substr(15);
      uint64_t seconds = 0;
      if (!parse_uint64(image, &seconds)) {
        Digest commit = TRY(site->store().resolve(image));
        Commit data = TRY(site->store().objects().read_commit(commit));
        assignment = "rollback-floor=" + std::to_string(data.created);
      }
    }
    TRY(apply_site_setting(assignment, &settings));
  }
  TRY(site->save_settings(settings));
  std::fputs(describe(settings).c_str(), stdout);
  return 0;
}

Result<int> site_secure_boot(Context& context, const Args& args) {
  CLI::App app{"Show the site's Secure Boot certificate (made on first use) and how to enrol it "
               "on a PC, or import the site's own key and certificate with --import. The key "
               "signs the unified kernel images of 'goldroot image uki'.",
               "goldroot site secure-boot"};
  std::vector<std::string> import;
  bool force = false;
  app.add_option("--import", import,
                 "KEY CERT: the private key (PEM, unencrypted) and its X.509 certificate (PEM or "
                 "DER) to sign with from now on")
      ->expected(2);
  app.add_flag("--force", force,
               "replace another key (PCs that enrolled its certificate refuse what the new one "
               "signs until they enrol the new one)");
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(import.empty() ? LockMode::kShared : LockMode::kExclusive,
                                    "site secure-boot"));
  if (!import.empty()) {
    std::string key = TRY(context.env->read_file(import[0]));
    std::string certificate = TRY(context.env->read_file(import[1]));
    TRY(import_secure_boot_key(site->keys_dir(), key, certificate,
                               force ? ReplaceKey::kYes : ReplaceKey::kNo));
    std::printf("imported the Secure Boot key from %s and %s\n", import[0].c_str(),
                import[1].c_str());
  }
  SecureBootFiles files = TRY(site->secure_boot_key());
  SecureBootCertificateInfo info = TRY(describe_secure_boot_certificate(site->keys_dir()));
  std::printf("key          %s\n"
              "certificate  %s (PEM: sbsign, sbverify, the firmware's db)\n"
              "             %s (DER: mokutil --import)\n"
              "subject      %s\n"
              "sha256       %s\n"
              "expires      %s\n"
              "Enrol it once on each PC: 'mokutil --import %s' and confirm in MokManager at the "
              "next boot (shim), or add %s to the firmware's db.\n",
              files.key.c_str(), files.certificate.c_str(), files.der.c_str(),
              printable(info.subject).c_str(), info.fingerprint.c_str(), info.not_after.c_str(),
              files.der.c_str(), files.certificate.c_str());
  return 0;
}

const Command kSiteCommands[] = {
    {"show", "show the site's settings", site_show},
    {"set", "change site settings", site_set},
    {"secure-boot", "show or import the site's Secure Boot key and certificate", site_secure_boot},
    {"replicate", "on a secondary: copy what changed from the primary now", site_replicate},
};

}  // namespace

Result<int> run_site(Context& context, const Args& args) {
  return dispatch(context, kSiteCommands, args, "goldroot site");
}

}  // namespace goldroot::cli
