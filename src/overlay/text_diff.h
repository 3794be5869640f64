// A unified diff of two texts, as `diff -u` prints it (3 lines of context,
// "\ No newline at end of file" where a side lacks the final newline), so
// that an admin can read what changed in one config file on one machine
// without a second tool on the client.
//
// Myers' O(ND) algorithm; past a few thousand differing lines it falls
// back to one hunk replacing everything (still a correct patch).
#pragma once

#include <string>
#include <string_view>

namespace goldroot {

// Empty when the texts are equal.
std::string unified_diff(std::string_view old_text, std::string_view new_text,
                         const std::string& old_label, const std::string& new_label);

// Whether `data` looks binary (a NUL byte in its first 8 KiB, as diff and git decide).
bool looks_binary(std::string_view data);

}  // namespace goldroot
