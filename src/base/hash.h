// Digest: a SHA-256 value, the name of every object in the store.
// Sha256: an incremental hasher over OpenSSL's EVP (which uses SHA-NI where
// the CPU has it). Not thread-safe; use one per thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace goldroot {

struct Digest {
  std::array<uint8_t, 32> bytes{};

  std::string hex() const;
  static std::optional<Digest> from_hex(std::string_view hex);
  bool is_zero() const;
  auto operator<=>(const Digest&) const = default;
};

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t length);
  void update(std::string_view data) { update(data.data(), data.size()); }
  Digest finish();

  static Digest of(std::string_view data);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

bool is_hex(std::string_view text);
// 0-15 for a hex digit (either case), -1 otherwise.
int hex_value(char c);
// Bytes as lowercase hex, and back (nullopt for an odd length or a non-hex
// digit): a dm-verity salt in a manifest or a device-mapper table.
std::string hex_encode(std::string_view bytes);
std::optional<std::string> hex_decode(std::string_view hex);

// The SHA-256 of a file's contents; sets *size to its length.
Result<Digest> sha256_of_file(const std::string& path, uint64_t* size);

}  // namespace goldroot

template <>
struct std::hash<goldroot::Digest> {
  size_t operator()(const goldroot::Digest& d) const noexcept {
    size_t h;
    static_assert(sizeof(h) <= sizeof(d.bytes));
    __builtin_memcpy(&h, d.bytes.data(), sizeof(h));
    return h;
  }
};
