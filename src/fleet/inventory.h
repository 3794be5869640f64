// Inventory: the fleet's hosts, labs and networks in the site's database
// (fleet/database.h: SQLite at SITE/goldroot.db, or PostgreSQL). open()
// applies schema migrations. Every check that spans
// records — a MAC or IP already taken, an unknown lab, an IP outside its
// lab's networks, a lab still holding hosts — is made here and reported as
// one sentence naming the other record.
//
// Callers make one transaction per command (begin_write/begin_read) so a
// command that fails halfway changes nothing. Owns its Database; not
// thread-safe; the caller holds the site lock.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "net/address.h"
#include "fleet/model.h"
#include "fleet/database.h"

namespace goldroot {

class Inventory {
 public:
  static Result<Inventory> open(const std::string& path);

  Result<DbTransaction> begin_write() { return DbTransaction::begin(db_, TransactionKind::kWrite); }
  Result<DbTransaction> begin_read() { return DbTransaction::begin(db_, TransactionKind::kRead); }

  // Networks.
  Result<std::vector<Network>> networks();
  Result<std::optional<Network>> find_network(const std::string& cidr);
  // The most specific network containing `ip`, if any.
  Result<std::optional<Network>> network_containing(const std::string& ip);
  Status add_network(const Network& network);
  Status remove_network(const std::string& cidr);

  // Labs.
  Result<std::vector<Lab>> labs();
  Result<std::optional<Lab>> find_lab(const std::string& name);
  Status add_lab(const Lab& lab);
  // Replaces the lab named lab.name.
  Status update_lab(const Lab& lab);
  Status remove_lab(const std::string& name);

  // Hosts, sorted by name.
  Result<std::vector<Host>> hosts(const std::optional<std::string>& lab = std::nullopt);
  Result<std::optional<Host>> find_host(const std::string& name);
  Result<std::optional<Host>> find_host_by_mac(const std::string& mac);
  Status add_host(const Host& host);
  // Replaces the host called `old_name` with `host` (which may rename it).
  Status update_host(const std::string& old_name, const Host& host);
  Status remove_host(const std::string& name);

  Database& database() { return db_; }

 private:
  explicit Inventory(Database db) : db_(std::move(db)) {}
  Result<std::optional<int64_t>> lab_id(const std::string& name);
  Result<std::optional<int64_t>> host_id(const std::string& name);
  Status check_host(const Host& host, std::optional<int64_t> self);
  Status write_host_details(int64_t id, const Host& host);
  Status write_lab_networks(int64_t id, const Lab& lab);

  Database db_;
};

}  // namespace goldroot
