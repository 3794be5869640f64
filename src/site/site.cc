#include "site/site.h"

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "crypto/key_file.h"
#include "crypto/secure_boot_key.h"
#include "crypto/site_key.h"
#include "crypto/tls_identity.h"

namespace goldroot {

namespace {
constexpr const char* kMarker = "{\"goldroot_site\": 1}\n";
constexpr const char* kDatabaseUrlFile = "/database.url";

// The names the TLS certificate is made for at init: this machine's. (Its
// clients check the key's pin, not the names; `goldroot serve` adds its
// addresses when it makes a missing certificate.)
std::vector<std::string> own_names() {
  std::vector<std::string> names = {"localhost", "127.0.0.1", "::1"};
  char hostname[256] = {};
  if (::gethostname(hostname, sizeof hostname - 1) == 0 && hostname[0]) {
    names.push_back(hostname);
    names.push_back(std::string(hostname).substr(0, std::string(hostname).find('.')));
  }
  return names;
}

// The Secure Boot certificate's subject names the server that made it: an
// admin enrolling it on a PC sees which site they trust.
std::string secure_boot_common_name() {
  char hostname[256] = {};
  std::string name = ::gethostname(hostname, sizeof hostname - 1) == 0 && hostname[0]
                         ? std::string(hostname)
                         : std::string("server");
  return "goldroot site " + name + " Secure Boot";
}

}  // namespace

std::string Site::default_root(const std::optional<std::string>& flag, const char* variable) {
  if (flag && !flag->empty()) return *flag;
  if (variable && *variable) return variable;
  return "/var/lib/goldroot";
}

namespace {

Result<uint64_t> parse_size(const std::string& text) {
  std::string digits = text;
  uint64_t unit = 1;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'K': case 'k': unit = uint64_t{1} << 10; break;
      case 'M': case 'm': unit = uint64_t{1} << 20; break;
      case 'G': case 'g': unit = uint64_t{1} << 30; break;
      case 'T': case 't': unit = uint64_t{1} << 40; break;
      default: break;
    }
    if (unit != 1) digits.pop_back();
  }
  uint64_t value = 0;
  if (!parse_uint64(digits, &value) || value == 0 || value > UINT64_MAX / unit)
    return make_error(ErrorCode::kInvalidArgument,
                      "'" + text + "' is not a size; write bytes or e.g. 512M, 20G");
  return value * unit;
}

}  // namespace

Status apply_site_setting(const std::string& assignment, SiteSettings* settings) {
  size_t equals = assignment.find('=');
  std::string key = assignment.substr(0, equals);
  if (equals == std::string::npos)
    return make_error(ErrorCode::kInvalidArgument, "write a setting as key=value, not '" + key + "'");
  std::string value = assignment.substr(equals + 1);
  if (key == "upload-max") {
    settings->upload_max_bytes = TRY(parse_size(value));
    return {};
  }
  if (key == "enroll") {
    settings->enroll = TRY(parse_enroll_policy(value));
    return {};
  }
  if (key == "uefi") {
    settings->uefi = TRY(parse_uefi_boot(value));
    return {};
  }
  if (key == "fetch") {
    settings->fetch = TRY(parse_fetch_mode(value));
    return {};
  }
  if (key == "prefetch") {
    settings->prefetch = TRY(parse_prefetch_setting(value));
    return {};
  }
  if (key == "rollback-floor") {
    uint64_t seconds = 0;
    if (!parse_uint64(value, &seconds) || seconds > uint64_t{1} << 40)
      return make_error(ErrorCode::kInvalidArgument,
                        "rollback-floor is a time in seconds since the epoch, not '" + value + "'");
    if (static_cast<int64_t>(seconds) < settings->rollback_floor)
      return make_error(ErrorCode::kInvalidArgument,
                        "the rollback floor only rises: it is " + format_utc(settings->rollback_floor) +
                            " UTC, later than " + format_utc(static_cast<int64_t>(seconds)) + " UTC");
    settings->rollback_floor = static_cast<int64_t>(seconds);
    return {};
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "there is no site setting '" + key +
                        "'; the settings are: upload-max, enroll, uefi, fetch, prefetch, rollback-floor");
}

std::string describe(const SiteSettings& settings) {
  return "upload-max=" + std::to_string(settings.upload_max_bytes) + " (" +
         human_bytes(settings.upload_max_bytes) + ")\n" + "enroll=" +
         enroll_policy_name(settings.enroll) + "\n" + "uefi=" + uefi_boot_name(settings.uefi) +
         "\n" + "fetch=" + fetch_mode_name(settings.fetch) + "\n" + "prefetch=" +
         prefetch_setting_name(settings.prefetch) + "\n" + "rollback-floor=" +
         std::to_string(settings.rollback_floor) +
         (settings.rollback_floor ? " (" + format_utc(settings.rollback_floor) + " UTC)" : " (none)") +
         "\n";
}

