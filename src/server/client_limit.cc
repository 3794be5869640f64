#include "server/client_limit.h"

namespace goldroot::server {

std::optional<ClientLimit::Slot> ClientLimit::acquire(const std::string& address) {
  std::lock_guard lock(mutex_);
  size_t& open = open_[address];
  if (open >= per_address_) {
    if (open == 0) open_.erase(address);
    return std::nullopt;
  }
  ++open;
  return Slot(this, address);
}

size_t ClientLimit::count(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto found = open_.find(address);
  return found == open_.end() ? 0 : found->second;
}

void ClientLimit::release(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto found = open_.find(address);
  if (found == open_.end()) return;
  if (--found->second == 0) open_.erase(found);
}

}  // namespace goldroot::server
