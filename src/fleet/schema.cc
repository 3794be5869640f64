#include "fleet/schema.h"

#include <regex>
#include <string>

namespace goldroot {

namespace {

// One step of the schema: its SQL as SQLite runs it, and where that text
// cannot run on PostgreSQL even after postgresql_types(), PostgreSQL's own
// form of the same step.
struct Migration {
  const char* sql;
  const char* postgresql = nullptr;
  const char* shared = nullptr;  // run first on both engines
};

// Step 3's tables: both engines' forms of the step create them first (the
// step's trigger is written each engine's way).
const char* const kHostKeysTables = R"sql(
CREATE TABLE host_keys (
  host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
  key TEXT UNIQUE,
  enrolled_by TEXT,
  enrolled_at INTEGER NOT NULL DEFAULT 0,
  persistent INTEGER NOT NULL DEFAULT 1,
  pending_key TEXT,
  pending_persistent INTEGER NOT NULL DEFAULT 1,
  pending_at INTEGER NOT NULL DEFAULT 0,
  pending_from TEXT NOT NULL DEFAULT '',
  refused_key TEXT,
  refused_at INTEGER NOT NULL DEFAULT 0,
  refused_from TEXT NOT NULL DEFAULT ''
);
CREATE TABLE revoked_host_keys (
  key TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  revoked_at INTEGER NOT NULL
);
)sql";

// Append only: a released step is never edited, a change is a new step.
// Write each in SQL both engines run (see postgresql_types()).
const Migration kMigrations[] = {
    // 1: networks, labs, hosts with several MACs and free-form variables.
    {R"sql(
CREATE TABLE networks (
  id INTEGER PRIMARY KEY,
  cidr TEXT NOT NULL UNIQUE,
  gateway TEXT,
  dns TEXT NOT NULL DEFAULT '',
  domain TEXT
);
CREATE TABLE labs (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  channel TEXT,
  mode TEXT,
  notes TEXT NOT NULL DEFAULT ''
);
CREATE TABLE lab_networks (
  lab_id INTEGER NOT NULL REFERENCES labs(id) ON DELETE CASCADE,
  network_id INTEGER NOT NULL REFERENCES networks(id),
  PRIMARY KEY (lab_id, network_id)
);
CREATE TABLE hosts (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  ip TEXT UNIQUE,
  lab_id INTEGER REFERENCES labs(id),
  arch TEXT NOT NULL DEFAULT 'x86_64',
  channel TEXT,
  pinned_commit TEXT,
  mode TEXT,
  notes TEXT NOT NULL DEFAULT ''
);
CREATE INDEX hosts_lab ON hosts(lab_id);
CREATE TABLE host_macs (
  mac TEXT PRIMARY KEY,
  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  position INTEGER NOT NULL
);
CREATE INDEX host_macs_host ON host_macs(host_id);
CREATE TABLE host_vars (
  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (host_id, key)
);
)sql"},
    // 2: what the hosts' agents report, the commands queued for them, boot
    // requests (to tell "booting" from "up"), one-shot resets and lab schedules.
    {R"sql(
CREATE TABLE agent_boots (
  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  boot_id TEXT NOT NULL,
  last_sequence INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (host_id, boot_id)
);
CREATE TABLE agent_status (
  host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
  boot_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  sent_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  report TEXT NOT NULL
);
CREATE TABLE agent_history (
  id INTEGER PRIMARY KEY,
  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  boot_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  sent_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  event TEXT NOT NULL,
  commit_id TEXT NOT NULL,
  dirty INTEGER NOT NULL,
  changes INTEGER NOT NULL,
  users INTEGER NOT NULL
);
CREATE INDEX agent_history_host ON agent_history(host_id, id);
CREATE TABLE boot_requests (
  host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
  requested_at INTEGER NOT NULL
);
CREATE TABLE agent_commands (
  id INTEGER PRIMARY KEY,
  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  command TEXT NOT NULL,
  path TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  output TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL
);
CREATE INDEX agent_commands_host ON agent_commands(host_id, status);
CREATE TABLE pending_resets (
  host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
  previous_mode TEXT,
  requested_at INTEGER NOT NULL
);
CREATE TABLE reset_requests (
  id INTEGER PRIMARY KEY,
  lab TEXT,
  run_at INTEGER NOT NULL,
  done INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE lab_schedules (
  lab_id INTEGER PRIMARY KEY REFERENCES labs(id) ON DELETE CASCADE,
  reset_at TEXT NOT NULL,
  last_run TEXT NOT NULL DEFAULT ''
);
)sql"},
    // 3: hosts' keys and enrolment policies (host_keys.h). Keys are base64 of
    // the raw ed25519 public key. A revoked key outlives its host, and
    // removing a host revokes its key: a trigger, so no path that deletes a
    // host can forget it.
    {R"sql(
CREATE TRIGGER hosts_revoke_key BEFORE DELETE ON hosts BEGIN
  INSERT OR IGNORE INTO revoked_host_keys (key, host, revoked_at)
    SELECT key, old.name, CAST(strftime('%s', 'now') AS INTEGER)
    FROM host_keys WHERE host_id = old.id AND key IS NOT NULL;
END;
ALTER TABLE labs ADD COLUMN enroll TEXT;
)sql",
     // PostgreSQL: the trigger calls a plpgsql function.
     R"sql(
CREATE FUNCTION hosts_revoke_key() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  INSERT INTO revoked_host_keys (key, host, revoked_at)
    SELECT key, old.name, CAST(extract(epoch FROM now()) AS INTEGER)
    FROM host_keys WHERE host_id = old.id AND key IS NOT NULL
    ON CONFLICT DO NOTHING;
  RETURN old;
END;
$body$;
CREATE TRIGGER hosts_revoke_key BEFORE DELETE ON hosts
  FOR EACH ROW EXECUTE FUNCTION hosts_revoke_key();
ALTER TABLE labs ADD COLUMN enroll TEXT;
)sql",
     kHostKeysTables},
    // 4: the mode each host was given at its last boot, and the last time
    // its agent reported another (a host that booted around its manifest).
    {R"sql(
ALTER TABLE boot_requests ADD COLUMN mode TEXT;
ALTER TABLE boot_requests ADD COLUMN alert TEXT;
)sql"},
    // 5: unregistered hosts, which `serve --unknown default-image` adds for
    // MACs it does not know (fleet/unregistered.h) until `host add` adopts
    // them.
    {R"sql(
ALTER TABLE hosts ADD COLUMN unregistered INTEGER NOT NULL DEFAULT 0;
)sql"},
    // 6: what a lab's UEFI machines boot through (site/uefi_boot.h): ipxe,
    // shim or uki; NULL: the site's setting.
    {R"sql(
ALTER TABLE labs ADD COLUMN uefi TEXT;
)sql"},
    // 7: how a lab's or a host's machines get their image (site/fetch_mode.h):
    // full or demand; NULL: the lab's, else the site's setting.
    {R"sql(
ALTER TABLE labs ADD COLUMN fetch TEXT;
ALTER TABLE hosts ADD COLUMN fetch TEXT;
)sql",
     // PostgreSQL reserves FETCH: the column's name is quoted there (and in
     // every query, which SQLite reads the same).
     R"sql(
ALTER TABLE labs ADD COLUMN "fetch" TEXT;
ALTER TABLE hosts ADD COLUMN "fetch" TEXT;
)sql"},
    // 8: when a lab's agents fetch the image their channel moved to before
    // it is booted (site/prefetch_setting.h): off, now or HH:MM-HH:MM;
    // NULL: the site's setting.
    {R"sql(
ALTER TABLE labs ADD COLUMN prefetch TEXT;
)sql"},
};

