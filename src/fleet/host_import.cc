#include "fleet/host_import.h"

#include <fnmatch.h>

#include "base/strings.h"
#include "fleet/assignment.h"
#include "fleet/names.h"

namespace goldroot {

namespace {

std::string show(const std::optional<std::string>& value) { return value ? *value : "(none)"; }

void describe(const Host& before, const Host& after, std::vector<std::string>& details) {
  if (before.macs != after.macs)
    details.push_back("mac " + join(before.macs, ",") + " -> " + join(after.macs, ","));
  if (before.ip != after.ip) details.push_back("ip " + show(before.ip) + " -> " + show(after.ip));
  if (before.lab != after.lab)
    details.push_back("lab " + show(before.lab) + " -> " + show(after.lab));
  if (before.arch != after.arch) details.push_back("arch " + before.arch + " -> " + after.arch);
  if (before.channel != after.channel)
    details.push_back("channel " + show(before.channel) + " -> " + show(after.channel));
  if (before.mode != after.mode)
    details.push_back(std::string("mode ") +
                      (before.mode ? boot_mode_name(*before.mode) : "(none)") + " -> " +
                      (after.mode ? boot_mode_name(*after.mode) : "(none)"));
  if (before.notes != after.notes) details.push_back("notes");
  if (before.vars != after.vars) details.push_back("vars");
}

}  // namespace

Result<LabRule> parse_lab_rule(const std::string& text) {
  size_t equals = text.find('=');
  LabRule rule{text.substr(0, equals), equals == std::string::npos ? "" : text.substr(equals + 1)};
  TRY(validate_lab_name(rule.lab));
  if (equals != std::string::npos && rule.glob.empty())
    return make_error(ErrorCode::kInvalidArgument,
                      "--lab " + text + " has an empty pattern; write LAB or LAB=GLOB");
  return rule;
}

Result<std::vector<ImportChange>> import_hosts(Inventory& inventory, const Store& store,
                                               const std::vector<ImportRecord>& records,
                                               const std::vector<LabRule>& rules,
                                               const std::string& file) {
  std::vector<ImportChange> changes;
  for (const ImportRecord& record : records) {
    auto at = [&](Error error) {
      return std::move(error).with_context(file + ":" + std::to_string(record.line));
    };
    auto existing = TRY(inventory.find_host(record.name));
    Host host = existing ? *existing : Host{};
    host.name = record.name;
    host.macs = record.macs;
    if (record.ip) host.ip = record.ip;
    std::optional<std::string> lab = record.lab;
    for (const LabRule& rule : rules) {
      if (lab) break;
      if (rule.glob.empty() || ::fnmatch(rule.glob.c_str(), record.name.c_str(), 0) == 0)
        lab = rule.lab;
    }
    std::vector<Assignment> settings;
    if (lab) settings.push_back({"lab", *lab});
    if (record.arch) settings.push_back({"arch", *record.arch});
    if (record.channel) settings.push_back({"channel", *record.channel});
    if (record.mode) settings.push_back({"mode", *record.mode});
    if (record.notes) settings.push_back({"notes", *record.notes});
    for (const auto& [key, value] : record.vars) settings.push_back({"var." + key, value});
    for (const Assignment& setting : settings) {
      auto applied = apply(host, setting, store);
      if (!applied.ok()) return at(std::move(applied).error());
    }
    ImportChange change{ImportChange::Kind::kAdd, host.name, {}};
    Status written;
    if (!existing) {
      written = inventory.add_host(host);
    } else if (*existing == host) {
      change.kind = ImportChange::Kind::kUnchanged;
    } else {
      change.kind = ImportChange::Kind::kUpdate;
      describe(*existing, host, change.details);
      written = inventory.update_host(existing->name, host);
    }
    if (!written.ok()) return at(std::move(written).error());
    changes.push_back(std::move(change));
  }
  return changes;
}

}  // namespace goldroot
