// Standard base64 (RFC 4648 §4, with padding) over OpenSSL's EVP block
// coder, for signatures carried inside JSON. Decoding is strict: no
// whitespace, no missing padding. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace goldroot {

std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);

}  // namespace goldroot
