// ClientLimit: how many connections one client address may hold at once,
// across every worker. A lab PC needs a handful (iPXE, the boot code, its
// agent); one address holding thousands is an attack on everyone else's
// boot, so its connections beyond the limit are closed as they arrive.
//
// Thread-safe. A Slot gives its connection back when destroyed.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace goldroot::server {

class ClientLimit {
 public:
  explicit ClientLimit(size_t per_address) : per_address_(per_address) {}

  class Slot {
   public:
    Slot(Slot&& other) noexcept : limit_(other.limit_), address_(std::move(other.address_)) {
      other.limit_ = nullptr;
    }
    Slot& operator=(Slot&& other) noexcept {
      if (this != &other) {
        if (limit_) limit_->release(address_);
        limit_ = other.limit_;
        address_ = std::move(other.address_);
        other.limit_ = nullptr;
      }
      return *this;
    }
    ~Slot() {
      if (limit_) limit_->release(address_);
    }

   private:
    friend class ClientLimit;
    Slot(ClientLimit* limit, std::string address) : limit_(limit), address_(std::move(address)) {}
    ClientLimit* limit_;
    std::string address_;
  };

  // A slot for one more connection from `address`, or nullopt at the limit.
  std::optional<Slot> acquire(const std::string& address);
  size_t count(const std::string& address);

 private:
  void release(const std::string& address);

  size_t per_address_;
  std::mutex mutex_;
  std::unordered_map<std::string, size_t> open_;
};

}  // namespace goldroot::server
