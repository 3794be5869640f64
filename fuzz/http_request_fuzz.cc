// libFuzzer: the request head and body parser (bytes straight from the LAN),
// the Range header against a file size, and printable().
#include <cstdint>
#include <string>

#include "base/strings.h"
#include "server/byte_range.h"
#include "server/http_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace goldroot::server;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // Fed whole, then in two pieces as a slow client would send it: the
  // rescan offset must never skip or overrun.
  HttpRequest whole;
  size_t scanned = 0;
  ParseOutcome outcome = parse_request(input, RequestLimits{}, &scanned, &whole);
  if (outcome.state == ParseState::kComplete && outcome.consumed > size) __builtin_trap();
  HttpRequest split;
  scanned = 0;
  size_t half = size / 2;
  (void)parse_request(input.substr(0, half), RequestLimits{}, &scanned, &split);
  if (scanned > half) __builtin_trap();
  ParseOutcome again = parse_request(input, RequestLimits{}, &scanned, &split);
  if (again.state != outcome.state) __builtin_trap();
  if (const std::string* range = whole.header("range")) {
    (void)select_range(*range, size);
    (void)select_range(*range, 0);
  }
  (void)goldroot::printable(input);
  return 0;
}
