// What the crypto library's OpenSSL code shares: owning pointers for the
// OpenSSL objects it holds, memory BIOs, and OpenSSL's last error as one
// sentence. Internal to src/crypto.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace goldroot::openssl {

struct FreeBio {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct FreeKey {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Bio = std::unique_ptr<BIO, FreeBio>;
using Key = std::unique_ptr<EVP_PKEY, FreeKey>;

// "WHAT: <OpenSSL's reason>" as InvalidArgument; clears OpenSSL's error queue.
inline Error last_error(const std::string& what) {
  unsigned long code = ERR_peek_last_error();
  char text[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return make_error(ErrorCode::kInvalidArgument, what + ": " + text);
}

// A read-only BIO over `text` (which must outlive it).
inline Bio read_bio(std::string_view text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// What was written into the memory BIO `bio`.
inline std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(length));
}

}  // namespace goldroot::openssl
