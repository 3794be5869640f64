// The inventory's schema and its migrations. The version lives in SQLite's
// `PRAGMA user_version`; migrate() applies every step above it, each in its
// own write transaction, so an interrupted upgrade leaves the old version.
// A database newer than this goldroot is refused rather than misread.
#pragma once

#include "base/result.h"
#include "fleet/sqlite.h"

namespace goldroot {

// The version this build writes.
int current_schema_version();
Status migrate(Database& db);

}  // namespace goldroot
