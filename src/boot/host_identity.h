// The host's own key, which proves to the server that a request comes from
// this machine (issue #14; fleet/host_keys.h is the server's side). A
// machine with a data partition keeps it there, in a 0700 directory, so it
// survives every reset and reinstall of the image; a diskless machine makes
// one per boot, in RAM, and says so (it can only be enrolled under a lab's
// weaker "port" policy or by the admin each time).
//
// The agent signs its reports with the same key: goldroot-boot puts a copy
// into the host layer at /etc/goldroot/host.key (0600), where only root on
// this machine reads it. Not thread-safe.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "boot/http_fetch.h"
#include "crypto/ed25519.h"

namespace goldroot::boot {

struct HostIdentity {
  SigningKey key;
  std::string path;  // on the data partition; empty: a key for this boot only
  // Where a key for this boot only is kept (in /run), so that a retry of
  // this boot presents the key the server already saw; empty: nowhere.
  std::string boot_path;
  bool persistent() const { return !path.empty(); }
};

// The key at `path`, made there when missing (a corrupt file is replaced,
// with a warning: the host then presents a new key, which the admin sees);
// an empty `path` gives a key for this boot only: the one at `boot_path`
// if an earlier attempt of this boot left one, else a new one kept there.
Result<HostIdentity> load_or_create_host_identity(const std::string& path,
                                                  const std::string& boot_path = "");
// Writes `key` to `path` as PEM, mode 0600 (atomically replaced).
Status write_key_file(const std::string& path, const SigningKey& key);
// A new key in place of a revoked one.
Status renew_host_identity(HostIdentity* identity);

// A fresh challenge from SERVER/api/v1/challenge.
Result<std::string> fetch_challenge(const std::string& server, const FetchOptions& options);

// The headers that sign `method` `url`'s path over `challenge`; with
// `introduce`, also the public key and whether it is kept on disk (the
// manifest request, which may enroll it).
Result<std::vector<std::string>> signed_request_headers(const HostIdentity& identity,
                                                        const std::string& method,
                                                        const std::string& url,
                                                        const std::string& challenge,
                                                        bool introduce);

// The path of an absolute URL, as the server sees it ("/api/v1/boot/...").
std::string url_path(const std::string& url);

}  // namespace goldroot::boot
