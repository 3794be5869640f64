// libFuzzer: an agent's report and the server's reply, as parsed from JSON a
// host (or someone on its wire) sends.
#include <cstdint>
#include <string_view>

#include "report/report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto report = goldroot::Report::parse(text);
  if (report.ok()) (void)report->to_json();
  (void)goldroot::ReportReply::parse(text);
  return 0;
}
