#include "fleet/import_parsers.h"

#include <algorithm>

#include "base/strings.h"
#include "net/address.h"
#include "fleet/names.h"

namespace goldroot {

namespace {

struct Where {
  const std::string& file;
  int line;
  Error error(const std::string& message) const {
    return make_error(ErrorCode::kInvalidArgument,
                      file + ":" + std::to_string(line) + ": " + message);
  }
  Error wrap(Error inner) const { return error(inner.message); }
};

Result<std::string> host_name_at(const Where& where, std::string_view raw) {
  std::string name = to_lower(trim(raw));
  auto valid = validate_host_name(name);
  if (!valid.ok()) return where.wrap(std::move(valid).error());
  return name;
}

Status add_mac(const Where& where, ImportRecord& record, std::string_view text) {
  auto mac = parse_mac(trim(text));
  if (!mac.ok()) return where.wrap(std::move(mac).error());
  if (std::find(record.macs.begin(), record.macs.end(), *mac) == record.macs.end())
    record.macs.push_back(*mac);
  return {};
}

Status set_ip(const Where& where, ImportRecord& record, std::string_view text) {
  auto ip = parse_ipv4(trim(text));
  if (!ip.ok()) return where.wrap(std::move(ip).error());
  record.ip = ip->str();
  return {};
}

// ---- CSV (RFC 4180 quoting)

Result<std::vector<std::string>> csv_fields(const Where& where, std::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
        fields.back() += '"', ++i;
      else if (c == '"')
        quoted = false;
      else
        fields.back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (quoted) return where.error("unterminated quoted field");
  for (std::string& field : fields) field = std::string(trim(field));
  return fields;
}

Result<std::vector<ImportRecord>> parse_csv(std::string_view text, const std::string& file) {
  std::vector<ImportRecord> records;
  std::vector<std::string> columns;
  auto lines = split(text, '\n');
  for (size_t index = 0; index < lines.size(); ++index) {
    Where where{file, static_cast<int>(index + 1)};
    std::string_view line = trim(lines[index]);
    if (line.empty() || line[0] == '#') continue;
    auto fields = TRY(csv_fields(where, line));
    if (columns.empty()) {
      for (std::string& field : fields) {
        std::string column = to_lower(field);
        static const char* const kKnown[] = {"name", "mac",     "macs", "ip",   "lab",
                                             "arch", "channel", "mode", "notes"};
        bool known = std::find_if(std::begin(kKnown), std::end(kKnown),
                                  [&](const char* k) { return column == k; }) != std::end(kKnown);
        if (!known && !(starts_with(column, "var.") &&
                        validate_var_name(std::string_view(field).substr(4)).ok()))
          return where.error("unknown column '" + field +
                             "'; columns are name, mac, ip, lab, arch, channel, mode, notes and "
                             "var.NAME");
        columns.push_back(starts_with(column, "var.") ? "var." + field.substr(4) : column);
      }
      if (std::find(columns.begin(), columns.end(), "name") == columns.end() ||
          (std::find(columns.begin(), columns.end(), "mac") == columns.end() &&
           std::find(columns.begin(), columns.end(), "macs") == columns.end()))
        return where.error("the header line must name at least the columns name and mac");
      continue;
    }
    if (fields.size() != columns.size())
      return where.error("has " + std::to_string(fields.size()) + " fields but the header has " +
                         std::to_string(columns.size()));
    ImportRecord record;
    record.line = where.line;
    for (size_t i = 0; i < columns.size(); ++i) {
      const std::string& column = columns[i];
      const std::string& value = fields[i];
      if (column == "name") {
        record.name = TRY(host_name_at(where, value));
      } else if (column == "mac" || column == "macs") {
        std::string list = value;
        std::replace(list.begin(), list.end(), ';', ' ');
        for (const std::string& mac : split(list, ' '))
          if (!trim(mac).empty()) TRY(add_mac(where, record, mac));
      } else if (value.empty()) {
        continue;
      } else if (column == "ip") {
        TRY(set_ip(where, record, value));
      } else if (column == "lab") {
        record.lab = value;
      } else if (column == "arch") {
        record.arch = value;
      } else if (column == "channel") {
        record.channel = value;
      } else if (column == "mode") {
        record.mode = value;
      } else if (column == "notes") {
        record.notes = value;
      } else {
        record.vars[column.substr(4)] = value;
      }
    }
    if (record.macs.empty()) return where.error("host " + record.name + " has no MAC address");
    records.push_back(std::move(record));
  }
  if (columns.empty()) return Where{file, 1}.error("the file is empty; expected a header line");
  return records;
}

// ---- dnsmasq

bool is_lease_time(std::string_view text) {
  if (text == "infinite") return true;
  if (text.empty()) return false;
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return false;
  return digits == text.size() ||
         (digits + 1 == text.size() &&
          std::string_view("smhdw").find(text.back()) != std::string_view::npos);
}

Result<std::vector<ImportRecord>> parse_dnsmasq(std::string_view text, const std::string& file) {
  std::vector<ImportRecord> records;
  auto lines = split(text, '\n');
  for (size_t index = 0; index < lines.size(); ++index) {
    Where where{file, static_cast<int>(index + 1)};
    std::string_view line = trim(lines[index]);
    if (!starts_with(line, "dhcp-host=")) continue;
    ImportRecord record;
    record.line = where.line;
    bool ignored = false;
    for (const std::string& raw : split(line.substr(10), ',')) {
      std::string_view field = trim(raw);
      if (field.empty()) continue;
      if (looks_like_mac(field)) {
        TRY(add_mac(where, record, field));
      } else if (field.find(':') != std::string_view::npos) {
        // set:TAG, tag:TAG, id:CLIENT-ID, or a MAC with wildcards.
        if (!starts_with(field, "set:") && !starts_with(field, "tag:") &&
            !starts_with(field, "id:"))
          return where.error("'" + std::string(field) + "' is not a MAC address");
      } else if (field == "ignore") {
        ignored = true;
      } else if (looks_like_ipv4(field)) {
        TRY(set_ip(where, record, field));
      } else if (is_lease_time(field)) {
        continue;
      } else if (field.find('.') != std::string_view::npos &&
                 std::all_of(field.begin(), field.end(),
                             [](char c) { return (c >= '0' && c <= '9') || c == '.'; })) {
        TRY(set_ip(where, record, field));  // a bad address: reports why
      } else {
        if (!record.name.empty())
          return where.error("has two host names, " + record.name + " and " + std::string(field));
        record.name = TRY(host_name_at(where, field));
      }
    }
    if (ignored) continue;
    if (record.macs.empty()) return where.error("dhcp-host has no MAC address");
    if (record.name.empty())
      return where.error("dhcp-host for " + record.macs[0] + " has no host name");
    records.push_back(std::move(record));
  }
  return records;
}

// ---- ISC dhcpd.conf

struct Token {
  std::string text;
  int line;
  bool quoted;
};

Result<std::vector<Token>> dhcpd_tokens(std::string_view text, const std::string& file) {
  std::vector<Token> tokens;
  int line = 1;
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
    } else if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '{' || c == '}' || c == ';' || c == ',') {
      tokens.push_back({std::string(1, c), line, false});
      ++i;
    } else if (c == '"') {
      int start_line = line;
      std::string value;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\n') ++line;
        value += text[i];
      }
      if (i >= text.size()) return Where{file, start_line}.error("unterminated string");
      ++i;
      tokens.push_back({value, start_line, true});
    } else {
      size_t start = i;
      while (i < text.size() &&
             std::string_view(" \t\r\n{};,\"#").find(text[i]) == std::string_view::npos)
        ++i;
      tokens.push_back({std::string(text.substr(start, i - start)), line, false});
    }
  }
  return tokens;
}

