#include "net/address.h"

#include <cstdio>

#include "base/hash.h"

namespace goldroot {

namespace {


bool parse_quad(std::string_view text, uint32_t* out) {
  uint32_t value = 0;
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    size_t start = i;
    uint32_t part = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 3)
      part = part * 10 + static_cast<uint32_t>(text[i++] - '0');
    size_t digits = i - start;
    if (digits == 0 || part > 255 || (digits > 1 && text[start] == '0')) return false;
    value = (value << 8) | part;
    ++parts;
    if (parts < 4) {
      if (i >= text.size() || text[i] != '.') return false;
      ++i;
    }
  }
  if (i != text.size()) return false;
  *out = value;
  return true;
}

}  // namespace

bool looks_like_mac(std::string_view text) {
  if (text.size() != 17) return false;
  for (size_t i = 0; i < 17; ++i) {
    if (i % 3 == 2) {
      if (text[i] != ':' && text[i] != '-') return false;
    } else if (hex_value(text[i]) < 0) {
      return false;
    }
  }
  return true;
}

Result<std::string> parse_mac(std::string_view text) {
  if (!looks_like_mac(text) || text[2] != text[5] || text[2] != text[14])
    return make_error(ErrorCode::kInvalidArgument,
                      "'" + std::string(text) +
                          "' is not a MAC address; expected six hex pairs such as "
                          "52:54:00:12:34:56");
  std::string canonical(text);
  for (size_t i = 0; i < canonical.size(); ++i) {
    char& c = canonical[i];
    if (i % 3 == 2)
      c = ':';
    else if (c >= 'A' && c <= 'F')
      c = static_cast<char>(c - 'A' + 'a');
  }
  return canonical;
}

std::string Ipv4::str() const {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%u.%u.%u.%u", value >> 24, (value >> 16) & 255,
                (value >> 8) & 255, value & 255);
  return buffer;
}

bool looks_like_ipv4(std::string_view text) {
  uint32_t ignored;
  return parse_quad(text, &ignored);
}

Result<Ipv4> parse_ipv4(std::string_view text) {
  uint32_t value;
  if (!parse_quad(text, &value))
    return make_error(ErrorCode::kInvalidArgument,
                      "'" + std::string(text) +
                          "' is not an IPv4 address; expected four numbers 0-255 such as "
                          "10.1.0.12");
  return Ipv4{value};
}

std::string Cidr::str() const { return network.str() + "/" + std::to_string(prefix); }
std::string Cidr::layer_name() const { return network.str() + "_" + std::to_string(prefix); }

Ipv4 Cidr::netmask() const { return Ipv4{prefix == 0 ? 0u : ~0u << (32 - prefix)}; }

bool Cidr::contains(Ipv4 address) const {
  return (address.value & netmask().value) == network.value;
}

Result<Cidr> parse_cidr(std::string_view text) {
  auto bad = [&] {
    return make_error(ErrorCode::kInvalidArgument,
                      "'" + std::string(text) +
                          "' is not an IPv4 network; expected ADDRESS/PREFIX such as 10.1.0.0/24");
  };
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return bad();
  uint32_t address;
  if (!parse_quad(text.substr(0, slash), &address)) return bad();
  std::string_view prefix_text = text.substr(slash + 1);
  if (prefix_text.empty() || prefix_text.size() > 2 ||
      (prefix_text.size() == 2 && prefix_text[0] == '0'))
    return bad();
  int prefix = 0;
  for (char c : prefix_text) {
    if (c < '0' || c > '9') return bad();
    prefix = prefix * 10 + (c - '0');
  }
  if (prefix > 32) return bad();
  Cidr cidr{Ipv4{address}, prefix};
  if ((address & cidr.netmask().value) != address) {
    Cidr hint{Ipv4{address & cidr.netmask().value}, prefix};
    return make_error(
        ErrorCode::kInvalidArgument,
        "'" + std::string(text) + "' has host bits set; did you mean " + hint.str() + "?");
  }
  return cidr;
}

std::string_view host_of_authority(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(1, close - 1);
  }
  return authority.substr(0, authority.find(':'));
}

}  // namespace goldroot
