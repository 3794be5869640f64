// Site: one goldroot installation on the admin's server — a directory
// (default /var/lib/goldroot, or $GOLDROOT_SITE, or --site) holding
//   site.json      marker and settings
//   lock           the site lock (see FileLock)
//   store/         the image store (objects, refs, caches)
//   goldroot.db    the fleet inventory (SQLite), unless
//   database.url   names a PostgreSQL database instead (mode 0600: the URL
//                  may hold a password); see fleet/database.h
//   layers/        configuration layers
//   keys/          the site's ed25519 signing key (see crypto/site_key.h),
//                  the server's TLS key and certificate (crypto/tls_identity.h)
//                  and the Secure Boot key (crypto/secure_boot_key.h)
//   exports/       image artifacts built from commits
//   secondary.json on a secondary server only: {"primary": URL}
// A secondary server (`goldroot init --secondary-of URL`) shares its
// primary's database and keys and copies the rest from it
// (replica/replica_pull.h); commands that change the site refuse to run on
// it and name the primary.
// A Site holds its lock for its lifetime. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "crypto/secure_boot_key.h"
#include "site/enroll_policy.h"
#include "site/fetch_mode.h"
#include "site/prefetch_setting.h"
#include "site/uefi_boot.h"
#include "store/store.h"
#include "sys/env.h"
#include "sys/file_lock.h"

namespace goldroot {

// The site's settings, kept in site.json ("settings"): what holds for every
// server and command of the site. `goldroot site set KEY=VALUE` changes one.
struct SiteSettings {
  // The largest upper layer a host's agent may upload for `capture --host`.
  uint64_t upload_max_bytes = uint64_t{16} << 30;
  // How a host's first key is enrolled where its lab sets no policy.
  EnrollPolicy enroll = EnrollPolicy::kAdmin;
  // What UEFI machines boot through where their lab sets nothing, and what
  // unregistered ones get: iPXE, or shim and GRUB for Secure Boot.
  UefiBoot uefi = UefiBoot::kIpxe;
  // How hosts get their image where neither they nor their lab say: the
  // whole file before mounting, or blocks on demand through dm-verity.
  FetchMode fetch = FetchMode::kFull;
  // When agents fetch the image their channel moved to before it is booted,
  // where their lab says nothing: off, now, or a daily window.
  PrefetchSetting prefetch;
  // The rollback floor: no host is given an image made before this time
  // (seconds since the epoch), and hosts remember the highest floor they
  // saw. It only rises (`goldroot site set rollback-floor=IMAGE`).
  int64_t rollback_floor = 0;
};

// "upload-max=20G", "enroll=first-use", "uefi=shim", "fetch=demand",
// "prefetch=22:00-06:00": sets one setting of `settings`
// (sizes take K, M, G, T).
Status apply_site_setting(const std::string& assignment, SiteSettings* settings);
// Every setting as "key=value" lines.
std::string describe(const SiteSettings& settings);

class Site {
 public:
  // Where the site lives: --site (`flag`), else $GOLDROOT_SITE (`variable`,
  // which main reads), else /var/lib/goldroot.
  static std::string default_root(const std::optional<std::string>& flag, const char* variable);

  // The admin's own Secure Boot key and certificate, for init.
  struct SecureBootPair {
    std::string key_text, certificate_text;
  };

  // Creates a site (idempotent for an existing one), including its signing
  // key, TLS identity and Secure Boot key (`secure_boot` when given, else
  // a new one); an existing key is never replaced. `database_url`, a
  // postgresql:// URL, keeps the inventory there instead of in SQLite; a
  // site never changes engines (its inventory would stay behind).
  static Status init(Env* env, const std::string& root,
                     const std::optional<SecureBootPair>& secure_boot = std::nullopt,
                     const std::optional<std::string>& database_url = std::nullopt);

  // Makes the site at `root` a secondary of the server at `primary_url`
  // (https://HOST:PORT/, its --tls-listen): copies the primary's keys from
  // `keys_from` (a copy of its SITE/keys the admin brought over), then
  // creates the site as init does, keeping those keys. Refuses a site that
  // is already a primary.
  // `database_url`: the PostgreSQL database the primary uses (which the
  // secondary shares); without, the secondary keeps an inventory of its own.
  static Status init_secondary(Env* env, const std::string& root, std::string primary_url,
                               const std::string& keys_from,
                               const std::optional<std::string>& database_url = std::nullopt);

  // Opens an existing site and takes its lock in `mode`. `command` names the
  // holder in the lock file, for the message another command gets. On a
  // secondary, kExclusive (a command that changes the site) is refused with
  // a sentence naming the primary.
  static Result<std::unique_ptr<Site>> open(Env* env, const std::string& root, LockMode mode,
                                            const std::string& command);

  // Opens a site without taking its lock: only for readers that tolerate
  // concurrent changes (refs and objects are replaced atomically).
  static Result<std::unique_ptr<Site>> open_unlocked(Env* env, const std::string& root);

  // Reads the settings now (a running server sees a change without restarting).
  Result<SiteSettings> settings() const;
  // Writes them atomically; the caller holds the site lock.
  Status save_settings(const SiteSettings& settings);

  // The primary's URL on a secondary, nullopt on a primary.
  Result<std::optional<std::string>> primary_url() const;

  const std::string& root() const { return root_; }
  std::string store_dir() const { return root_ + "/store"; }
  // Where the inventory lives, for Database::open: SITE/goldroot.db, or
  // the postgresql:// URL of SITE/database.url (with its password: print
  // describe_database() of it, never the URL itself).
  const std::string& database() const { return database_; }
  std::string layers_dir() const { return root_ + "/layers"; }
  std::string keys_dir() const { return root_ + "/keys"; }
  std::string exports_dir() const { return root_ + "/exports"; }
  // Upper layers hosts' agents uploaded for `capture --host`: <command id>.tar.
  std::string uploads_dir() const { return root_ + "/uploads"; }
  // The Secure Boot key's files, made on first need (sites made before
  // goldroot had one get it then).
  Result<SecureBootFiles> secure_boot_key() const;
  LockMode lock_mode() const { return mode_; }
  Env* env() const { return env_; }
  Store& store() { return store_; }

 private:
  Site(Env* env, std::string root, FileLock lock, LockMode mode);
  Status read_database();

  Env* env_;
  std::string root_;
  FileLock lock_;
  LockMode mode_;
  std::string database_;
  Store store_;
};

}  // namespace goldroot
