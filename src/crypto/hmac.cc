#include "crypto/hmac.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "base/strings.h"
#include "sys/unique_fd.h"

namespace goldroot {

namespace {

std::string to_hex(const unsigned char* data, size_t length) {
  std::string out;
  out.reserve(length * 2);
  for (size_t i = 0; i < length; ++i) append_hex(&out, data[i]);
  return out;
}

}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &length);
  return to_hex(mac, length);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::string> random_hex(size_t bytes) {
  std::string buffer(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(buffer.data()), static_cast<int>(bytes)) != 1)
    return make_error(ErrorCode::kIo, "the system random generator failed");
  return to_hex(reinterpret_cast<const unsigned char*>(buffer.data()), bytes);
}

Result<std::string> load_or_create_secret(const std::string& path, size_t bytes) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::ifstream in(path);
    if (in) {
      std::stringstream text;
      text << in.rdbuf();
      std::string secret(trim(text.str()));
      if (secret.size() < 32)
        return make_error(ErrorCode::kCorruption,
                          path + " holds no usable secret; remove it to make a new one");
      return secret;
    }
    std::string secret = TRY(random_hex(bytes));
    std::string temporary = path + ".tmp." + std::to_string(::getpid());
    UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) return errno_error("creating " + temporary, errno);
    std::string line = secret + "\n";
    if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
        ::fsync(fd.get()) != 0) {
      int saved = errno;
      ::unlink(temporary.c_str());
      return errno_error("writing " + temporary, saved);
    }
    // link(2) fails if another process made the secret meanwhile: then
    // read theirs, so every process agrees on one secret.
    int linked = ::link(temporary.c_str(), path.c_str());
    int saved = errno;
    ::unlink(temporary.c_str());
    if (linked == 0) return secret;
    if (saved != EEXIST) return errno_error("creating " + path, saved);
  }
  return make_error(ErrorCode::kIo, "cannot read or create " + path);
}

}  // namespace goldroot