Result<SiteSettings> Site::settings() const {
  std::string text = TRY(env_->read_file(root_ + "/site.json"));
  nlohmann::json marker = nlohmann::json::parse(text, nullptr, false);
  if (!marker.is_object())
    return make_error(ErrorCode::kCorruption, root_ + "/site.json is not a JSON object");
  SiteSettings settings;
  auto found = marker.find("settings");
  if (found == marker.end()) return settings;
  const nlohmann::json& fields = *found;
  if (!fields.is_object() ||
      (fields.contains("upload_max_bytes") && !fields["upload_max_bytes"].is_number_unsigned()) ||
      (fields.contains("enroll") && !fields["enroll"].is_string()) ||
      (fields.contains("uefi") && !fields["uefi"].is_string()) ||
      (fields.contains("fetch") && !fields["fetch"].is_string()) ||
      (fields.contains("prefetch") && !fields["prefetch"].is_string()) ||
      (fields.contains("rollback_floor") && !fields["rollback_floor"].is_number_integer()))
    return make_error(ErrorCode::kCorruption, root_ + "/site.json has malformed settings");
  settings.upload_max_bytes = fields.value("upload_max_bytes", settings.upload_max_bytes);
  settings.rollback_floor = fields.value("rollback_floor", settings.rollback_floor);
  if (fields.contains("enroll"))
    settings.enroll = TRY(parse_enroll_policy(fields["enroll"].get<std::string>())
                              .context(root_ + "/site.json"));
  if (fields.contains("uefi"))
    settings.uefi =
        TRY(parse_uefi_boot(fields["uefi"].get<std::string>()).context(root_ + "/site.json"));
  if (fields.contains("fetch"))
    settings.fetch =
        TRY(parse_fetch_mode(fields["fetch"].get<std::string>()).context(root_ + "/site.json"));
  if (fields.contains("prefetch"))
    settings.prefetch = TRY(parse_prefetch_setting(fields["prefetch"].get<std::string>())
                                .context(root_ + "/site.json"));
  return settings;
}

Status Site::save_settings(const SiteSettings& settings) {
  nlohmann::json marker = {{"goldroot_site", 1},
                           {"settings",
                            {{"upload_max_bytes", settings.upload_max_bytes},
                             {"enroll", enroll_policy_name(settings.enroll)},
                             {"uefi", uefi_boot_name(settings.uefi)},
                             {"fetch", fetch_mode_name(settings.fetch)},
                             {"prefetch", prefetch_setting_name(settings.prefetch)},
                             {"rollback_floor", settings.rollback_floor}}}};
  return env_->write_file_atomic(root_ + "/site.json", marker.dump(2) + "\n");
}

Site::Site(Env* env, std::string root, FileLock lock, LockMode mode)
    : env_(env),
      root_(std::move(root)),
      lock_(std::move(lock)),
      mode_(mode),
      store_(env, root_ + "/store") {}

Status Site::init(Env* env, const std::string& root,
                  const std::optional<SecureBootPair>& secure_boot,
                  const std::optional<std::string>& database_url) {
  // A bad pair is refused before anything is made.
  if (secure_boot)
    TRY(check_secure_boot_pair(secure_boot->key_text, secure_boot->certificate_text)
            .context("the Secure Boot key"));
  TRY(env->create_dir(dirname_of(root)).context("creating site " + root));
  TRY(env->create_dir(root).context("creating site " + root));
  auto lock = TRY(FileLock::acquire(root + "/lock", LockMode::kExclusive, "init"));
  Store store(env, root + "/store");
  TRY(store.create());
  for (const char* dir : {"/layers", "/keys", "/exports"}) TRY(env->create_dir(root + dir));
  TRY(ensure_site_key(root + "/keys").context("creating the site's signing key"));
  TRY(ensure_tls_identity(root + "/keys", own_names()).context("creating the server's TLS key"));
  if (secure_boot)
    TRY(import_secure_boot_key(root + "/keys", secure_boot->key_text,
                               secure_boot->certificate_text, ReplaceKey::kNo)
            .context("the Secure Boot key"));
  TRY(ensure_secure_boot_key(root + "/keys", secure_boot_common_name())
          .context("creating the Secure Boot key"));
  if (database_url) {
    std::string path = root + kDatabaseUrlFile;
    if (env->exists(path)) {
      std::string kept(trim(TRY(env->read_file(path))));
      if (kept != *database_url)
        return make_error(ErrorCode::kAlreadyExists,
                          "site " + root + " keeps its inventory in another PostgreSQL database; "
                          "goldroot does not move an inventory");
    } else if (env->exists(root + "/goldroot.db")) {
      return make_error(ErrorCode::kAlreadyExists,
                        "site " + root + " keeps its inventory in SQLite (" + root +
                            "/goldroot.db); goldroot does not move an inventory to PostgreSQL");
    } else {
      TRY(write_new_file(path, *database_url + "\n", 0600));
    }
  }
  if (!env->exists(root + "/site.json")) TRY(env->write_file_atomic(root + "/site.json", kMarker));
  return {};
}

