// `goldroot host …`: the fleet's machines in the inventory.
#include <algorithm>
#include <cstdio>
#include <map>

#include "base/strings.h"
#include "cli/agent_commands.h"
#include "cli/command.h"
#include "cli/fleet_session.h"
#include "fleet/assignment.h"
#include "fleet/effective.h"
#include "fleet/host_import.h"
#include "fleet/names.h"
#include "layer/host_profile.h"
#include "layer/layer_stack.h"

namespace goldroot::cli {

namespace {

std::string or_dash(const std::optional<std::string>& value) { return value ? *value : "-"; }

std::string describe_mode(const EffectiveMode& mode) {
  std::string text = boot_mode_name(mode.mode);
  if (mode.source == SettingSource::kLab) text += " (lab)";
  return text;
}

std::string describe_channel(const EffectiveChannel& channel) {
  std::string text =
      channel.pinned_commit ? "pin " + channel.pinned_commit->substr(0, 12) : *channel.channel;
  if (channel.source == SettingSource::kLab) text += " (lab)";
  return text;
}

nlohmann::json effective_json(const Host& host, const Lab* lab) {
  nlohmann::json out = to_json(host);
  EffectiveMode mode = effective_mode(host, lab);
  EffectiveChannel channel = effective_channel(host, lab);
  out["effective_mode"] = {{"mode", boot_mode_name(mode.mode)},
                           {"from", setting_source_name(mode.source)}};
  out["effective_channel"] = {
      {"channel", channel.channel ? nlohmann::json(*channel.channel) : nlohmann::json()},
      {"pinned_commit",
       channel.pinned_commit ? nlohmann::json(*channel.pinned_commit) : nlohmann::json()},
      {"from", setting_source_name(channel.source)}};
  return out;
}

Result<int> host_add(Context& context, const Args& args) {
  CLI::App app{"Add a host to the inventory.", "goldroot host add"};
  std::string name, ip, lab, channel, pin, mode, arch, notes;
  std::vector<std::string> macs, vars;
  app.add_option("NAME", name, "host name (a DNS label)")->required();
  app.add_option("--mac", macs, "MAC address (repeat for several NICs)")->required();
  app.add_option("--ip", ip, "fixed IPv4 address");
  app.add_option("--lab", lab, "lab the host belongs to");
  app.add_option("--channel", channel, "channel to follow (default: the lab's, else gold)");
  app.add_option("--pin", pin, "pin to a commit, image or channel's current commit");
  app.add_option("--mode", mode, "boot mode (default: the lab's, else normal)");
  app.add_option("--arch", arch, "architecture (default x86_64)");
  app.add_option("--notes", notes, "free-form notes");
  app.add_option("--var", vars, "host variable NAME=VALUE for templates (repeatable)");
  if (auto exit = parse_args(app, args)) return *exit;

  auto fleet = TRY(open_fleet(context, LockMode::kExclusive, "host add"));
  Host host;
  host.name = to_lower(name);
  TRY(validate_host_name(host.name));
  std::vector<Assignment> settings = {{"mac", join(macs, ",")}};
  auto optional = [&](const char* key, const std::string& value) {
    if (!value.empty()) settings.push_back({key, value});
  };
  optional("ip", ip);
  optional("lab", lab);
  optional("channel", channel);
  optional("pin", pin);
  optional("mode", mode);
  optional("arch", arch);
  optional("notes", notes);
  if (!channel.empty() && !pin.empty())
    return make_error(ErrorCode::kInvalidArgument, "give --channel or --pin, not both");
  for (const Assignment& var : TRY(parse_assignments(vars)))
    settings.push_back({"var." + var.key, var.value});
  for (const Assignment& setting : settings) TRY(apply(host, setting, fleet.site->store()));

  auto transaction = TRY(fleet.inventory.begin_write());
  TRY(fleet.inventory.add_host(host));
  TRY(transaction.commit());
  std::printf("added host %s (%s%s)\n", host.name.c_str(), join(host.macs, ", ").c_str(),
              host.ip ? (", " + *host.ip).c_str() : "");
  return 0;
}

Result<int> host_list(Context& context, const Args& args) {
  CLI::App app{"List hosts with their effective boot mode and channel.", "goldroot host list"};
  std::string lab;
  bool json = false;
  app.add_option("--lab", lab, "only hosts of this lab");
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto fleet = TRY(open_fleet(context, LockMode::kShared, "host list"));
  auto transaction = TRY(fleet.inventory.begin_read());
  std::map<std::string, Lab> labs;
  for (Lab& item : TRY(fleet.inventory.labs())) labs[item.name] = std::move(item);
  if (!lab.empty() && !labs.count(lab))
    return make_error(ErrorCode::kNotFound, "unknown lab " + lab);
  auto hosts = TRY(fleet.inventory.hosts(lab.empty() ? std::nullopt : std::optional(lab)));
  auto lab_of = [&](const Host& host) -> const Lab* {
    return host.lab && labs.count(*host.lab) ? &labs.at(*host.lab) : nullptr;
  };
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Host& host : hosts) out.push_back(effective_json(host, lab_of(host)));
    print_json(out);
    return 0;
  }
  std::printf("%-20s %-20s %-15s %-12s %-18s %s\n", "NAME", "MAC", "IP", "LAB", "MODE", "CHANNEL");
  for (const Host& host : hosts) {
    std::string mac = host.macs.empty() ? "-" : host.macs[0];
    if (host.macs.size() > 1) mac += " +" + std::to_string(host.macs.size() - 1);
    std::printf("%-20s %-20s %-15s %-12s %-18s %s\n", host.name.c_str(), mac.c_str(),
                or_dash(host.ip).c_str(), or_dash(host.lab).c_str(),
                describe_mode(effective_mode(host, lab_of(host))).c_str(),
                describe_channel(effective_channel(host, lab_of(host))).c_str());
  }
  return 0;
}

