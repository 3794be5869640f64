#include "bootserver/host_auth.h"

#include "base/strings.h"
#include "crypto/hmac.h"
#include "crypto/host_signature.h"

namespace goldroot {

namespace {
Error denied(const std::string& message) {
  return make_error(ErrorCode::kPermissionDenied, message);
}
}  // namespace

Result<Challenges> Challenges::create(Env* env) {
  std::string secret = TRY(random_hex(32));
  return Challenges(env, std::move(secret));
}

std::string Challenges::mint() {
  auto nonce = random_hex(8);
  std::string body = std::to_string(env_->now_seconds()) + "." + (nonce.ok() ? *nonce : "0");
  return body + "." + hmac_sha256_hex(secret_, body);
}

Status Challenges::redeem(const std::string& challenge, const std::string& path) {
  size_t mac_at = challenge.rfind('.');
  size_t time_end = challenge.find('.');
  uint64_t minted = 0;
  if (mac_at == std::string::npos || time_end == mac_at ||
      !parse_uint64(challenge.substr(0, time_end), &minted) ||
      !constant_time_equal(challenge.substr(mac_at + 1),
                           hmac_sha256_hex(secret_, challenge.substr(0, mac_at))))
    return denied("the challenge is not one this server issued (or it restarted since); "
                  "take a new one from /api/v1/challenge");
  int64_t now = env_->now_seconds();
  int64_t expires = static_cast<int64_t>(minted) + kLifetimeSeconds;
  if (now > expires)
    return denied("the challenge expired; take a new one from /api/v1/challenge");
  std::lock_guard lock(mutex_);
  for (auto it = used_.begin(); it != used_.end();)
    it = it->second < now ? used_.erase(it) : std::next(it);
  if (!used_.emplace(challenge + " " + path, expires).second)
    return denied("the challenge was used already for " + path + " (a replayed request)");
  return ok_status();
}

Result<SignedRequest> check_signed_request(const server::HttpRequest& request,
                                           Challenges& challenges,
                                           const std::optional<VerifyKey>& key) {
  const std::string* challenge = request.header(kChallengeHeader);
  const std::string* signature = request.header(kHostSignatureHeader);
  const std::string* named_key = request.header(kHostKeyHeader);
  if (!challenge || !signature || (!key && !named_key))
    return make_error(ErrorCode::kInvalidArgument,
                      request.path + " answers only its host: sign the request with the host's "
                      "key (X-Goldroot-Challenge and X-Goldroot-Host-Signature" +
                          std::string(key ? ")" : ", X-Goldroot-Host-Key)"));
  SignedRequest out{key ? *key : VerifyKey{}, true};
  if (!key) {
    auto decoded = decode_public_key(*named_key);
    if (!decoded.ok()) return denied(decoded.error().message);
    out.key = *decoded;
  }
  Status verified =
      verify_statement(out.key, *signature, request_statement(request.method, request.path, *challenge));
  if (!verified.ok())
    return denied(key ? "the request is not signed by the key enrolled for this host"
                      : "the request's signature does not match its host key");
  // Only a correctly signed request spends its challenge.
  TRY(challenges.redeem(*challenge, request.path));
  if (const std::string* persistent = request.header(kKeyPersistentHeader))
    out.persistent = *persistent != "no";
  return out;
}

}  // namespace goldroot
