// libFuzzer: `goldroot host import FILE`'s parsers for the files an
// existing lab already has — ISC dhcpd.conf host blocks, dnsmasq dhcp-host
// lines and CSV — each fed the same bytes — and the format guess.
#include <cstdint>
#include <string>
#include <string_view>

#include "fleet/import_parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace goldroot;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string file = "fuzz.conf";
  for (ImportFormat format :
       {ImportFormat::kDhcpd, ImportFormat::kDnsmasq, ImportFormat::kCsv, ImportFormat::kAuto}) {
    auto records = parse_import(text, format, file);
    if (!records.ok()) continue;
    // What import_hosts relies on: every record names a host and a MAC.
    for (const ImportRecord& record : *records)
      if (record.name.empty() || record.macs.empty() || record.line < 1) __builtin_trap();
  }
  return 0;
}