Result<int> host_show(Context& context, const Args& args) {
  CLI::App app{"Show one host, its effective settings and its layers.", "goldroot host show"};
  std::string name;
  bool json = false;
  app.add_option("NAME", name, "host name")->required();
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto fleet = TRY(open_fleet(context, LockMode::kShared, "host show"));
  auto transaction = TRY(fleet.inventory.begin_read());
  HostProfile profile = TRY(load_host_profile(fleet.inventory, to_lower(name)));
  const Host& host = profile.host;
  const Lab* lab = profile.lab ? &*profile.lab : nullptr;
  auto layers = TRY(host_layers(fleet.site->layers_dir(), profile));
  std::vector<std::string> layer_names;
  for (const LayerRef& layer : layers) layer_names.push_back(layer.name);
  if (json) {
    nlohmann::json out = effective_json(host, lab);
    out["network"] = profile.network ? to_json(*profile.network) : nlohmann::json();
    out["layers"] = layer_names;
    out["layer_candidates"] = candidate_layer_names(profile);
    print_json(out);
    return 0;
  }
  std::printf("name:     %s\n", host.name.c_str());
  std::printf("macs:     %s\n", join(host.macs, ", ").c_str());
  std::printf("ip:       %s\n", or_dash(host.ip).c_str());
  std::printf("network:  %s\n", profile.network ? profile.network->cidr.c_str() : "-");
  std::printf("lab:      %s\n", or_dash(host.lab).c_str());
  std::printf("arch:     %s\n", host.arch.c_str());
  std::printf("mode:     %s\n", describe_mode(effective_mode(host, lab)).c_str());
  std::printf("channel:  %s\n", describe_channel(effective_channel(host, lab)).c_str());
  for (const auto& [key, value] : host.vars)
    std::printf("var.%s = %s\n", key.c_str(), value.c_str());
  if (!host.notes.empty()) std::printf("notes:    %s\n", host.notes.c_str());
  std::vector<std::string> absent;
  for (const std::string& candidate : candidate_layer_names(profile))
    if (std::find(layer_names.begin(), layer_names.end(), candidate) == layer_names.end())
      absent.push_back(candidate);
  std::printf("layers:   %s%s\n", layer_names.empty() ? "(none)" : join(layer_names, ", ").c_str(),
              absent.empty() ? "" : ("   (not present: " + join(absent, ", ") + ")").c_str());
  return 0;
}

