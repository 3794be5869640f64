// HostKeys: the ed25519 keys hosts prove who they are with (issue #14).
//
// A host's key is made by goldroot-boot on the host itself: on its data
// partition when it has one (persistent), else in RAM for one boot
// (ephemeral). The server never hands a credential out; it only learns
// public keys, and a key counts only once it is enrolled:
//
//   * by the admin: `goldroot host enroll NAME` accepts the key the host
//     presented (its key id is on the host's screen and in `host keys`),
//     or takes one given with --key FILE (a PEM public key);
//   * by the lab's (else the site's) enrolment policy, when the host
//     presents a key while it has none enrolled:
//       admin       nothing is automatic: the key waits (default);
//       first-use   the first key is enrolled (trust on first use);
//       port        an *ephemeral* key counts only when presented from a
//                   privileged source port (< 1024) and the host's
//                   inventory IP (if it has one), and then also replaces
//                   an enrolled ephemeral key: diskless hosts make a new
//                   key each boot. A persistent key is trusted on first use.
//                   Weaker: root on another PC of the segment can take the
//                   IP. A persistent key is never replaced this way.
//
// A different key presented later for a host with an enrolled key is
// refused and remembered (`host keys` shows the last refusal: key id,
// address, time). `goldroot host rekey NAME` revokes the enrolled key (and
// forgets a pending one): a revoked key is refused for every host, forever.
// Removing a host revokes its key too, so re-adding the name never brings
// the old credential back.
//
// A key belongs to one host at most: presenting another host's enrolled key
// is a refusal, and enrolling it an error. Enrolling a different key over
// an enrolled one revokes the old key, as rekey would; an ephemeral key
// the port policy replaces is only forgotten (it died with the host's RAM).
//
// Tables (schema step 3): host_keys (one row per host, deleted with the
// host) and revoked_host_keys (no link to hosts: outlives them).
// Not thread-safe: callers hold the inventory's mutex, and make changes in
// a write transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "crypto/ed25519.h"
#include "fleet/database.h"
#include "site/enroll_policy.h"  // EnrollPolicy: the site settings carry it too

namespace goldroot {

struct HostKey {
  std::string host;
  std::optional<VerifyKey> key;  // enrolled
  std::string enrolled_by;       // "admin", "first-use" or "port"
  int64_t enrolled_at = 0;
  bool persistent = true;            // the host said it keeps the key on disk
  std::optional<VerifyKey> pending;  // presented, waiting for the admin
  bool pending_persistent = true;
  int64_t pending_at = 0;
  std::string pending_from;          // address
  std::optional<VerifyKey> refused;  // the last other key presented while one is enrolled
  int64_t refused_at = 0;
  std::string refused_from;
};

// What a booting host presents: its public key, proven by a signature the
// caller has already checked.
struct KeyPresentation {
  VerifyKey key;
  bool persistent = true;
  bool privileged_port = false;    // the request came from a source port < 1024
  bool from_inventory_ip = false;  // from the host's inventory IP, or it has none
  std::string address;             // the request's remote address, for the record
  int64_t now = 0;
};

enum class KeyVerdict {
  kAccepted,  // the enrolled key (possibly enrolled just now by the policy)
  kPending,   // recorded; waits for `goldroot host enroll`
  kRefused,   // the host has another key enrolled; recorded as a refusal
  kRevoked,   // this key was revoked: the host should make a new one
};
const char* key_verdict_name(KeyVerdict verdict);  // "accepted", "pending", "refused", "revoked"

// "enrolled", "pending" or "none"; `row` is null for a host that never
// presented a key.
const char* key_state(const HostKey* row);
// A host's key as `host keys --json`, status and the dashboard show it:
//   {"state", "key_id", "enrolled_by", "enrolled_at", "persistent" (null
//    unless enrolled), "pending": {"key_id", "persistent", "at", "from"} |
//    null, "refused": {"key_id", "at", "from"} | null}
nlohmann::json to_json(const HostKey* row);

class HostKeys {
 public:
  explicit HostKeys(Database& database) : db_(database) {}

  // Decides about a key `host` presents, under `policy`, and records what
  // it must (a pending key, a refusal, an enrolment by the policy).
  // NotFound when there is no such host.
  Result<KeyVerdict> present(const std::string& host, EnrollPolicy policy,
                             const KeyPresentation& presented);

  // The host's enrolled key, if any (reports, uploads and layer requests
  // are verified against it).
  Result<std::optional<VerifyKey>> enrolled(const std::string& host);

  // The admin's enrolment: `key` when given, else the pending key; with
  // `expected_key_id`, the key's id must be that one (so an admin approves
  // the key seen on the host's screen, not one swapped in since).
  // InvalidArgument when there is nothing to enroll or the id differs;
  // a revoked key is refused.
  Status enroll(const std::string& host, const std::optional<VerifyKey>& key,
                const std::optional<std::string>& expected_key_id, int64_t now);

  // Revokes the host's enrolled key and forgets a pending one. Ok when the
  // host has none (nothing to revoke). NotFound when there is no such host.
  Status rekey(const std::string& host, int64_t now);

  // The host's row; nullopt when it has none (or there is no such host).
  Result<std::optional<HostKey>> find(const std::string& host);
  // Every host's row (hosts with no row are not listed), sorted by name.
  Result<std::vector<HostKey>> all();

 private:
  Database& db_;
};

}  // namespace goldroot