bool is_punct(const Token& token, char c) {
  return !token.quoted && token.text.size() == 1 && token.text[0] == c;
}

// Parses `host NAME { … }` starting at tokens[i] == "host"; advances i.
Result<ImportRecord> dhcpd_host(const std::vector<Token>& tokens, size_t& i,
                                const std::string& file) {
  Where where{file, tokens[i].line};
  if (i + 2 >= tokens.size() || !is_punct(tokens[i + 2], '{'))
    return where.error("expected 'host NAME {'");
  std::string declared = tokens[i + 1].text;
  ImportRecord record;
  record.line = where.line;
  std::optional<std::string> host_name;
  i += 3;
  std::vector<Token> statement;
  for (;; ++i) {
    if (i >= tokens.size()) return where.error("host " + declared + " { is never closed with '}'");
    const Token& token = tokens[i];
    if (is_punct(token, '{'))
      return Where{file, token.line}.error("unexpected '{' inside host " + declared);
    if (!is_punct(token, ';') && !is_punct(token, '}')) {
      statement.push_back(token);
      continue;
    }
    if (!statement.empty()) {
      Where at{file, statement[0].line};
      const std::string& keyword = statement[0].text;
      if (keyword == "hardware") {
        if (statement.size() != 3 || statement[1].text != "ethernet")
          return at.error("expected 'hardware ethernet MAC;'");
        TRY(add_mac(at, record, statement[2].text));
      } else if (keyword == "fixed-address") {
        if (statement.size() < 2) return at.error("fixed-address has no address");
        if (!looks_like_ipv4(statement[1].text) &&
            statement[1].text.find_first_not_of("0123456789.") != std::string::npos)
          return at.error("fixed-address " + statement[1].text +
                          " is a name, not an IPv4 address; goldroot needs the address");
        TRY(set_ip(at, record, statement[1].text));
      } else if (keyword == "option" && statement.size() == 3 && statement[1].text == "host-name") {
        host_name = statement[2].text;
      }
      statement.clear();
    }
    if (is_punct(token, '}')) break;
  }
  record.name = TRY(host_name_at(where, host_name ? *host_name : declared));
  if (record.macs.empty()) return where.error("host " + declared + " has no 'hardware ethernet'");
  return record;
}

