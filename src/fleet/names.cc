#include "fleet/names.h"

namespace goldroot {

namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

Error bad(const char* what, std::string_view name, const char* why) {
  return make_error(ErrorCode::kInvalidArgument,
                    std::string(what) + " '" + std::string(name) + "' " + why);
}

}  // namespace

std::string to_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return lower;
}

Status validate_host_name(std::string_view name) {
  if (name.empty() || name.size() > 63)
    return bad("host name", name, "must be 1 to 63 characters long");
  for (char c : name)
    if (!is_lower_alnum(c) && c != '-')
      return bad("host name", name, "may only contain a-z, 0-9 and '-'");
  if (name.front() == '-' || name.back() == '-')
    return bad("host name", name, "may not start or end with '-'");
  return {};
}

Status validate_lab_name(std::string_view name) {
  if (name.empty() || name.size() > 64)
    return bad("lab name", name, "must be 1 to 64 characters long");
  if (name.front() == '.' || name.front() == '-')
    return bad("lab name", name, "may not start with '.' or '-'");
  for (char c : name)
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-')
      return bad("lab name", name, "may only contain letters, digits, '.', '_' and '-'");
  return {};
}

Status validate_var_name(std::string_view name) {
  if (name.empty() || name.size() > 64)
    return bad("variable name", name, "must be 1 to 64 characters long");
  if (name.front() >= '0' && name.front() <= '9')
    return bad("variable name", name, "may not start with a digit");
  for (char c : name)
    if (!is_alnum(c) && c != '_')
      return bad("variable name", name, "may only contain letters, digits and '_'");
  return {};
}

Status validate_arch(std::string_view arch) {
  if (arch.empty() || arch.size() > 32)
    return bad("architecture", arch, "must be 1 to 32 characters long");
  for (char c : arch)
    if (!is_lower_alnum(c) && c != '_')
      return bad("architecture", arch, "may only contain a-z, 0-9 and '_' (e.g. x86_64)");
  return {};
}

}  // namespace goldroot
