#include "boot/host_identity.h"

#include <sys/stat.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "boot/files.h"
#include "crypto/host_signature.h"

namespace goldroot::boot {

namespace {

// Keeps the key where it lives: the data partition, else this boot's run
// directory, else nowhere.
Status write_key(const HostIdentity& identity) {
  const std::string& path = identity.persistent() ? identity.path : identity.boot_path;
  if (path.empty()) return ok_status();
  TRY(make_directory(path.substr(0, path.rfind('/')), 0700));
  return write_key_file(path, identity.key);
}

}  // namespace

Status write_key_file(const std::string& path, const SigningKey& key) {
  TRY(write_file_atomically(path, key.to_pem()));
  if (::chmod(path.c_str(), 0600) != 0) return errno_error("chmod " + path, errno);
  return ok_status();
}

Result<HostIdentity> load_or_create_host_identity(const std::string& path,
                                                  const std::string& boot_path) {
  if (!path.empty()) {
    auto text = read_whole_file(path);
    if (text.ok()) {
      auto key = SigningKey::from_pem(*text);
      if (key.ok()) return HostIdentity{std::move(key).value(), path, ""};
      std::fprintf(stderr, "goldroot-boot: warning: the host key %s is unreadable (%s); making a "
                   "new one, which the admin must enroll again\n",
                   path.c_str(), key.error().message.c_str());
    }
  } else if (!boot_path.empty()) {
    auto text = read_whole_file(boot_path);
    if (text.ok()) {
      auto key = SigningKey::from_pem(*text);
      if (key.ok()) return HostIdentity{std::move(key).value(), "", boot_path};
    }
  }
  HostIdentity identity{TRY(SigningKey::generate()), path, path.empty() ? boot_path : ""};
  TRY(write_key(identity).context(identity.persistent() ? "keeping the host key on the data partition"
                                                       : "keeping this boot's host key"));
  if (identity.persistent())
    std::fprintf(stderr, "goldroot-boot: made this host's key %s\n",
                 identity.key.public_key().key_id().c_str());
  return identity;
}

Status renew_host_identity(HostIdentity* identity) {
  identity->key = TRY(SigningKey::generate());
  TRY(write_key(*identity));
  std::fprintf(stderr, "goldroot-boot: the server revoked this host's key; made a new one, %s\n",
               identity->key.public_key().key_id().c_str());
  return ok_status();
}

Result<std::string> fetch_challenge(const std::string& server, const FetchOptions& options) {
  std::string url = server + "/api/v1/challenge";
  std::string text = TRY(fetch_text(url, 4096, options));
  auto document = parse_untrusted_json<nlohmann::json>(text);
  if (!document.is_object() || !document.contains("challenge") || !document["challenge"].is_string())
    return make_error(ErrorCode::kCorruption, url + " did not answer with a challenge");
  return document["challenge"].get<std::string>();
}

std::string url_path(const std::string& url) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string::npos ? 0 : url.find('/', scheme + 3);
  if (start == std::string::npos) return "/";
  return url.substr(start, url.find_first_of("?#", start) - start);
}

Result<std::vector<std::string>> signed_request_headers(const HostIdentity& identity,
                                                        const std::string& method,
                                                        const std::string& url,
                                                        const std::string& challenge,
                                                        bool introduce) {
  std::string signature =
      TRY(sign_statement(identity.key, request_statement(method, url_path(url), challenge)));
  std::vector<std::string> headers = {
      std::string("X-Goldroot-Challenge: ") + challenge,
      std::string("X-Goldroot-Host-Signature: ") + signature};
  if (introduce) {
    headers.push_back("X-Goldroot-Host-Key: " + encode_public_key(identity.key.public_key()));
    headers.push_back(std::string("X-Goldroot-Key-Persistent: ") +
                      (identity.persistent() ? "yes" : "no"));
  }
  return headers;
}

}  // namespace goldroot::boot
