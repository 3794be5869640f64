// Parsers for the files an existing lab already has, so it comes into the
// inventory with one `goldroot host import FILE`:
//   csv      a header line naming columns: name, mac (several separated by
//            ';' or spaces), ip, lab, arch, channel, mode, notes, var.NAME
//   dnsmasq  `dhcp-host=MAC[,MAC…][,set:TAG][,IP][,NAME][,LEASE]` lines
//            (other dnsmasq options are skipped)
//   dhcpd    ISC dhcpd.conf `host NAME { hardware ethernet MAC;
//            fixed-address IP; [option host-name "NAME";] }` blocks, at any
//            depth of subnet/group/shared-network
// Records naming the same host (one per NIC) are merged. Every error names
// the file and line: "lab.conf:12: …". Pure functions over the text.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace goldroot {

enum class ImportFormat { kAuto, kCsv, kDnsmasq, kDhcpd };

const char* import_format_name(ImportFormat format);
Result<ImportFormat> parse_import_format(std::string_view text);
// Guesses from the content; an error asks for --format.
Result<ImportFormat> detect_import_format(std::string_view text, const std::string& file);

struct ImportRecord {
  int line = 0;  // where the record starts
  std::string name;
  std::vector<std::string> macs;  // canonical
  std::optional<std::string> ip;
  std::optional<std::string> lab;
  std::optional<std::string> arch;
  std::optional<std::string> channel;
  std::optional<std::string> mode;
  std::optional<std::string> notes;
  std::map<std::string, std::string> vars;
};

Result<std::vector<ImportRecord>> parse_import(std::string_view text, ImportFormat format,
                                               const std::string& file);

}  // namespace goldroot
