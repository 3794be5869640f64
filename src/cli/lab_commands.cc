// `goldroot lab …`: groups of hosts sharing a default channel, boot mode,
// key enrolment policy, networks and a configuration layer (layers/labs/<lab>).
#include <cstdio>
#include <map>

#include "base/strings.h"
#include "cli/command.h"
#include "cli/fleet_session.h"
#include "fleet/agent_store.h"
#include "fleet/assignment.h"

namespace goldroot::cli {

namespace {

// "first-use", or "inherit" (or nothing) for the site's policy.
Status apply_enroll(Lab& lab, const std::string& value) {
  if (value.empty() || value == "inherit")
    lab.enroll.reset();
  else
    lab.enroll = TRY(parse_enroll_policy(value).context("lab " + lab.name));
  return {};
}

// "shim", or "inherit" (or nothing) for the site's setting.
Status apply_uefi(Lab& lab, const std::string& value) {
  if (value.empty() || value == "inherit")
    lab.uefi.reset();
  else
    lab.uefi = TRY(parse_uefi_boot(value).context("lab " + lab.name));
  return {};
}

Result<int> lab_add(Context& context, const Args& args) {
  CLI::App app{"Add a lab.", "goldroot lab add"};
  std::string name, channel, mode, enroll, uefi, fetch, prefetch, notes;
  std::vector<std::string> networks;
  app.add_option("NAME", name, "lab name")->required();
  app.add_option("--channel", channel, "default channel of its hosts (else gold)");
  app.add_option("--mode", mode, "default boot mode of its hosts (else normal)");
  app.add_option("--enroll", enroll,
                 "how its hosts' first keys are enrolled: admin, first-use or port (else the "
                 "site's policy)");
  app.add_option("--uefi", uefi,
                 "what its UEFI machines boot through: ipxe, or shim (Debian's signed shim and "
                 "GRUB, for Secure Boot), or uki (the site's signed unified kernel images) (else the site's)");
  app.add_option("--fetch", fetch,
                 "how its hosts get their image: full (download it all, then mount) or demand "
                 "(read blocks as needed, checked by dm-verity) (else the site's)");
  app.add_option("--prefetch", prefetch,
                 "when its agents fetch the image their channel moved to before the host boots "
                 "it: off, now or a daily window of the server's local time, e.g. 22:00-06:00 "
                 "(else the site's)");
  app.add_option("--network", networks, "a network CIDR the lab uses (repeatable)");
  app.add_option("--notes", notes, "free-form notes");
  if (auto exit = parse_args(app, args)) return *exit;
  auto fleet = TRY(open_fleet(context, LockMode::kExclusive, "lab add"));
  Lab lab;
  lab.name = name;
  std::vector<Assignment> settings = {{"networks", join(networks, ",")}, {"notes", notes}};
  if (!channel.empty()) settings.push_back({"channel", channel});
  if (!mode.empty()) settings.push_back({"mode", mode});
  if (!fetch.empty()) settings.push_back({"fetch", fetch});
  if (!prefetch.empty()) settings.push_back({"prefetch", prefetch});
  for (const Assignment& setting : settings) TRY(apply(lab, setting, fleet.site->store()));
  TRY(apply_enroll(lab, enroll));
  TRY(apply_uefi(lab, uefi));
  auto transaction = TRY(fleet.inventory.begin_write());
  TRY(fleet.inventory.add_lab(lab));
  TRY(transaction.commit());
  std::printf("added lab %s\n", lab.name.c_str());
  return 0;
}

Result<int> lab_list(Context& context, const Args& args) {
  CLI::App app{"List labs.", "goldroot lab list"};
  bool json = false;
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto fleet = TRY(open_fleet(context, LockMode::kShared, "lab list"));
  SiteSettings site_settings = TRY(fleet.site->settings());
  EnrollPolicy site_enroll = site_settings.enroll;
  UefiBoot site_uefi = site_settings.uefi;
  FetchMode site_fetch = site_settings.fetch;
  PrefetchSetting site_prefetch = site_settings.prefetch;
  auto transaction = TRY(fleet.inventory.begin_read());
  auto labs = TRY(fleet.inventory.labs());
  std::map<std::string, int> counts;
  for (const Host& host : TRY(fleet.inventory.hosts()))
    if (host.lab) ++counts[*host.lab];
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Lab& lab : labs) {
      nlohmann::json item = to_json(lab);
      item["hosts"] = counts[lab.name];
      item["effective_enroll"] = enroll_policy_name(lab.enroll.value_or(site_enroll));
      item["effective_uefi"] = uefi_boot_name(lab.uefi.value_or(site_uefi));
      item["effective_fetch"] = fetch_mode_name(lab.fetch.value_or(site_fetch));
      item["effective_prefetch"] = prefetch_setting_name(lab.prefetch.value_or(site_prefetch));
      out.push_back(item);
    }
    print_json(out);
    return 0;
  }
  std::printf("%-16s %6s %-12s %-10s %-11s %-6s %-7s %-12s %s\n", "NAME", "HOSTS", "MODE",
              "CHANNEL", "ENROLL", "UEFI", "FETCH", "PREFETCH", "NETWORKS");
  for (const Lab& lab : labs) {
    // A star marks an inherited setting (enrolment policy, UEFI boot and
    // fetch and prefetch: the site's).
    std::string enroll = lab.enroll ? enroll_policy_name(*lab.enroll)
                                    : std::string(enroll_policy_name(site_enroll)) + "*";
    std::string uefi =
        lab.uefi ? uefi_boot_name(*lab.uefi) : std::string(uefi_boot_name(site_uefi)) + "*";
    std::string fetch =
        lab.fetch ? fetch_mode_name(*lab.fetch) : std::string(fetch_mode_name(site_fetch)) + "*";
    std::string prefetch = lab.prefetch ? prefetch_setting_name(*lab.prefetch)
                                        : prefetch_setting_name(site_prefetch) + "*";
    std::printf("%-16s %6d %-12s %-10s %-11s %-6s %-7s %-12s %s\n", lab.name.c_str(),
                counts[lab.name],
                lab.mode ? boot_mode_name(*lab.mode) : "normal*",
                lab.channel ? lab.channel->c_str() : "gold*", enroll.c_str(), uefi.c_str(),
                fetch.c_str(), prefetch.c_str(),
                lab.networks.empty() ? "-" : join(lab.networks, ", ").c_str());
  }
  return 0;
}