constexpr int kVersions = sizeof kMigrations / sizeof kMigrations[0];

// PostgreSQL's types for a step written for SQLite: a table's own `id
// INTEGER PRIMARY KEY` (SQLite's rowid) becomes an identity column, and
// every INTEGER a BIGINT (SQLite's integers have 64 bits).
std::string postgresql_types(const std::string& sql) {
  static const std::regex kRowid(R"((^|[^A-Za-z0-9_])id INTEGER PRIMARY KEY)");
  static const std::regex kInteger(R"(\bINTEGER\b)");
  std::string out =
      std::regex_replace(sql, kRowid, "$1id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
  return std::regex_replace(out, kInteger, "BIGINT");
}

// PostgreSQL keeps the version in a one-row table (it has no user_version).
constexpr const char* kPostgresqlVersionTable = "goldroot_schema_version";

Result<int> user_version(Database& db) {
  if (db.engine() == DatabaseEngine::kPostgresql) {
    Statement exists = TRY(db.prepare(std::string("SELECT to_regclass('") +
                                      kPostgresqlVersionTable + "') IS NOT NULL"));
    TRY(exists.step());
    if (exists.text_column(0) != "t") return 0;
    Statement query =
        TRY(db.prepare(std::string("SELECT version FROM ") + kPostgresqlVersionTable));
    if (!TRY(query.step())) return 0;
    return static_cast<int>(query.int_column(0));
  }
  Statement statement = TRY(db.prepare("PRAGMA user_version"));
  if (!TRY(statement.step())) return 0;
  return static_cast<int>(statement.int_column(0));
}

Status set_user_version(Database& db, int version) {
  if (db.engine() == DatabaseEngine::kPostgresql) {
    std::string table = kPostgresqlVersionTable;
    TRY(db.exec("CREATE TABLE IF NOT EXISTS " + table +
                " (one_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one_row), version BIGINT NOT "
                "NULL)"));
    Statement upsert = TRY(db.prepare(
        "INSERT INTO " + table +
        " (version) VALUES (?) ON CONFLICT (one_row) DO UPDATE SET version = excluded.version"));
    upsert.bind(int64_t{version});
    return upsert.run();
  }
  return db.exec("PRAGMA user_version = " + std::to_string(version));
}

}  // namespace

int current_schema_version() { return kVersions; }

Status migrate(Database& db) { return migrate_to(db, kVersions); }

Status migrate_to(Database& db, int target) {
  if (target > kVersions)
    return make_error(ErrorCode::kInvalidArgument,
                      "there is no inventory schema version " + std::to_string(target));
  if (TRY(user_version(db)) == target) return {};
  // Under the write lock: two servers starting at once migrate once.
  auto transaction = TRY(DbTransaction::begin(db, TransactionKind::kWrite));
  // Read again under the write lock: another command may have migrated.
  int version = TRY(user_version(db));
  if (version > kVersions)
    return make_error(ErrorCode::kUnsupported,
                      "inventory " + db.name() + " has schema version " + std::to_string(version) +
                          ", newer than this goldroot understands (" + std::to_string(kVersions) +
                          "); upgrade goldroot");
  bool postgresql = db.engine() == DatabaseEngine::kPostgresql;
  for (int step = version; step < target; ++step) {
    const Migration& migration = kMigrations[step];
    std::string sql = !postgresql ? migration.sql
                      : migration.postgresql ? postgresql_types(migration.postgresql)
                                             : postgresql_types(migration.sql);
    if (migration.shared)
      sql = (postgresql ? postgresql_types(migration.shared) : std::string(migration.shared)) + sql;
    TRY(db.exec(sql).context("upgrading inventory to version " + std::to_string(step + 1)));
  }
  if (version < target) TRY(set_user_version(db, target));
  return transaction.commit();
}

}  // namespace goldroot