Result<int> host_set(Context& context, const Args& args) {
  CLI::App app{
      "Change hosts: goldroot host set PATTERN key=value… (keys: name, mac, ip, lab, "
      "arch, channel, pin, mode, notes, var.NAME; an empty value inherits again).",
      "goldroot host set"};
  std::string pattern;
  std::vector<std::string> settings;
  app.add_option("PATTERN", pattern, "host name or glob such as 'lab3-*'")->required();
  app.add_option("SETTINGS", settings, "key=value")->required();
  if (auto exit = parse_args(app, args)) return *exit;
  auto assignments = TRY(parse_assignments(settings));
  auto fleet = TRY(open_fleet(context, LockMode::kExclusive, "host set"));
  auto transaction = TRY(fleet.inventory.begin_write());
  auto hosts = TRY(hosts_matching(fleet.inventory, pattern));
  for (const Assignment& assignment : assignments)
    if (assignment.key == "name" && hosts.size() > 1)
      return make_error(ErrorCode::kInvalidArgument, pattern + " matches " +
                                                         std::to_string(hosts.size()) +
                                                         " hosts; rename them one at a time");
  for (const Host& before : hosts) {
    Host after = before;
    for (const Assignment& assignment : assignments)
      TRY(apply(after, assignment, fleet.site->store()).context("host " + before.name));
    TRY(fleet.inventory.update_host(before.name, after));
  }
  TRY(transaction.commit());
  std::printf("updated %zu host%s\n", hosts.size(), hosts.size() == 1 ? "" : "s");
  return 0;
}

Result<int> host_rm(Context& context, const Args& args) {
  CLI::App app{"Remove hosts from the inventory (names or globs).", "goldroot host rm"};
  std::vector<std::string> patterns;
  app.add_option("NAME", patterns, "host name or glob")->required();
  if (auto exit = parse_args(app, args)) return *exit;
  auto fleet = TRY(open_fleet(context, LockMode::kExclusive, "host rm"));
  auto transaction = TRY(fleet.inventory.begin_write());
  size_t removed = 0;
  for (const std::string& pattern : patterns)
    for (const Host& host : TRY(hosts_matching(fleet.inventory, pattern))) {
      TRY(fleet.inventory.remove_host(host.name));
      ++removed;
    }
  TRY(transaction.commit());
  std::printf("removed %zu host%s\n", removed, removed == 1 ? "" : "s");
  return 0;
}

Result<int> host_import(Context& context, const Args& args) {
  CLI::App app{
      "Import hosts from a CSV file, a dnsmasq dhcp-host list or ISC dhcpd.conf host "
      "blocks.",
      "goldroot host import"};
  std::string file, format_name = "auto";
  std::vector<std::string> lab_rules;
  bool dry_run = false;
  app.add_option("FILE", file, "file to import")->required();
  app.add_option("--format", format_name, "auto, csv, dnsmasq or dhcpd");
  app.add_option("--lab", lab_rules, "LAB or LAB=GLOB: put (matching) hosts in LAB (repeatable)");
  app.add_flag("--dry-run,-n", dry_run, "show what would change, change nothing");
  if (auto exit = parse_args(app, args)) return *exit;
  ImportFormat format = TRY(parse_import_format(format_name));
  std::vector<LabRule> rules;
  for (const std::string& rule : lab_rules) rules.push_back(TRY(parse_lab_rule(rule)));
  std::string text = TRY(context.env->read_file(file));
  auto records = TRY(parse_import(text, format, file));

  auto fleet = TRY(open_fleet(context, LockMode::kExclusive, "host import"));
  auto transaction = TRY(fleet.inventory.begin_write());
  auto changes = TRY(import_hosts(fleet.inventory, fleet.site->store(), records, rules, file));
  size_t added = 0, updated = 0, unchanged = 0;
  for (const ImportChange& change : changes) {
    switch (change.kind) {
      case ImportChange::Kind::kAdd:
        ++added;
        std::printf("add     %s\n", change.host.c_str());
        break;
      case ImportChange::Kind::kUpdate:
        ++updated;
        std::printf("update  %s: %s\n", change.host.c_str(), join(change.details, "; ").c_str());
        break;
      case ImportChange::Kind::kUnchanged:
        ++unchanged;
        break;
    }
  }
  if (!dry_run) TRY(transaction.commit());
  std::printf("%s%zu added, %zu updated, %zu unchanged\n",
              dry_run ? "dry run, nothing written: " : "", added, updated, unchanged);
  return 0;
}

const Command kHostCommands[] = {
    {"add", "add a host", host_add},
    {"list", "list hosts", host_list},
    {"show", "show a host", host_show},
    {"set", "change hosts matching a pattern", host_set},
    {"rm", "remove hosts", host_rm},
    {"import", "import hosts from CSV, dnsmasq or dhcpd.conf", host_import},
    {"token", "print a host's agent token", run_host_token},
};

}  // namespace

Result<int> run_host(Context& context, const Args& args) {
  return dispatch(context, kHostCommands, args, "goldroot host");
}

}  // namespace goldroot::cli
