#include "base/hash.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>

#include <cstdlib>

#include "base/strings.h"

namespace goldroot {

std::string Digest::hex() const {
  std::string out;
  out.reserve(2 * bytes.size());
  for (unsigned char byte : bytes) append_hex(&out, byte);
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_hex(std::string_view text) {
  for (char c : text)
    if (hex_value(c) < 0) return false;
  return true;
}

std::string hex_encode(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    hex.push_back(kDigits[c >> 4]);
    hex.push_back(kDigits[c & 15]);
  }
  return hex;
}

std::optional<std::string> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0 || !is_hex(hex)) return std::nullopt;
  std::string bytes(hex.size() / 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<char>(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
  return bytes;
}

std::optional<Digest> Digest::from_hex(std::string_view hex) {
  if (hex.size() != 64 || !is_hex(hex)) return std::nullopt;
  Digest d;
  for (size_t i = 0; i < 32; ++i)
    d.bytes[i] = static_cast<uint8_t>(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
  return d;
}

bool Digest::is_zero() const {
  for (uint8_t b : bytes)
    if (b) return false;
  return true;
}

Result<Digest> sha256_of_file(const std::string& path, uint64_t* size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("reading " + path, errno);
  Sha256 hasher;
  std::string buffer(1 << 20, '\0');
  *size = 0;
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      ::close(fd);
      return errno_error("reading " + path, saved);
    }
    if (n == 0) break;
    hasher.update(buffer.data(), static_cast<size_t>(n));
    *size += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return hasher.finish();
}

struct Sha256::State {
  EVP_MD_CTX* context = nullptr;
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  state_->context = EVP_MD_CTX_new();
  if (!state_->context || EVP_DigestInit_ex(state_->context, EVP_sha256(), nullptr) != 1)
    std::abort();  // Out of memory inside OpenSSL: nothing sensible to do.
}

Sha256::~Sha256() { EVP_MD_CTX_free(state_->context); }

void Sha256::update(const void* data, size_t length) {
  EVP_DigestUpdate(state_->context, data, length);
}

Digest Sha256::finish() {
  Digest d;
  unsigned int length = 0;
  EVP_DigestFinal_ex(state_->context, d.bytes.data(), &length);
  EVP_DigestInit_ex(state_->context, EVP_sha256(), nullptr);
  return d;
}

Digest Sha256::of(std::string_view data) {
  Digest d;
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), d.bytes.data(), &length, EVP_sha256(), nullptr);
  return d;
}

}  // namespace goldroot
