// The inventory's schema and its migrations. The version lives in SQLite's
// `PRAGMA user_version`; migrate() applies every step above it, each in its
// own write transaction, so an interrupted upgrade leaves the old version.
// A database newer than this goldroot is refused rather than misread.
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
