// `goldroot host …`: the fleet's machines in the inventory, and the keys
// they prove who they are with (enroll, rekey, keys; fleet/host_keys.h).
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
#include "fleet/host_keys.h"
#include "fleet/names.h"
#include "fleet/unregistered.h"
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

std::string describe_fetch(const EffectiveFetch& fetch) {
  std::string text = fetch_mode_name(fetch.mode);
  if (fetch.source == SettingSource::kLab) text += " (lab)";
  if (fetch.source == SettingSource::kDefault) text += " (site)";
  return text;
}

nlohmann::json effective_json(const Host& host, const Lab* lab, FetchMode site_fetch) {
  nlohmann::json out = to_json(host);
  EffectiveMode mode = effective_mode(host, lab);
  EffectiveChannel channel = effective_channel(host, lab);
  EffectiveFetch fetch = effective_fetch(host, lab, site_fetch);
  out["effective_fetch"] = {{"fetch", fetch_mode_name(fetch.mode)},
                            {"from", setting_source_name(fetch.source)}};
  out["effective_mode"] = {{"mode", boot_mode_name(mode.mode)},
                           {"from", setting_source_name(mode.source)}};
  out["effective_channel"] = {
      {"channel", channel.channel ? nlohmann::json(*channel.channel) : nlohmann::json()},
      {"pinned_commit",
       channel.pinned_commit ? nlohmann::json(*channel.pinned_commit) : nlohmann::json()},
      {"from", setting_source_name(channel.source)}};
  return out;
}

// ---- keys

std::string minute(int64_t seconds) { return format_utc(seconds, "%Y-%m-%d %H:%M"); }

std::string how_enrolled(const HostKey& row) {
  return row.enrolled_by + ", " + (row.persistent ? "persistent" : "ephemeral");
}

std::string describe_pending(const HostKey& row) {
  return row.pending->key_id() + " at " + minute(row.pending_at) + " from " + row.pending_from;
}

// Someone presented another key for this host: shown loud, it may be an impostor.
std::string describe_refused(const HostKey& row) {
  return "!! " + row.refused->key_id() + " from " + row.refused_from + " at " +
         minute(row.refused_at);
}

nlohmann::json key_json(const std::string& host, const HostKey* row, EnrollPolicy policy) {
  nlohmann::json out = to_json(row);
  out["host"] = host;
  out["policy"] = enroll_policy_name(policy);
  return out;
}

// The policy that enrols `host`'s next key, and where it is set.
struct HostPolicy {
  EnrollPolicy policy;
  std::string source;  // "lab lab3" or "the site"
};

HostPolicy policy_of(const Host& host, const Lab* lab, EnrollPolicy site_default) {
  return {effective_enroll_policy(host, lab, site_default),
          host.unregistered    ? std::string("unregistered")
          : lab && lab->enroll ? "lab " + lab->name
                               : std::string("the site")};
}

Result<HostPolicy> policy_of(FleetSession& fleet, const Host& host) {
  EnrollPolicy site_default = TRY(fleet.site->settings()).enroll;
  std::optional<Lab> lab;
  if (host.lab) lab = TRY(fleet.inventory.find_lab(*host.lab));
  return policy_of(host, lab ? &*lab : nullptr, site_default);
}

Result<Host> existing_host(Inventory& inventory, const std::string& name) {
  auto host = TRY(inventory.find_host(name));
  if (!host) return make_error(ErrorCode::kNotFound, "there is no host " + name);
  return std::move(*host);
}

Result<int> host_enroll(Context& context, const Args& args) {
  CLI::App app{
      "Enroll a host's key: the one it presented at boot (its id is on its screen and in "
      "'goldroot host keys'), or the public key given with --key.",
      "goldroot host enroll"};
  std::string name, key_file, key_id;
  app.add_option("NAME", name, "host name")->required();
  app.add_option("--key", key_file, "the host's ed25519 public key (PEM) instead");
  app.add_option("--key-id", key_id, "enroll only if the key has this id (as the host shows it)");
  if (auto exit = parse_args(app, args)) return *exit;
  std::optional<VerifyKey> key;
  if (!key_file.empty()) {
    auto parsed = VerifyKey::from_pem(TRY(context.env->read_file(key_file)));
    if (!parsed.ok())
      return make_error(
          ErrorCode::kInvalidArgument,
          key_file + " is not an ed25519 public key in PEM form (" + parsed.error().message + ")");
    key = *parsed;
  }
  std::optional<std::string> expected_id;
  if (!key_id.empty()) expected_id = key_id;
  name = to_lower(name);
  auto fleet = TRY(open_fleet(context, LockMode::kExclusive, "host enroll"));
  auto transaction = TRY(fleet.inventory.begin_write());
  HostKeys keys(fleet.inventory.database());
  auto before = TRY(keys.find(name));
  TRY(keys.enroll(name, key, expected_id, context.env->now_seconds()));
  VerifyKey enrolled = TRY(keys.enrolled(name)).value();
  TRY(transaction.commit());
  std::optional<VerifyKey> old = before ? before->key : std::nullopt;
  if (old == enrolled) {
    std::printf("%s's key %s is already enrolled\n", name.c_str(), enrolled.key_id().c_str());
    return 0;
  }
  std::printf("enrolled %s's key %s%s\n", name.c_str(), enrolled.key_id().c_str(),
              old ? ("; its old key " + old->key_id() + " is revoked").c_str() : "");
  return 0;
}

