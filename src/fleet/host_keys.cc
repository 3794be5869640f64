#include "fleet/host_keys.h"

#include <algorithm>

#include "base/strings.h"
#include "crypto/base64.h"

namespace goldroot {

namespace {

std::string stored(const VerifyKey& key) {
  const auto& raw = key.raw();
  return base64_encode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

Result<std::optional<VerifyKey>> key_column(const Statement& row, int index) {
  auto text = row.optional_text_column(index);
  if (!text) return std::optional<VerifyKey>();
  std::string raw = TRY(base64_decode(*text).context("a stored host key"));
  return std::optional<VerifyKey>(TRY(VerifyKey::from_raw(raw).context("a stored host key")));
}

constexpr const char* kKeyColumns =
    "SELECT h.name, k.key, k.enrolled_by, k.enrolled_at, k.persistent, k.pending_key, "
    "k.pending_persistent, k.pending_at, k.pending_from, k.refused_key, k.refused_at, "
    "k.refused_from "
    "FROM host_keys k JOIN hosts h ON h.id = k.host_id ";

Result<HostKey> host_key_from_row(const Statement& row) {
  HostKey out;
  out.host = row.text_column(0);
  out.key = TRY(key_column(row, 1));
  out.enrolled_by = row.text_column(2);
  out.enrolled_at = row.int_column(3);
  out.persistent = row.int_column(4) != 0;
  out.pending = TRY(key_column(row, 5));
  out.pending_persistent = row.int_column(6) != 0;
  out.pending_at = row.int_column(7);
  out.pending_from = row.text_column(8);
  out.refused = TRY(key_column(row, 9));
  out.refused_at = row.int_column(10);
  out.refused_from = row.text_column(11);
  return out;
}

Result<int64_t> host_id(Database& db, const std::string& host) {
  Statement query = TRY(db.prepare("SELECT id FROM hosts WHERE name = ?"));
  query.bind(host);
  if (!TRY(query.step())) return make_error(ErrorCode::kNotFound, "there is no host " + host);
  return query.int_column(0);
}

// Makes sure the host has a row, so the updates below need no upsert.
Status ensure_row(Database& db, int64_t id) {
  Statement insert = TRY(db.prepare("INSERT INTO host_keys (host_id) VALUES (?) ON CONFLICT DO NOTHING"));
  insert.bind(id);
  return insert.run();
}

Result<bool> is_revoked(Database& db, const VerifyKey& key) {
  Statement query = TRY(db.prepare("SELECT 1 FROM revoked_host_keys WHERE key = ?"));
  query.bind(stored(key));
  return TRY(query.step());
}

// The other host `key` is enrolled for, if any.
Result<std::optional<std::string>> enrolled_elsewhere(Database& db, const VerifyKey& key,
                                                      int64_t id) {
  Statement query =
      TRY(db.prepare("SELECT h.name FROM host_keys k JOIN hosts h ON h.id = k.host_id "
                     "WHERE k.key = ? AND k.host_id != ?"));
  query.bind(stored(key)).bind(id);
  if (!TRY(query.step())) return std::optional<std::string>();
  return std::optional<std::string>(query.text_column(0));
}

Status revoke(Database& db, const VerifyKey& key, const std::string& host, int64_t now) {
  Statement insert = TRY(db.prepare(
      "INSERT INTO revoked_host_keys (key, host, revoked_at) VALUES (?, ?, ?) "
      "ON CONFLICT DO NOTHING"));
  insert.bind(stored(key)).bind(host).bind(now);
  return insert.run();
}

Status set_enrolled(Database& db, int64_t id, const VerifyKey& key, const char* by, bool persistent,
                    int64_t now) {
  Statement update = TRY(
      db.prepare("UPDATE host_keys SET key = ?, enrolled_by = ?, enrolled_at = ?, persistent = ?, "
                 "pending_key = NULL, pending_persistent = 1, pending_at = 0, pending_from = '' "
                 "WHERE host_id = ?"));
  update.bind(stored(key)).bind(by).bind(now).bind(int64_t{persistent}).bind(id);
  return update.run();
}

Status record_refusal(Database& db, int64_t id, const KeyPresentation& presented) {
  Statement update = TRY(db.prepare(
      "UPDATE host_keys SET refused_key = ?, refused_at = ?, refused_from = ? WHERE host_id = ?"));
  update.bind(stored(presented.key)).bind(presented.now).bind(presented.address).bind(id);
  return update.run();
}

}  // namespace

const char* key_verdict_name(KeyVerdict verdict) {
  switch (verdict) {
    case KeyVerdict::kAccepted:
      return "accepted";
    case KeyVerdict::kPending:
      return "pending";
    case KeyVerdict::kRefused:
      return "refused";
    case KeyVerdict::kRevoked:
      return "revoked";
  }
  return "refused";
}

const char* key_state(const HostKey* row) {
  if (row && row->key) return "enrolled";
  if (row && row->pending) return "pending";
  return "none";
}

nlohmann::json to_json(const HostKey* row) {
  auto iso_time = [](int64_t seconds) { return format_utc(seconds, "%Y-%m-%dT%H:%M:%SZ"); };
  bool enrolled = row && row->key;
  nlohmann::json out;
  out["state"] = key_state(row);
  out["key_id"] = enrolled ? nlohmann::json(row->key->key_id()) : nlohmann::json();
  out["enrolled_by"] = enrolled ? nlohmann::json(row->enrolled_by) : nlohmann::json();
  out["enrolled_at"] = enrolled ? nlohmann::json(iso_time(row->enrolled_at)) : nlohmann::json();
  out["persistent"] = enrolled ? nlohmann::json(row->persistent) : nlohmann::json();
  out["pending"] = row && row->pending ? nlohmann::json{{"key_id", row->pending->key_id()},
                                                        {"persistent", row->pending_persistent},
                                                        {"at", iso_time(row->pending_at)},
                                                        {"from", row->pending_from}}
                                       : nlohmann::json();
  out["refused"] = row && row->refused ? nlohmann::json{{"key_id", row->refused->key_id()},
                                                        {"at", iso_time(row->refused_at)},
                                                        {"from", row->refused_from}}
                                       : nlohmann::json();
  return out;
}

Result<KeyVerdict> HostKeys::present(const std::string& host, EnrollPolicy policy,
                                     const KeyPresentation& presented) {
  int64_t id = TRY(host_id(db_, host));
  if (TRY(is_revoked(db_, presented.key))) return KeyVerdict::kRevoked;
  TRY(ensure_row(db_, id));
  auto current = TRY(find(host));
  if (current->key == presented.key) return KeyVerdict::kAccepted;
  // One key, one host: a host showing another's key is impersonating it.
  if (TRY(enrolled_elsewhere(db_, presented.key, id))) {
    TRY(record_refusal(db_, id, presented));
    return KeyVerdict::kRefused;
  }
  // The port policy's weaker path: an ephemeral key, from a privileged
  // port and the host's own IP.
  bool by_port = policy == EnrollPolicy::kPort && !presented.persistent &&
                 presented.privileged_port && presented.from_inventory_ip;
  if (current->key) {
    bool replaceable = by_port && !current->persistent;
    if (!replaceable) {
      TRY(record_refusal(db_, id, presented));
      return KeyVerdict::kRefused;
    }
    TRY(set_enrolled(db_, id, presented.key, enroll_policy_name(policy), false, presented.now));
    return KeyVerdict::kAccepted;
  }
  // Under the port policy an ephemeral key counts only by that path; a
  // persistent one is trusted on first use.
  if (policy == EnrollPolicy::kPort && !presented.persistent && !by_port) {
    TRY(record_refusal(db_, id, presented));
    return KeyVerdict::kRefused;
  }
  if (policy != EnrollPolicy::kAdmin) {
    TRY(set_enrolled(db_, id, presented.key, enroll_policy_name(policy), presented.persistent,
                     presented.now));
    return KeyVerdict::kAccepted;
  }
  Statement update = TRY(
      db_.prepare("UPDATE host_keys SET pending_key = ?, pending_persistent = ?, pending_at = ?, "
                  "pending_from = ? WHERE host_id = ?"));
  update.bind(stored(presented.key))
      .bind(int64_t{presented.persistent})
      .bind(presented.now)
      .bind(presented.address)
      .bind(id);
  TRY(update.run());
  return KeyVerdict::kPending;
}

Result<std::optional<VerifyKey>> HostKeys::enrolled(const std::string& host) {
  Statement query = TRY(db_.prepare(
      "SELECT k.key FROM host_keys k JOIN hosts h ON h.id = k.host_id WHERE h.name = ?"));
  query.bind(host);
  if (!TRY(query.step())) return std::optional<VerifyKey>();
  return key_column(query, 0);
}

Status HostKeys::enroll(const std::string& host, const std::optional<VerifyKey>& key,
                        const std::optional<std::string>& expected_key_id, int64_t now) {
  int64_t id = TRY(host_id(db_, host));
  TRY(ensure_row(db_, id));
  HostKey current = TRY(find(host)).value();
  if (!key && !current.pending) {
    if (current.key)
      return make_error(ErrorCode::kInvalidArgument,
                        "host " + host + " has key " + current.key->key_id() +
                            " enrolled and presents no other; to replace it, run 'goldroot "
                            "host rekey " +
                            host + "' and boot it");
    return make_error(ErrorCode::kInvalidArgument,
                      "host " + host +
                          " has presented no key yet; boot it (goldroot-boot shows its key id "
                          "on screen) or give its public key with --key FILE");
  }
  const VerifyKey& chosen = key ? *key : *current.pending;
  std::string key_id = chosen.key_id();
  if (expected_key_id && lowercase(*expected_key_id) != key_id)
    return make_error(ErrorCode::kInvalidArgument,
                      std::string(key ? "the key given" : "host " + host + "'s pending key") +
                          " is " + key_id + ", not " + *expected_key_id + "; nothing was enrolled");
  if (TRY(is_revoked(db_, chosen)))
    return make_error(ErrorCode::kInvalidArgument,
                      "key " + key_id + " was revoked and is never enrolled again; host " + host +
                          " must make a new one");
  if (auto other = TRY(enrolled_elsewhere(db_, chosen, id)))
    return make_error(ErrorCode::kAlreadyExists, "key " + key_id +
                                                     " is already enrolled for host " + *other +
                                                     "; a key belongs to one host");
  if (current.key == chosen) return {};
  if (current.key) TRY(revoke(db_, *current.key, host, now));
  // A key the admin hands over is taken as kept on disk: only the host can
  // say it is ephemeral, so the port policy never replaces it.
  bool persistent = current.pending == chosen ? current.pending_persistent : true;
  return set_enrolled(db_, id, chosen, "admin", persistent, now);
}

Status HostKeys::rekey(const std::string& host, int64_t now) {
  int64_t id = TRY(host_id(db_, host));
  if (auto key = TRY(enrolled(host))) TRY(revoke(db_, *key, host, now));
  Statement update = TRY(db_.prepare(
      "UPDATE host_keys SET key = NULL, enrolled_by = NULL, enrolled_at = 0, persistent = 1, "
      "pending_key = NULL, pending_persistent = 1, pending_at = 0, pending_from = '' WHERE host_id "
      "= ?"));
  update.bind(id);
  return update.run();
}

Result<std::optional<HostKey>> HostKeys::find(const std::string& host) {
  Statement query = TRY(db_.prepare(std::string(kKeyColumns) + "WHERE h.name = ?"));
  query.bind(host);
  if (!TRY(query.step())) return std::optional<HostKey>();
  return std::optional<HostKey>(TRY(host_key_from_row(query)));
}

Result<std::vector<HostKey>> HostKeys::all() {
  Statement query = TRY(db_.prepare(std::string(kKeyColumns) + "ORDER BY h.name"));
  std::vector<HostKey> out;
  while (TRY(query.step())) out.push_back(TRY(host_key_from_row(query)));
  // Byte order whatever the PostgreSQL database's collation, as SQLite sorts.
  std::sort(out.begin(), out.end(),
            [](const HostKey& a, const HostKey& b) { return a.host < b.host; });
  return out;
}

}  // namespace goldroot
