// Small string helpers shared across goldroot.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace goldroot {

std::vector<std::string> split(std::string_view text, char separator);
std::string_view trim(std::string_view text);
bool starts_with(std::string_view text, std::string_view prefix);
bool ends_with(std::string_view text, std::string_view suffix);
// ASCII letters lowered; other bytes as they are.
std::string lowercase(std::string_view text);
std::string join(const std::vector<std::string>& parts, std::string_view separator);

// "1.5 MiB", "312 B".
std::string human_bytes(uint64_t bytes);
// Levenshtein distance, for "did you mean".
size_t edit_distance(std::string_view a, std::string_view b);
// "2026-11-22 10:04:05" in UTC, from seconds since the epoch; `format` is
// strftime's (e.g. "%Y-%m-%dT%H:%M:%SZ" for ISO 8601).
std::string format_utc(int64_t seconds, const char* format = "%Y-%m-%d %H:%M:%S");
// Appends `byte` as two lowercase hex digits.
void append_hex(std::string* out, unsigned char byte);
// Parses a decimal integer; false on anything else.
bool parse_uint64(std::string_view text, uint64_t* out);

enum class KeepLines { kNo, kYes };
// Text from a host, made safe for a terminal: every control character (C0,
// DEL, and the UTF-8-encoded C1 range that includes CSI and OSC) is shown as
// \xNN, so a report cannot move the cursor, hide lines or set the clipboard.
// With KeepLines::kYes, newlines and tabs pass (a diff stays a diff).
std::string printable(std::string_view text, KeepLines keep_lines = KeepLines::kNo);

}  // namespace goldroot