namespace {

// The primary's URL if the site at `root` is a secondary.
Result<std::optional<std::string>> read_primary_url(Env* env, const std::string& root) {
  std::string path = root + "/secondary.json";
  if (!env->exists(path)) return std::optional<std::string>();
  nlohmann::json marker = nlohmann::json::parse(TRY(env->read_file(path)), nullptr, false);
  if (!marker.is_object() || !marker.contains("primary") || !marker["primary"].is_string())
    return make_error(ErrorCode::kCorruption, path + " does not name the primary");
  return std::optional<std::string>(marker["primary"].get<std::string>());
}

}  // namespace

Status Site::init_secondary(Env* env, const std::string& root, std::string primary_url,
                            const std::string& keys_from,
                            const std::optional<std::string>& database_url) {
  if (!starts_with(primary_url, "https://") || primary_url.size() <= 8)
    return make_error(ErrorCode::kInvalidArgument,
                      "--secondary-of wants the primary's https://HOST:PORT/ (its --tls-listen), "
                      "not '" + primary_url + "': the site's layers and store must not cross the "
                      "network in clear");
  if (primary_url.back() != '/') primary_url += '/';
  if (env->exists(root + "/site.json") && !TRY(read_primary_url(env, root)))
    return make_error(ErrorCode::kAlreadyExists,
                      root + " is already a primary site; a secondary starts from an empty one");
  for (const char* name : {"site.key", "tls.key", "tls.crt", "admin.token"})
    if (!env->exists(keys_from + "/" + name))
      return make_error(ErrorCode::kNotFound,
                        keys_from + " has no " + name + ": bring a copy of the primary's "
                        "SITE/keys (after its first 'goldroot serve', which makes admin.token)");
  TRY(env->create_dir(dirname_of(root)).context("creating site " + root));
  TRY(env->create_dir(root).context("creating site " + root));
  TRY(env->create_dir(root + "/keys"));
  ::chmod((root + "/keys").c_str(), 0700);
  for (const std::string& name : TRY(env->list_dir(keys_from))) {
    std::string from = keys_from + "/" + name;
    struct stat st;
    if (::lstat(from.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    std::string to = root + "/keys/" + name;
    TRY(env->copy_file_atomic(from, to).context("copying the primary's keys"));
    bool is_public = ends_with(name, ".crt") || ends_with(name, ".pub") || ends_with(name, ".der");
    ::chmod(to.c_str(), is_public ? 0644 : 0600);
  }
  TRY(init(env, root, std::nullopt, database_url));
  nlohmann::json marker = {{"primary", primary_url}};
  return env->write_file_atomic(root + "/secondary.json", marker.dump() + "\n");
}

Result<std::optional<std::string>> Site::primary_url() const {
  return read_primary_url(env_, root_);
}

Result<SecureBootFiles> Site::secure_boot_key() const {
  TRY(ensure_secure_boot_key(keys_dir(), secure_boot_common_name())
          .context("the site's Secure Boot key"));
  return secure_boot_files(keys_dir());
}

Result<std::unique_ptr<Site>> Site::open(Env* env, const std::string& root, LockMode mode,
                                         const std::string& command) {
  if (!env->exists(root + "/site.json"))
    return make_error(ErrorCode::kNotFound,
                      root + " is not a goldroot site; create it with 'goldroot init'");
  if (mode == LockMode::kExclusive)
    if (auto primary = TRY(read_primary_url(env, root)))
      return make_error(ErrorCode::kPermissionDenied,
                        "this site is a secondary of " + *primary + ": '" + command +
                            "' would change it; run it on the primary");
  auto lock = TRY(FileLock::acquire(root + "/lock", mode, command));
  std::unique_ptr<Site> site(new Site(env, root, std::move(lock), mode));
  TRY(site->read_database());
  if (mode == LockMode::kExclusive) site->store_.clean_tmp();
  return site;
}

Result<std::unique_ptr<Site>> Site::open_unlocked(Env* env, const std::string& root) {
  if (!env->exists(root + "/site.json"))
    return make_error(ErrorCode::kNotFound,
                      root + " is not a goldroot site; create it with 'goldroot init'");
  std::unique_ptr<Site> site(new Site(env, root, FileLock::none(), LockMode::kShared));
  TRY(site->read_database());
  return site;
}

Status Site::read_database() {
  database_ = root_ + "/goldroot.db";
  std::string path = root_ + kDatabaseUrlFile;
  if (!env_->exists(path)) return {};
  database_ = trim(TRY(env_->read_file(path)));
  if (database_.empty())
    return make_error(ErrorCode::kCorruption,
                      path + " is empty; it should hold the inventory's postgresql:// URL");
  return {};
}

}  // namespace goldroot