Result<int> host_rekey(Context& context, const Args& args) {
  CLI::App app{
      "Revoke a host's key (and forget a pending one): the host makes a new key at its "
      "next boot, which is then enrolled by 'goldroot host enroll' or its policy. A "
      "revoked key is refused for every host, for good.",
      "goldroot host rekey"};
  std::string name;
  app.add_option("NAME", name, "host name")->required();
  if (auto exit = parse_args(app, args)) return *exit;
  name = to_lower(name);
  auto fleet = TRY(open_fleet(context, LockMode::kExclusive, "host rekey"));
  auto transaction = TRY(fleet.inventory.begin_write());
  Host host = TRY(existing_host(fleet.inventory, name));
  HostPolicy policy = TRY(policy_of(fleet, host));
  HostKeys keys(fleet.inventory.database());
  auto before = TRY(keys.find(name));
  TRY(keys.rekey(name, context.env->now_seconds()));
  TRY(transaction.commit());
  if (!before || (!before->key && !before->pending)) {
    std::printf("%s has no key enrolled or pending; nothing to revoke\n", name.c_str());
    return 0;
  }
  if (before->key)
    std::printf("revoked %s's key %s\n", name.c_str(), before->key->key_id().c_str());
  if (before->pending)
    std::printf("forgot %s's pending key %s\n", name.c_str(), before->pending->key_id().c_str());
  std::string then = policy.policy == EnrollPolicy::kAdmin
                         ? "enroll it then with 'goldroot host enroll " + name + "'"
                         : std::string("policy ") + enroll_policy_name(policy.policy) + " of " +
                               policy.source + " enrolls it then";
  std::printf("%s will present a new key at its next boot; %s\n", name.c_str(), then.c_str());
  return 0;
}

Result<int> host_keys(Context& context, const Args& args) {
  CLI::App app{
      "List every host's key: enrolled, pending (presented, waiting for 'goldroot host "
      "enroll') or none, how it was enrolled, and the last other key someone presented "
      "for the host (refused, marked !!).",
      "goldroot host keys"};
  bool json = false;
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto fleet = TRY(open_fleet(context, LockMode::kShared, "host keys"));
  EnrollPolicy site_default = TRY(fleet.site->settings()).enroll;
  auto transaction = TRY(fleet.inventory.begin_read());
  std::map<std::string, Lab> labs;
  for (Lab& lab : TRY(fleet.inventory.labs())) labs[lab.name] = std::move(lab);
  std::map<std::string, HostKey> rows;
  for (HostKey& row : TRY(HostKeys(fleet.inventory.database()).all())) {
    std::string host = row.host;
    rows.emplace(std::move(host), std::move(row));
  }
  auto hosts = TRY(fleet.inventory.hosts());
  nlohmann::json out = nlohmann::json::array();
  std::vector<std::string> refused;
  if (!json)
    std::printf("%-20s %-9s %-16s %-21s %-50s %s\n", "NAME", "STATE", "KEY", "ENROLLED BY",
                "PENDING", "REFUSED");
  for (const Host& host : hosts) {
    auto found = rows.find(host.name);
    const HostKey* row = found == rows.end() ? nullptr : &found->second;
    const Lab* lab = host.lab && labs.count(*host.lab) ? &labs.at(*host.lab) : nullptr;
    if (row && row->refused) refused.push_back(host.name);
    if (json) {
      out.push_back(key_json(host.name, row, policy_of(host, lab, site_default).policy));
      continue;
    }
    bool enrolled = row && row->key;
    std::printf("%-20s %-9s %-16s %-21s %-50s %s\n", host.name.c_str(), key_state(row),
                enrolled ? row->key->key_id().c_str() : "-",
                enrolled ? how_enrolled(*row).c_str() : "-",
                row && row->pending ? describe_pending(*row).c_str() : "-",
                row && row->refused ? describe_refused(*row).c_str() : "-");
  }
  if (json) {
    print_json(out);
    return 0;
  }
  if (!refused.empty())
    std::printf(
        "!! another key than the enrolled one was presented for %s (REFUSED): someone "
        "may be posing as %s; if the host itself made a new key, run 'goldroot host "
        "rekey NAME' and enroll the new one\n",
        join(refused, ", ").c_str(), refused.size() == 1 ? "it" : "them");
  return 0;
}

