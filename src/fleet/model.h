// The inventory's records: Network, Lab and Host, as plain values. The
// Inventory (inventory.h) stores them; these helpers check a record's own
// fields and turn records into JSON for `--json` listings and the API.
//
// Optional fields that are unset inherit: a host without a mode or channel
// takes its lab's, and the lab's falls back to normal / gold (effective.h).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "fleet/boot_mode.h"
#include "site/enroll_policy.h"
#include "site/fetch_mode.h"
#include "site/prefetch_setting.h"
#include "site/uefi_boot.h"

namespace goldroot {

struct Network {
  std::string cidr;                    // canonical, "10.1.0.0/24"
  std::optional<std::string> gateway;  // inside the network
  std::vector<std::string> dns;        // IPv4 addresses, in order
  std::optional<std::string> domain;   // for fqdn: "lab.example.edu"
};

struct Lab {
  std::string name;
  std::optional<std::string> channel;
  std::optional<BootMode> mode;
  std::optional<EnrollPolicy> enroll;  // unset: the site's (SiteSettings::enroll)
  std::optional<UefiBoot> uefi;        // unset: the site's (SiteSettings::uefi)
  std::optional<FetchMode> fetch;      // unset: the site's (SiteSettings::fetch)
  std::optional<PrefetchSetting> prefetch;  // unset: the site's (SiteSettings::prefetch)
  std::vector<std::string> networks;   // CIDRs, sorted
  std::string notes;
};

struct Host {
  std::string name;
  std::vector<std::string> macs;  // canonical; the first is the primary
  std::optional<std::string> ip;
  std::optional<std::string> lab;
  std::string arch = "x86_64";
  std::optional<std::string> channel;        // exclusive with pinned_commit
  std::optional<std::string> pinned_commit;  // full hex commit id
  std::optional<BootMode> mode;
  std::optional<FetchMode> fetch;  // unset: the lab's, else the site's
  std::map<std::string, std::string> vars;
  std::string notes;
  // Made by `serve --unknown default-image` for a MAC nobody registered
  // (fleet/unregistered.h); `host add --mac` adopts it.
  bool unregistered = false;

  bool operator==(const Host&) const = default;
};

// Field checks that need nothing but the record itself (MAC/IP/CIDR syntax,
// names, gateway inside the network). Relational checks live in Inventory.
Status validate(const Network& network);
Status validate(const Lab& lab);
Status validate(const Host& host);

nlohmann::json to_json(const Network& network);
nlohmann::json to_json(const Lab& lab);
nlohmann::json to_json(const Host& host);

}  // namespace goldroot
