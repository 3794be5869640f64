#include "crypto/tls_pin.h"

#include <cerrno>

#include "base/strings.h"
#include "crypto/base64.h"
#include "crypto/key_file.h"

namespace goldroot {

namespace {
constexpr std::string_view kPrefix = "sha256//";
}

bool is_tls_pin(const std::string& text) {
  if (text.size() != kPrefix.size() + 44 || !starts_with(text, kPrefix)) return false;
  auto decoded = base64_decode(std::string_view(text).substr(kPrefix.size()));
  return decoded.ok() && decoded->size() == 32;
}

Result<std::string> read_tls_pin_file(const std::string& path) {
  auto text = read_small_file(path);
  if (!text.ok() && text.error().code == ErrorCode::kNotFound) return std::string();
  if (!text.ok()) return std::move(text).error();
  std::string pin(trim(*text));
  if (!is_tls_pin(pin))
    return make_error(ErrorCode::kCorruption,
                      path + " does not hold a TLS key pin (sha256//<base64>)");
  return pin;
}

bool is_https_url(const std::string& url) {
  return lowercase(url.substr(0, 8)) == "https://";
}

std::string refusal_without_pin(const std::string& url) {
  return "refusing " + url + " without the server's pinned key";
}

}  // namespace goldroot
