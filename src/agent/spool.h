// Spool: the reports an agent made but the server has not acknowledged, one
// file per report in a directory (default /run/goldroot/agent-spool: on
// the client's RAM, not on the overlay upper, so spooling never makes the
// machine look changed). Files are named by the report's sequence number,
// zero-padded, so sorting names sends them in the order they were made.
//
// Each report is written durably (temp file, fsync, rename). The spool is
// bounded: past `limit` reports the oldest are dropped (and counted), so an
// endless outage cannot fill the client's memory.
//
// Owned by one agent process; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace goldroot::agent {

class Spool {
 public:
  static Result<Spool> open(const std::string& dir, size_t limit);

  // Adds a report; returns how many old ones were dropped to stay in bounds.
  Result<size_t> add(int64_t sequence, const std::string& body);
  // The spooled reports' file names, oldest first.
  Result<std::vector<std::string>> pending() const;
  Result<std::string> read(const std::string& name) const;
  Status remove(const std::string& name);
  const std::string& dir() const { return dir_; }

 private:
  Spool(std::string dir, size_t limit) : dir_(std::move(dir)), limit_(limit) {}
  std::string dir_;
  size_t limit_;
};

}  // namespace goldroot::agent
