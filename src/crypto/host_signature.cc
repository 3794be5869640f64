#include "crypto/host_signature.h"

#include "crypto/base64.h"

namespace goldroot {

namespace {
constexpr std::string_view kRequestPrefix = "goldroot-host-request-v1\n";
constexpr std::string_view kReportPrefix = "goldroot-host-report-v1\n";
constexpr std::string_view kScheme = "ed25519=";
}  // namespace

std::string request_statement(std::string_view method, std::string_view path,
                              std::string_view challenge) {
  std::string out(kRequestPrefix);
  out.append(method).append("\n").append(path).append("\n").append(challenge);
  return out;
}

std::string report_statement(std::string_view body) {
  return std::string(kReportPrefix).append(body);
}

Result<std::string> sign_statement(const SigningKey& key, std::string_view statement) {
  std::string signature = TRY(key.sign(statement));
  return std::string(kScheme) + base64_encode(signature);
}

Status verify_statement(const VerifyKey& key, std::string_view header_value,
                        std::string_view statement) {
  if (header_value.substr(0, kScheme.size()) != kScheme)
    return make_error(ErrorCode::kCorruption, "the signature is not ed25519=<base64>");
  auto raw = base64_decode(header_value.substr(kScheme.size()));
  if (!raw.ok()) return make_error(ErrorCode::kCorruption, "the signature " + raw.error().message);
  return key.verify(statement, *raw);
}

std::string encode_public_key(const VerifyKey& key) {
  const auto& raw = key.raw();
  return base64_encode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

Result<VerifyKey> decode_public_key(std::string_view text) {
  auto raw = base64_decode(text);
  if (!raw.ok()) return make_error(ErrorCode::kInvalidArgument, "the host key " + raw.error().message);
  return VerifyKey::from_raw(*raw);
}

}  // namespace goldroot
