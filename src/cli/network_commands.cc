// `goldroot network …`: IPv4 networks with their gateway, DNS servers and
// domain, which host templates see and which name layers/networks/<cidr>.
#include <cstdio>

#include "base/strings.h"
#include "cli/command.h"
#include "cli/fleet_session.h"

namespace goldroot::cli {

namespace {

Result<int> network_add(Context& context, const Args& args) {
  CLI::App app{"Add a network.", "goldroot network add"};
  std::string cidr_text, gateway, domain;
  std::vector<std::string> dns;
  app.add_option("CIDR", cidr_text, "network, e.g. 10.1.0.0/24")->required();
  app.add_option("--gateway", gateway, "default gateway, inside the network");
  app.add_option("--dns", dns, "DNS server (repeatable, or comma-separated)")->delimiter(',');
  app.add_option("--domain", domain, "DNS domain, for the hosts' fqdn");
  if (auto exit = parse_args(app, args)) return *exit;
  Network network;
  network.cidr = TRY(parse_cidr(cidr_text)).str();
  if (!gateway.empty()) network.gateway = gateway;
  for (const std::string& server : dns)
    if (!trim(server).empty()) network.dns.push_back(std::string(trim(server)));
  if (!domain.empty()) network.domain = domain;
  TRY(validate(network));
  auto fleet = TRY(open_fleet(context, LockMode::kExclusive, "network add"));
  auto transaction = TRY(fleet.inventory.begin_write());
  TRY(fleet.inventory.add_network(network));
  TRY(transaction.commit());
  std::printf("added network %s (layer networks/%s)\n", network.cidr.c_str(),
              TRY(parse_cidr(network.cidr)).layer_name().c_str());
  return 0;
}

Result<int> network_list(Context& context, const Args& args) {
  CLI::App app{"List networks.", "goldroot network list"};
  bool json = false;
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto fleet = TRY(open_fleet(context, LockMode::kShared, "network list"));
  auto transaction = TRY(fleet.inventory.begin_read());
  auto networks = TRY(fleet.inventory.networks());
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Network& network : networks) out.push_back(to_json(network));
    print_json(out);
    return 0;
  }
  std::printf("%-18s %-15s %-24s %s\n", "CIDR", "GATEWAY", "DNS", "DOMAIN");
  for (const Network& network : networks)
    std::printf("%-18s %-15s %-24s %s\n", network.cidr.c_str(),
                network.gateway ? network.gateway->c_str() : "-",
                network.dns.empty() ? "-" : join(network.dns, ",").c_str(),
                network.domain ? network.domain->c_str() : "-");
  return 0;
}

Result<int> network_rm(Context& context, const Args& args) {
  CLI::App app{"Remove a network no lab uses.", "goldroot network rm"};
  std::string cidr_text;
  app.add_option("CIDR", cidr_text, "network")->required();
  if (auto exit = parse_args(app, args)) return *exit;
  std::string cidr = TRY(parse_cidr(cidr_text)).str();
  auto fleet = TRY(open_fleet(context, LockMode::kExclusive, "network rm"));
  auto transaction = TRY(fleet.inventory.begin_write());
  TRY(fleet.inventory.remove_network(cidr));
  TRY(transaction.commit());
  std::printf("removed network %s\n", cidr.c_str());
  return 0;
}

const Command kNetworkCommands[] = {
    {"add", "add a network", network_add},
    {"list", "list networks", network_list},
    {"rm", "remove a network", network_rm},
};

}  // namespace

Result<int> run_network(Context& context, const Args& args) {
  return dispatch(context, kNetworkCommands, args, "goldroot network");
}

}  // namespace goldroot::cli
