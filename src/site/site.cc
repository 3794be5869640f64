#include "site/site.h"

#include <cstdlib>

#include "crypto/site_key.h"

namespace goldroot {

namespace {
constexpr const char* kMarker = "{\"goldroot_site\": 1}\n";
}

std::string Site::default_root(const std::optional<std::string>& flag) {
  if (flag && !flag->empty()) return *flag;
  const char* env = std::getenv("GOLDROOT_SITE");
  if (env && *env) return env;
  return "/var/lib/goldroot";
}

Site::Site(Env* env, std::string root, FileLock lock, LockMode mode)
    : env_(env),
      root_(std::move(root)),
      lock_(std::move(lock)),
      mode_(mode),
      store_(env, root_ + "/store") {}

Status Site::init(Env* env, const std::string& root) {
  TRY(env->create_dir(dirname_of(root)).context("creating site " + root));
  TRY(env->create_dir(root).context("creating site " + root));
  auto lock = TRY(FileLock::acquire(root + "/lock", LockMode::kExclusive, "init"));
  Store store(env, root + "/store");
  TRY(store.create());
  for (const char* dir : {"/layers", "/keys", "/exports"}) TRY(env->create_dir(root + dir));
  TRY(ensure_site_key(root + "/keys").context("creating the site's signing key"));
  if (!env->exists(root + "/site.json")) TRY(env->write_file_atomic(root + "/site.json", kMarker));
  return {};
}

Result<std::unique_ptr<Site>> Site::open(Env* env, const std::string& root, LockMode mode,
                                         const std::string& command) {
  if (!env->exists(root + "/site.json"))
    return make_error(ErrorCode::kNotFound,
                      root + " is not a goldroot site; create it with 'goldroot init'");
  auto lock = TRY(FileLock::acquire(root + "/lock", mode, command));
  std::unique_ptr<Site> site(new Site(env, root, std::move(lock), mode));
  if (mode == LockMode::kExclusive) site->store_.clean_tmp();
  return site;
}

Result<std::unique_ptr<Site>> Site::open_unlocked(Env* env, const std::string& root) {
  if (!env->exists(root + "/site.json"))
    return make_error(ErrorCode::kNotFound,
                      root + " is not a goldroot site; create it with 'goldroot init'");
  return std::unique_ptr<Site>(new Site(env, root, FileLock::none(), LockMode::kShared));
}

}  // namespace goldroot
