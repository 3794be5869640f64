// The inventory's schema and its migrations, one list for both engines. The
// version lives in SQLite's `PRAGMA user_version`, or PostgreSQL's one-row
// table goldroot_schema_version; migrate() applies every step above it in
// one write transaction (PostgreSQL's DDL is transactional too), so an
// interrupted upgrade leaves the old version and two servers starting at
// once migrate once. A database newer than this goldroot is refused rather
// than misread.
#pragma once

#include "base/result.h"
#include "fleet/database.h"

namespace goldroot {

// The version this build writes.
int current_schema_version();
Status migrate(Database& db);
// Applies the steps up to `version` only (<= current_schema_version()):
// for tests that build an older inventory and upgrade it.
Status migrate_to(Database& db, int version);

}  // namespace goldroot
