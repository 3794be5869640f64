#include "crypto/site_key.h"

#include <unistd.h>

#include "crypto/key_file.h"

namespace goldroot {

namespace {

constexpr const char* kPrivateName = "site.key";
constexpr const char* kPublicName = "site.pub";

}  // namespace

Status ensure_site_key(const std::string& keys_dir) {
  std::string private_path = keys_dir + "/" + kPrivateName;
  std::string public_path = keys_dir + "/" + kPublicName;
  if (::access(private_path.c_str(), F_OK) != 0) {
    SigningKey fresh = TRY(SigningKey::generate());
    Status written = write_new_file(private_path, fresh.to_pem(), 0600);
    if (!written.ok() && written.error().code != ErrorCode::kAlreadyExists) return written;
  }
  SigningKey key = TRY(load_site_key(keys_dir));
  if (::access(public_path.c_str(), F_OK) != 0) {
    Status written = write_new_file(public_path, key.public_key().to_pem(), 0644);
    if (!written.ok() && written.error().code != ErrorCode::kAlreadyExists) return written;
  }
  VerifyKey published = TRY(load_site_public_key(keys_dir));
  if (!(published == key.public_key()))
    return make_error(ErrorCode::kCorruption,
                      public_path + " does not match " + private_path +
                          "; restore the pair from backup or remove site.pub to rewrite it");
  return {};
}

Result<SigningKey> load_site_key(const std::string& keys_dir) {
  std::string path = keys_dir + "/" + kPrivateName;
  std::string pem = TRY(read_small_file(path));
  return std::move(SigningKey::from_pem(pem)).context(path);
}

Result<VerifyKey> load_site_public_key(const std::string& keys_dir) {
  std::string path = keys_dir + "/" + kPublicName;
  std::string pem = TRY(read_small_file(path));
  return std::move(VerifyKey::from_pem(pem)).context(path);
}

}  // namespace goldroot
