#include "fleet/inventory.h"

#include <algorithm>
#include <map>

#include "base/strings.h"
#include "fleet/schema.h"

namespace goldroot {

namespace {

std::optional<BootMode> mode_column(const Statement& row, int index) {
  auto text = row.optional_text_column(index);
  if (!text) return std::nullopt;
  auto mode = parse_boot_mode(*text);
  return mode.ok() ? std::optional<BootMode>(*mode) : std::nullopt;
}

std::optional<FetchMode> fetch_column(const Statement& row, int index) {
  auto text = row.optional_text_column(index);
  if (!text) return std::nullopt;
  auto mode = parse_fetch_mode(*text);
  return mode.ok() ? std::optional<FetchMode>(*mode) : std::nullopt;
}

std::optional<std::string> fetch_text(const std::optional<FetchMode>& mode) {
  if (!mode) return std::nullopt;
  return std::string(fetch_mode_name(*mode));
}

std::optional<PrefetchSetting> prefetch_column(const Statement& row, int index) {
  auto text = row.optional_text_column(index);
  if (!text) return std::nullopt;
  auto setting = parse_prefetch_setting(*text);
  return setting.ok() ? std::optional<PrefetchSetting>(*setting) : std::nullopt;
}

std::optional<std::string> prefetch_text(const std::optional<PrefetchSetting>& setting) {
  if (!setting) return std::nullopt;
  return prefetch_setting_name(*setting);
}

// The columns of kHostColumns (id first) as a Host, without MACs and vars.
Host host_from_row(Statement& query) {
  Host host;
  host.name = query.text_column(1);
  host.ip = query.optional_text_column(2);
  host.lab = query.optional_text_column(3);
  host.arch = query.text_column(4);
  host.channel = query.optional_text_column(5);
  host.pinned_commit = query.optional_text_column(6);
  host.mode = mode_column(query, 7);
  host.notes = query.text_column(8);
  host.unregistered = query.int_column(9) != 0;
  host.fetch = fetch_column(query, 10);
  return host;
}

std::optional<std::string> mode_text(const std::optional<BootMode>& mode) {
  if (!mode) return std::nullopt;
  return std::string(boot_mode_name(*mode));
}

std::optional<EnrollPolicy> enroll_column(const Statement& row, int index) {
  auto text = row.optional_text_column(index);
  if (!text) return std::nullopt;
  auto policy = parse_enroll_policy(*text);
  return policy.ok() ? std::optional<EnrollPolicy>(*policy) : std::nullopt;
}

std::optional<UefiBoot> uefi_column(const Statement& row, int index) {
  auto text = row.optional_text_column(index);
  if (!text) return std::nullopt;
  auto boot = parse_uefi_boot(*text);
  return boot.ok() ? std::optional<UefiBoot>(*boot) : std::nullopt;
}

std::optional<std::string> uefi_text(const std::optional<UefiBoot>& boot) {
  if (!boot) return std::nullopt;
  return std::string(uefi_boot_name(*boot));
}

std::optional<std::string> enroll_text(const std::optional<EnrollPolicy>& policy) {
  if (!policy) return std::nullopt;
  return std::string(enroll_policy_name(*policy));
}

Network network_from_row(const Statement& row) {
  Network network;
  network.cidr = row.text_column(0);
  network.gateway = row.optional_text_column(1);
  std::string dns = row.text_column(2);
  if (!dns.empty()) network.dns = split(dns, ',');
  network.domain = row.optional_text_column(3);
  return network;
}

constexpr const char* kHostColumns =
    "SELECT h.id, h.name, h.ip, l.name, h.arch, h.channel, h.pinned_commit, h.mode, h.notes, "
    "h.unregistered, h.\"fetch\" FROM hosts h LEFT JOIN labs l ON l.id = h.lab_id ";

}  // namespace

Result<Inventory> Inventory::open(const std::string& path) {
  Database db = TRY(Database::open(path));
  TRY(migrate(db));
  return Inventory(std::move(db));
}

// ---- networks

Result<std::vector<Network>> Inventory::networks() {
  Statement query = TRY(db_.prepare("SELECT cidr, gateway, dns, domain FROM networks"));
  std::vector<Network> out;
  while (TRY(query.step())) out.push_back(network_from_row(query));
  std::sort(out.begin(), out.end(), [](const Network& a, const Network& b) {
    Cidr x = parse_cidr(a.cidr).value(), y = parse_cidr(b.cidr).value();
    return std::pair(x.network, x.prefix) < std::pair(y.network, y.prefix);
  });
  return out;
}

Result<std::optional<Network>> Inventory::find_network(const std::string& cidr) {
  Statement query =
      TRY(db_.prepare("SELECT cidr, gateway, dns, domain FROM networks WHERE cidr = ?"));
  query.bind(cidr);
  if (!TRY(query.step())) return std::optional<Network>();
  return std::optional<Network>(network_from_row(query));
}

Result<std::optional<Network>> Inventory::network_containing(const std::string& ip) {
  Ipv4 address = TRY(parse_ipv4(ip));
  std::optional<Network> best;
  int best_prefix = -1;
  for (Network& network : TRY(networks())) {
    Cidr cidr = TRY(parse_cidr(network.cidr));
    if (cidr.contains(address) && cidr.prefix > best_prefix) {
      best_prefix = cidr.prefix;
      best = std::move(network);
    }
  }
  return best;
}

Status Inventory::add_network(const Network& network) {
  TRY(validate(network));
  if (TRY(find_network(network.cidr)))
    return make_error(ErrorCode::kAlreadyExists, "network " + network.cidr + " already exists");
  Statement insert =
      TRY(db_.prepare("INSERT INTO networks (cidr, gateway, dns, domain) VALUES (?, ?, ?, ?)"));
  insert.bind(network.cidr).bind(network.gateway).bind(join(network.dns, ",")).bind(network.domain);
  return insert.run();
}

Status Inventory::remove_network(const std::string& cidr) {
  if (!TRY(find_network(cidr)))
    return make_error(ErrorCode::kNotFound, "there is no network " + cidr);
  Statement users =
      TRY(db_.prepare("SELECT l.name FROM labs l JOIN lab_networks ln ON ln.lab_id = l.id "
                      "JOIN networks n ON n.id = ln.network_id WHERE n.cidr = ? ORDER BY l.name"));
  users.bind(cidr);
  std::vector<std::string> labs;
  while (TRY(users.step())) labs.push_back(users.text_column(0));
  if (!labs.empty())
    return make_error(ErrorCode::kBusy,
                      "network " + cidr + " is used by lab " + join(labs, ", ") +
                          "; take it out of the lab first (goldroot lab set LAB networks=…)");
  Statement remove = TRY(db_.prepare("DELETE FROM networks WHERE cidr = ?"));
  remove.bind(cidr);
  return remove.run();
}

// ---- labs

Result<std::vector<Lab>> Inventory::labs() {
  std::map<int64_t, Lab> by_id;
  Statement query = TRY(db_.prepare("SELECT id, name, channel, mode, notes, enroll, uefi, \"fetch\", prefetch FROM labs"));
  while (TRY(query.step())) {
    Lab lab;
    lab.name = query.text_column(1);
    lab.channel = query.optional_text_column(2);
    lab.mode = mode_column(query, 3);
    lab.notes = query.text_column(4);
    lab.enroll = enroll_column(query, 5);
    lab.uefi = uefi_column(query, 6);
    lab.fetch = fetch_column(query, 7);
    lab.prefetch = prefetch_column(query, 8);
    by_id[query.int_column(0)] = std::move(lab);
  }
  Statement links = TRY(db_.prepare(
      "SELECT ln.lab_id, n.cidr FROM lab_networks ln JOIN networks n ON n.id = ln.network_id"));
  while (TRY(links.step())) by_id[links.int_column(0)].networks.push_back(links.text_column(1));
  std::vector<Lab> out;
  for (auto& [id, lab] : by_id) {
    std::sort(lab.networks.begin(), lab.networks.end());
    out.push_back(std::move(lab));
  }
  std::sort(out.begin(), out.end(), [](const Lab& a, const Lab& b) { return a.name < b.name; });
  return out;
}

Result<std::optional<Lab>> Inventory::find_lab(const std::string& name) {
  for (Lab& lab : TRY(labs()))
    if (lab.name == name) return std::optional<Lab>(std::move(lab));
  return std::optional<Lab>();
}

Result<std::optional<int64_t>> Inventory::lab_id(const std::string& name) {
  Statement query = TRY(db_.prepare("SELECT id FROM labs WHERE name = ?"));
  query.bind(name);
  if (!TRY(query.step())) return std::optional<int64_t>();
  return std::optional<int64_t>(query.int_column(0));
}

Status Inventory::write_lab_networks(int64_t id, const Lab& lab) {
  Statement clear = TRY(db_.prepare("DELETE FROM lab_networks WHERE lab_id = ?"));
  clear.bind(id);
  TRY(clear.run());
  for (const std::string& cidr : lab.networks) {
    Statement link =
        TRY(db_.prepare("INSERT INTO lab_networks (lab_id, network_id) "
                        "SELECT ?, id FROM networks WHERE cidr = ? ON CONFLICT DO NOTHING"));
    link.bind(id).bind(cidr);
    TRY(link.run());
    if (db_.changes() == 0 && !TRY(find_network(cidr)))
      return make_error(
          ErrorCode::kNotFound,
          "unknown network " + cidr + "; add it first with 'goldroot network add " + cidr + "'");
  }
  return {};
}

Status Inventory::add_lab(const Lab& lab) {
  TRY(validate(lab));
  if (TRY(lab_id(lab.name)))
    return make_error(ErrorCode::kAlreadyExists, "lab " + lab.name + " already exists");
  Statement insert = TRY(
      db_.prepare("INSERT INTO labs (name, channel, mode, notes, enroll, uefi, \"fetch\", prefetch) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"));
  insert.bind(lab.name)
      .bind(lab.channel)
      .bind(mode_text(lab.mode))
      .bind(lab.notes)
      .bind(enroll_text(lab.enroll))
      .bind(uefi_text(lab.uefi))
      .bind(fetch_text(lab.fetch))
      .bind(prefetch_text(lab.prefetch));
  TRY(insert.step());
  int64_t id = insert.int_column(0);
  TRY(insert.run());
  return write_lab_networks(id, lab);
}

Status Inventory::update_lab(const Lab& lab) {
  TRY(validate(lab));
  auto id = TRY(lab_id(lab.name));
  if (!id) return make_error(ErrorCode::kNotFound, "there is no lab " + lab.name);
  Statement update =
      TRY(db_.prepare("UPDATE labs SET channel = ?, mode = ?, notes = ?, enroll = ?, uefi = ?, "
                      "\"fetch\" = ?, prefetch = ? WHERE id = ?"));
  update.bind(lab.channel)
      .bind(mode_text(lab.mode))
      .bind(lab.notes)
      .bind(enroll_text(lab.enroll))
      .bind(uefi_text(lab.uefi))
      .bind(fetch_text(lab.fetch))
      .bind(prefetch_text(lab.prefetch))
      .bind(*id);
  TRY(update.run());
  TRY(write_lab_networks(*id, lab));
  // Moving a lab off a network must not strand its hosts' addresses.
  for (const Host& host : TRY(hosts(lab.name))) TRY(check_host(host, TRY(host_id(host.name))));
  return {};
}

Status Inventory::remove_lab(const std::string& name) {
  auto id = TRY(lab_id(name));
  if (!id) return make_error(ErrorCode::kNotFound, "there is no lab " + name);
  Statement count = TRY(db_.prepare("SELECT count(*) FROM hosts WHERE lab_id = ?"));
  count.bind(*id);
  TRY(count.step());
  if (int64_t hosts = count.int_column(0); hosts > 0)
    return make_error(ErrorCode::kBusy,
                      "lab " + name + " still has " + std::to_string(hosts) +
                          " host(s); move them (goldroot host set 'PATTERN' lab=OTHER) or remove "
                          "them first");
  Statement remove = TRY(db_.prepare("DELETE FROM labs WHERE id = ?"));
  remove.bind(*id);
  return remove.run();
}

// ---- hosts

Result<std::vector<Host>> Inventory::hosts(const std::optional<std::string>& lab) {
  std::string sql = std::string(kHostColumns) + (lab ? "WHERE l.name = ? " : "");
  Statement query = TRY(db_.prepare(sql));
  if (lab) query.bind(*lab);
  std::map<int64_t, Host> by_id;
  while (TRY(query.step())) {
    Host host = host_from_row(query);
    by_id[query.int_column(0)] = std::move(host);
  }
  Statement macs =
      TRY(db_.prepare("SELECT host_id, mac FROM host_macs ORDER BY host_id, position"));
  while (TRY(macs.step())) {
    auto it = by_id.find(macs.int_column(0));
    if (it != by_id.end()) it->second.macs.push_back(macs.text_column(1));
  }
  Statement vars = TRY(db_.prepare("SELECT host_id, key, value FROM host_vars"));
  while (TRY(vars.step())) {
    auto it = by_id.find(vars.int_column(0));
    if (it != by_id.end()) it->second.vars[vars.text_column(1)] = vars.text_column(2);
  }
  std::vector<Host> out;
  out.reserve(by_id.size());
  for (auto& [id, host] : by_id) out.push_back(std::move(host));
  std::sort(out.begin(), out.end(), [](const Host& a, const Host& b) { return a.name < b.name; });
  return out;
}

Result<std::optional<int64_t>> Inventory::host_id(const std::string& name) {
  Statement query = TRY(db_.prepare("SELECT id FROM hosts WHERE name = ?"));
  query.bind(name);
  if (!TRY(query.step())) return std::optional<int64_t>();
  return std::optional<int64_t>(query.int_column(0));
}

Result<std::optional<Host>> Inventory::find_host(const std::string& name) {
  auto id = TRY(host_id(name));
  if (!id) return std::optional<Host>();
  Statement query = TRY(db_.prepare(std::string(kHostColumns) + "WHERE h.id = ?"));
  query.bind(*id);
  TRY(query.step());
  Host host = host_from_row(query);
  Statement macs =
      TRY(db_.prepare("SELECT mac FROM host_macs WHERE host_id = ? ORDER BY position"));
  macs.bind(*id);
  while (TRY(macs.step())) host.macs.push_back(macs.text_column(0));
  Statement vars = TRY(db_.prepare("SELECT key, value FROM host_vars WHERE host_id = ?"));
  vars.bind(*id);
  while (TRY(vars.step())) host.vars[vars.text_column(0)] = vars.text_column(1);
  return std::optional<Host>(std::move(host));
}

Result<std::optional<Host>> Inventory::find_host_by_mac(const std::string& mac) {
  std::string canonical = TRY(parse_mac(mac));
  Statement query = TRY(db_.prepare(
      "SELECT h.name FROM host_macs m JOIN hosts h ON h.id = m.host_id WHERE m.mac = ?"));
  query.bind(canonical);
  if (!TRY(query.step())) return std::optional<Host>();
  return find_host(query.text_column(0));
}

Status Inventory::check_host(const Host& host, std::optional<int64_t> self) {
  TRY(validate(host));
  auto other = TRY(host_id(host.name));
  if (other && other != self)
    return make_error(ErrorCode::kAlreadyExists, "a host named " + host.name + " already exists");
  for (const std::string& mac : host.macs) {
    Statement owner = TRY(db_.prepare(
        "SELECT h.id, h.name FROM host_macs m JOIN hosts h ON h.id = m.host_id WHERE m.mac = ?"));
    owner.bind(mac);
    if (TRY(owner.step()) && owner.int_column(0) != self)
      return make_error(ErrorCode::kAlreadyExists,
                        "MAC " + mac + " already belongs to host " + owner.text_column(1));
  }
  if (host.ip) {
    Statement owner = TRY(db_.prepare("SELECT id, name FROM hosts WHERE ip = ?"));
    owner.bind(*host.ip);
    if (TRY(owner.step()) && owner.int_column(0) != self)
      return make_error(ErrorCode::kAlreadyExists,
                        "IP " + *host.ip + " already belongs to host " + owner.text_column(1));
  }
  if (host.lab) {
    auto lab = TRY(find_lab(*host.lab));
    if (!lab)
      return make_error(
          ErrorCode::kNotFound,
          "unknown lab " + *host.lab + "; add it first with 'goldroot lab add " + *host.lab + "'");
    if (host.ip && !lab->networks.empty()) {
      Ipv4 address = TRY(parse_ipv4(*host.ip));
      bool inside = false;
      for (const std::string& cidr : lab->networks)
        inside = inside || TRY(parse_cidr(cidr)).contains(address);
      if (!inside)
        return make_error(ErrorCode::kInvalidArgument,
                          "IP " + *host.ip + " of host " + host.name + " is outside lab " +
                              lab->name + "'s networks (" + join(lab->networks, ", ") + ")");
    }
  }
  return {};
}

Status Inventory::write_host_details(int64_t id, const Host& host) {
  Statement clear_macs = TRY(db_.prepare("DELETE FROM host_macs WHERE host_id = ?"));
  clear_macs.bind(id);
  TRY(clear_macs.run());
  for (size_t i = 0; i < host.macs.size(); ++i) {
    Statement insert =
        TRY(db_.prepare("INSERT INTO host_macs (mac, host_id, position) VALUES (?, ?, ?)"));
    insert.bind(host.macs[i]).bind(id).bind(static_cast<int64_t>(i));
    TRY(insert.run());
  }
  Statement clear_vars = TRY(db_.prepare("DELETE FROM host_vars WHERE host_id = ?"));
  clear_vars.bind(id);
  TRY(clear_vars.run());
  for (const auto& [key, value] : host.vars) {
    Statement insert =
        TRY(db_.prepare("INSERT INTO host_vars (host_id, key, value) VALUES (?, ?, ?)"));
    insert.bind(id).bind(key).bind(value);
    TRY(insert.run());
  }
  return {};
}

Status Inventory::add_host(const Host& host) {
  TRY(check_host(host, std::nullopt));
  Statement insert = TRY(db_.prepare(
      "INSERT INTO hosts (name, ip, lab_id, arch, channel, pinned_commit, mode, notes, "
      "unregistered, \"fetch\") VALUES (?, ?, (SELECT id FROM labs WHERE name = ?), ?, ?, ?, ?, ?, "
      "?, ?) RETURNING id"));
  insert.bind(host.name)
      .bind(host.ip)
      .bind(host.lab)
      .bind(host.arch)
      .bind(host.channel)
      .bind(host.pinned_commit)
      .bind(mode_text(host.mode))
      .bind(host.notes)
      .bind(int64_t{host.unregistered})
      .bind(fetch_text(host.fetch));
  TRY(insert.step());
  int64_t id = insert.int_column(0);
  TRY(insert.run());
  return write_host_details(id, host);
}

Status Inventory::update_host(const std::string& old_name, const Host& host) {
  auto id = TRY(host_id(old_name));
  if (!id) return make_error(ErrorCode::kNotFound, "there is no host " + old_name);
  TRY(check_host(host, id));
  Statement update = TRY(db_.prepare(
      "UPDATE hosts SET name = ?, ip = ?, lab_id = (SELECT id FROM labs WHERE name = ?), "
      "arch = ?, channel = ?, pinned_commit = ?, mode = ?, notes = ?, unregistered = ?, "
      "\"fetch\" = ? WHERE id = ?"));
  update.bind(host.name)
      .bind(host.ip)
      .bind(host.lab)
      .bind(host.arch)
      .bind(host.channel)
      .bind(host.pinned_commit)
      .bind(mode_text(host.mode))
      .bind(host.notes)
      .bind(int64_t{host.unregistered})
      .bind(fetch_text(host.fetch))
      .bind(*id);
  TRY(update.run());
  return write_host_details(*id, host);
}

Status Inventory::remove_host(const std::string& name) {
  Statement remove = TRY(db_.prepare("DELETE FROM hosts WHERE name = ?"));
  remove.bind(name);
  TRY(remove.run());
  if (db_.changes() == 0) return make_error(ErrorCode::kNotFound, "there is no host " + name);
  return {};
}

}  // namespace goldroot