Result<int> lab_set(Context& context, const Args& args) {
  CLI::App app{
      "Change a lab: goldroot lab set NAME key=value… (keys: channel, mode, networks, "
      "notes, enroll=admin|first-use|port|inherit — how its hosts' first keys are enrolled, "
      "uefi=ipxe|shim|uki|inherit — what its UEFI machines boot through (shim: Debian's "
      "signed shim and GRUB, for Secure Boot; uki: coming, shim until then), "
      "fetch=full|demand|inherit — how its hosts get their image (demand: blocks as they are "
      "read, checked by dm-verity; its hosts' own fetch= wins), "
      "prefetch=off|now|HH:MM-HH:MM|inherit — when its agents fetch the image their channel "
      "moved to before the host boots it (a window is the server's local time), "
      "reset-at=HH:MM — goldroot serve resets the lab's dirty hosts daily then, "
      "rebooting only idle ones; an empty value restores the default).",
      "goldroot lab set"};
  std::string name;
  std::vector<std::string> settings;
  app.add_option("NAME", name, "lab name")->required();
  app.add_option("SETTINGS", settings, "key=value")->required();
  if (auto exit = parse_args(app, args)) return *exit;
  auto assignments = TRY(parse_assignments(settings));
  auto fleet = TRY(open_fleet(context, LockMode::kExclusive, "lab set"));
  auto transaction = TRY(fleet.inventory.begin_write());
  auto lab = TRY(fleet.inventory.find_lab(name));
  if (!lab) return make_error(ErrorCode::kNotFound, "there is no lab " + name);
  std::optional<std::string> reset_at;
  for (const Assignment& assignment : assignments) {
    if (assignment.key == "reset-at")
      reset_at = assignment.value;
    else if (assignment.key == "enroll")
      TRY(apply_enroll(*lab, assignment.value));
    else if (assignment.key == "uefi")
      TRY(apply_uefi(*lab, assignment.value));
    else
      TRY(apply(*lab, assignment, fleet.site->store()));
  }
  TRY(fleet.inventory.update_lab(*lab));
  if (reset_at) TRY(AgentStore(fleet.inventory.database()).set_schedule(name, *reset_at));
  TRY(transaction.commit());
  std::printf("updated lab %s\n", name.c_str());
  if (reset_at && !reset_at->empty())
    std::printf("goldroot serve resets lab %s's dirty hosts daily at %s\n", name.c_str(),
                reset_at->c_str());
  return 0;
}

Result<int> lab_rm(Context& context, const Args& args) {
  CLI::App app{"Remove a lab that has no hosts.", "goldroot lab rm"};
  std::string name;
  app.add_option("NAME", name, "lab name")->required();
  if (auto exit = parse_args(app, args)) return *exit;
  auto fleet = TRY(open_fleet(context, LockMode::kExclusive, "lab rm"));
  auto transaction = TRY(fleet.inventory.begin_write());
  TRY(fleet.inventory.remove_lab(name));
  TRY(transaction.commit());
  std::printf("removed lab %s\n", name.c_str());
  return 0;
}

const Command kLabCommands[] = {
    {"add", "add a lab", lab_add},
    {"list", "list labs", lab_list},
    {"set", "change a lab", lab_set},
    {"rm", "remove a lab", lab_rm},
};

}  // namespace

Result<int> run_lab(Context& context, const Args& args) {
  return dispatch(context, kLabCommands, args, "goldroot lab");
}

}  // namespace goldroot::cli
