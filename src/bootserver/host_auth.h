// The server's side of signed host requests (crypto/host_signature.h):
// challenges it mints and takes back once, and the check of a request's
// host headers.
//
// A challenge is "<time>.<16 random hex>.<HMAC of both under a secret this
// process drew at start>": the server needs no table to know it minted it,
// only a set of the ones already redeemed (per path, for a minute), which
// stops a recorded request from being sent again. A restart forgets the
// secret, so challenges minted before it no longer count: the host takes
// a new one. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/result.h"
#include "crypto/ed25519.h"
#include "server/http_request.h"
#include "sys/env.h"

namespace goldroot {

class Challenges {
 public:
  static constexpr int64_t kLifetimeSeconds = 60;

  static Result<Challenges> create(Env* env);
  Challenges(Challenges&& other) noexcept
      : env_(other.env_), secret_(std::move(other.secret_)), used_(std::move(other.used_)) {}

  std::string mint();
  // Ok the first time `challenge` comes back for `path` within its
  // lifetime; a PermissionDenied error saying why otherwise.
  Status redeem(const std::string& challenge, const std::string& path);

 private:
  Challenges(Env* env, std::string secret) : env_(env), secret_(std::move(secret)) {}

  Env* env_;
  std::string secret_;
  std::mutex mutex_;
  std::map<std::string, int64_t> used_;  // "challenge path" -> when it expires
};

// A request's host headers, checked.
struct SignedRequest {
  VerifyKey key;
  bool persistent = true;  // X-Goldroot-Key-Persistent
};

// Checks that `request` is signed over its method, path and a challenge
// redeemed now: by `key` when given, else by the key the request names in
// X-Goldroot-Host-Key. InvalidArgument when it is not signed at all (answer
// 401), PermissionDenied for a bad signature or challenge (403); one
// sentence either way.
Result<SignedRequest> check_signed_request(const server::HttpRequest& request,
                                           Challenges& challenges,
                                           const std::optional<VerifyKey>& key);

}  // namespace goldroot