Result<std::vector<ImportRecord>> parse_dhcpd(std::string_view text, const std::string& file) {
  auto tokens = TRY(dhcpd_tokens(text, file));
  std::vector<ImportRecord> records;
  int depth = 0;
  bool statement_start = true;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token& token = tokens[i];
    if (statement_start && !token.quoted && token.text == "host") {
      records.push_back(TRY(dhcpd_host(tokens, i, file)));
      statement_start = true;
      continue;
    }
    if (is_punct(token, '{')) ++depth;
    if (is_punct(token, '}') && --depth < 0) return Where{file, token.line}.error("unmatched '}'");
    statement_start = is_punct(token, '{') || is_punct(token, '}') || is_punct(token, ';');
  }
  if (depth > 0) return Where{file, tokens.back().line}.error("a '{' is never closed");
  return records;
}

// Several records for one host (one per NIC) become one.
Result<std::vector<ImportRecord>> merge_records(std::vector<ImportRecord> records,
                                                const std::string& file) {
  std::vector<ImportRecord> merged;
  std::map<std::string, size_t> by_name;
  for (ImportRecord& record : records) {
    auto [it, fresh] = by_name.emplace(record.name, merged.size());
    if (fresh) {
      merged.push_back(std::move(record));
      continue;
    }
    ImportRecord& first = merged[it->second];
    if (record.ip && first.ip && *record.ip != *first.ip)
      return Where{file, record.line}.error("host " + record.name + " has IP " + *record.ip +
                                            " here but " + *first.ip + " on line " +
                                            std::to_string(first.line));
    if (record.ip) first.ip = record.ip;
    for (const std::string& mac : record.macs)
      if (std::find(first.macs.begin(), first.macs.end(), mac) == first.macs.end())
        first.macs.push_back(mac);
  }
  std::map<std::string, const ImportRecord*> macs;
  for (const ImportRecord& record : merged)
    for (const std::string& mac : record.macs) {
      auto [it, fresh] = macs.emplace(mac, &record);
      if (!fresh)
        return Where{file, record.line}.error("MAC " + mac + " of host " + record.name +
                                              " is also given to host " + it->second->name +
                                              " on line " + std::to_string(it->second->line));
    }
  return merged;
}

}  // namespace

const char* import_format_name(ImportFormat format) {
  switch (format) {
    case ImportFormat::kAuto:
      return "auto";
    case ImportFormat::kCsv:
      return "csv";
    case ImportFormat::kDnsmasq:
      return "dnsmasq";
    case ImportFormat::kDhcpd:
      return "dhcpd";
  }
  return "auto";
}

Result<ImportFormat> parse_import_format(std::string_view text) {
  for (ImportFormat format :
       {ImportFormat::kAuto, ImportFormat::kCsv, ImportFormat::kDnsmasq, ImportFormat::kDhcpd})
    if (text == import_format_name(format)) return format;
  return make_error(ErrorCode::kInvalidArgument, "unknown import format '" + std::string(text) +
                                                     "'; choose csv, dnsmasq or dhcpd");
}

Result<ImportFormat> detect_import_format(std::string_view text, const std::string& file) {
  for (const std::string& raw : split(text, '\n')) {
    std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    if (starts_with(line, "dhcp-host=")) return ImportFormat::kDnsmasq;
    std::string lower = to_lower(line);
    if (lower.find(',') != std::string::npos && lower.find("name") != std::string::npos &&
        lower.find("mac") != std::string::npos && lower.find('{') == std::string::npos)
      return ImportFormat::kCsv;
    if (starts_with(line, "host ") || line.find('{') != std::string_view::npos ||
        line.back() == ';')
      return ImportFormat::kDhcpd;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "cannot tell the format of " + file + "; pass --format csv|dnsmasq|dhcpd");
}

Result<std::vector<ImportRecord>> parse_import(std::string_view text, ImportFormat format,
                                               const std::string& file) {
  if (format == ImportFormat::kAuto) format = TRY(detect_import_format(text, file));
  std::vector<ImportRecord> records;
  switch (format) {
    case ImportFormat::kCsv:
      records = TRY(parse_csv(text, file));
      break;
    case ImportFormat::kDnsmasq:
      records = TRY(parse_dnsmasq(text, file));
      break;
    case ImportFormat::kDhcpd:
      records = TRY(parse_dhcpd(text, file));
      break;
    case ImportFormat::kAuto:
      break;
  }
  return merge_records(std::move(records), file);
}

}  // namespace goldroot
