// libFuzzer: the streaming body decoder (Content-Length and chunked) that
// uploads from hosts go through, fed in arbitrary pieces.
#include <cstdint>
#include <string>

#include "server/body_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace goldroot::server;
  if (size < 2) return 0;
  size_t piece = 1 + data[0] % 64;  // the first byte picks the read size
  bool chunked = data[1] & 1;
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  BodyDecoder decoder = chunked ? BodyDecoder::chunked() : BodyDecoder::with_length(data[1]);
  std::string body, pending;
  for (size_t at = 0; at < input.size() && !decoder.done(); at += piece) {
    pending += input.substr(at, piece);
    auto consumed = decoder.feed(pending, &body);
    if (!consumed.ok()) return 0;
    if (*consumed > pending.size()) __builtin_trap();
    pending.erase(0, *consumed);
  }
  if (body.size() != decoder.received()) __builtin_trap();
  return 0;
}