// ---- inventory

Result<int> host_add(Context& context, const Args& args) {
  CLI::App app{"Add a host to the inventory.", "goldroot host add"};
  std::string name, ip, lab, channel, pin, mode, fetch, arch, notes;
  std::vector<std::string> macs, vars;
  app.add_option("NAME", name, "host name (a DNS label)")->required();
  app.add_option("--mac", macs, "MAC address (repeat for several NICs)")->required();
  app.add_option("--ip", ip, "fixed IPv4 address");
  app.add_option("--lab", lab, "lab the host belongs to");
  app.add_option("--channel", channel, "channel to follow (default: the lab's, else gold)");
  app.add_option("--pin", pin, "pin to a commit, image or channel's current commit");
  app.add_option("--mode", mode, "boot mode (default: the lab's, else normal)");
  app.add_option("--fetch", fetch,
                 "how it gets its image: full or demand (default: the lab's, else the site's)");
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
  optional("fetch", fetch);
  optional("arch", arch);
  optional("notes", notes);
  if (!channel.empty() && !pin.empty())
    return make_error(ErrorCode::kInvalidArgument, "give --channel or --pin, not both");
  for (const Assignment& var : TRY(parse_assignments(vars)))
    settings.push_back({"var." + var.key, var.value});
  for (const Assignment& setting : settings) TRY(apply(host, setting, fleet.site->store()));

  auto transaction = TRY(fleet.inventory.begin_write());
  // A machine that booted the default image unregistered is adopted: the
  // same row, so its key, boot history and agent state stay.
  if (auto unregistered = TRY(unregistered_host_with(fleet.inventory, host.macs))) {
    TRY(adopt_unregistered_host(fleet.inventory, unregistered->name, host));
    TRY(transaction.commit());
    std::printf("adopted unregistered host %s as %s (%s%s); its key and boot history stay\n",
                unregistered->name.c_str(), host.name.c_str(), join(host.macs, ", ").c_str(),
                host.ip ? (", " + *host.ip).c_str() : "");
    return 0;
  }
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
  FetchMode site_fetch = TRY(fleet.site->settings()).fetch;
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
    for (const Host& host : hosts) out.push_back(effective_json(host, lab_of(host), site_fetch));
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
  CLI::App app{"Show one host, its effective settings, its key and its layers.",
               "goldroot host show"};
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
  SiteSettings site_settings = TRY(fleet.site->settings());
  HostPolicy policy = policy_of(host, lab, site_settings.enroll);
  EffectiveFetch fetch = effective_fetch(host, lab, site_settings.fetch);
  auto key_row = TRY(HostKeys(fleet.inventory.database()).find(host.name));
  const HostKey* host_key = key_row ? &*key_row : nullptr;
  std::vector<std::string> layer_names;
  for (const LayerRef& layer : layers) layer_names.push_back(layer.name);
  if (json) {
    nlohmann::json out = effective_json(host, lab, site_settings.fetch);
    out["network"] = profile.network ? to_json(*profile.network) : nlohmann::json();
    out["layers"] = layer_names;
    out["layer_candidates"] = candidate_layer_names(profile);
    out["key"] = key_json(host.name, host_key, policy.policy);
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
  std::printf("fetch:    %s\n", describe_fetch(fetch).c_str());
  if (host_key && host_key->key)
    std::printf("key:      %s (%s, %s)\n", host_key->key->key_id().c_str(),
                how_enrolled(*host_key).c_str(), minute(host_key->enrolled_at).c_str());
  else
    std::printf("key:      none enrolled\n");
  if (host_key && host_key->pending)
    std::printf("pending:  %s\n", describe_pending(*host_key).c_str());
  if (host_key && host_key->refused)
    std::printf("refused:  %s\n", describe_refused(*host_key).c_str());
  std::printf("enroll:   %s (%s)\n", enroll_policy_name(policy.policy), policy.source.c_str());
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
      "arch, channel, pin, mode, fetch=full|demand (how it gets its image: all before mounting, "
      "or blocks as read, checked by dm-verity), notes, var.NAME; an empty value inherits "
      "again).",
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
    {"enroll", "enroll the key a host presented (or one given)", host_enroll},
    {"rekey", "revoke a host's key; it makes a new one at its next boot", host_rekey},
    {"keys", "list the hosts' keys, pending and refused ones", host_keys},
};

}  // namespace

Result<int> run_host(Context& context, const Args& args) {
  return dispatch(context, kHostCommands, args, "goldroot host");
}

}  // namespace goldroot::cli
