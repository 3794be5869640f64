// Applies parsed import records (import_parsers.h) to the inventory: a new
// name is added, a known name is updated with what the file says (MACs are
// replaced, other fields only when the file gives them), an identical one is
// left alone. Returns the list of changes for the dry run and the report.
//
// Runs inside the caller's write transaction: on any error nothing is kept,
// and a dry run simply does not commit. Errors name the file and line.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "fleet/import_parsers.h"
#include "fleet/inventory.h"
#include "store/store.h"

namespace goldroot {

// `--lab LAB` puts every record in LAB; `--lab LAB=GLOB` only the records
// whose name matches GLOB. The first matching rule wins; a record's own lab
// column beats every rule.
struct LabRule {
  std::string lab;
  std::string glob;  // empty: every record
};
Result<LabRule> parse_lab_rule(const std::string& text);

struct ImportChange {
  enum class Kind { kAdd, kUpdate, kUnchanged };
  Kind kind;
  std::string host;
  std::vector<std::string> details;  // "ip 10.1.0.5 -> 10.1.0.6"
};

Result<std::vector<ImportChange>> import_hosts(Inventory& inventory, const Store& store,
                                               const std::vector<ImportRecord>& records,
                                               const std::vector<LabRule>& rules,
                                               const std::string& file);

}  // namespace goldroot
