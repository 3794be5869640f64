// The names the inventory accepts for hosts, labs, host variables and
// architectures. Host and lab names become layer directory names
// (layers/hosts/<name>), so they can never contain '/' or be '..'.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace goldroot {

// A DNS label: 1-63 of [a-z0-9-] (upper case is folded by the caller),
// not starting or ending with '-'.
Status validate_host_name(std::string_view name);
// 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'.
Status validate_lab_name(std::string_view name);
// A template variable: 1-64 of [A-Za-z0-9_], not starting with a digit.
Status validate_var_name(std::string_view name);
// x86_64, aarch64, … : 1-32 of [a-z0-9_].
Status validate_arch(std::string_view arch);

std::string to_lower(std::string_view text);

}  // namespace goldroot
