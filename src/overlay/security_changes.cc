#include "overlay/security_changes.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>

#include "base/strings.h"

namespace goldroot {

namespace {

constexpr std::string_view kCapabilityXattr = "security.capability";

// linux/capability.h, by number.
constexpr std::array<const char*, 41> kCapabilityNames = {
    "cap_chown",           "cap_dac_override",   "cap_dac_read_search", "cap_fowner",
    "cap_fsetid",          "cap_kill",           "cap_setgid",          "cap_setuid",
    "cap_setpcap",         "cap_linux_immutable", "cap_net_bind_service", "cap_net_broadcast",
    "cap_net_admin",       "cap_net_raw",        "cap_ipc_lock",        "cap_ipc_owner",
    "cap_sys_module",      "cap_sys_rawio",      "cap_sys_chroot",      "cap_sys_ptrace",
    "cap_sys_pacct",       "cap_sys_admin",      "cap_sys_boot",        "cap_sys_nice",
    "cap_sys_resource",    "cap_sys_time",       "cap_sys_tty_config",  "cap_mknod",
    "cap_lease",           "cap_audit_write",    "cap_audit_control",   "cap_setfcap",
    "cap_mac_override",    "cap_mac_admin",      "cap_syslog",          "cap_wake_alarm",
    "cap_block_suspend",   "cap_audit_read",     "cap_perfmon",         "cap_bpf",
    "cap_checkpoint_restore"};

uint32_t little_endian32(std::string_view bytes, size_t offset) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i)
    value |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  return value;
}

// The merged path's components: "/etc/pam.d/su" -> {"etc", "pam.d", "su"}.
std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

// Whether `path` is `prefix` or lies beneath it, component by component
// ("/etc/systemd/system.conf" is not beneath "/etc/systemd/system").
bool at_or_below(std::string_view path, std::string_view prefix) {
  return path == prefix || (path.size() > prefix.size() &&
                            path.substr(0, prefix.size()) == prefix && path[prefix.size()] == '/');
}

bool at_or_below_any(std::string_view path, std::initializer_list<std::string_view> prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](std::string_view prefix) { return at_or_below(path, prefix); });
}

// A PAM module: /lib/security/*, /lib/<triplet>/security/*, and the same
// under /usr/lib.
bool is_pam_module_path(const std::vector<std::string_view>& parts) {
  size_t lib = 0;
  if (!parts.empty() && parts[0] == "lib") lib = 1;
  else if (parts.size() > 1 && parts[0] == "usr" && parts[1] == "lib") lib = 2;
  else return false;
  if (parts.size() > lib && parts[lib] == "security") return true;
  return parts.size() > lib + 1 && parts[lib].find("-linux-") != std::string_view::npos &&
         parts[lib + 1] == "security";
}

// A user's own units: ~/.config/systemd/user and ~/.local/share/systemd/user.
bool is_user_unit_path(const std::vector<std::string_view>& parts) {
  size_t home = 0;
  if (!parts.empty() && parts[0] == "root") home = 1;
  else if (parts.size() > 1 && parts[0] == "home") home = 2;
  else return false;
  auto follows = [&](std::initializer_list<std::string_view> names) {
    if (parts.size() < home + names.size()) return false;
    size_t i = home;
    for (std::string_view name : names)
      if (parts[i++] != name) return false;
    return true;
  };
  return follows({".config", "systemd", "user"}) ||
         follows({".local", "share", "systemd", "user"});
}

// Why the path itself matters, whatever happened to it; nullptr if it does not.
const char* path_reason(std::string_view path) {
  std::vector<std::string_view> parts = components(path);
  if (at_or_below_any(path, {"/etc/sudoers", "/etc/sudoers.d"})) return "sudoers";
  if (path == "/etc/shadow") return "password hashes";
  if (path == "/etc/gshadow") return "group passwords";
  if (path == "/etc/passwd") return "user accounts";
  if (path == "/etc/group") return "groups";
  if (!parts.empty() && parts.back().substr(0, 15) == "authorized_keys")
    return "ssh authorized keys";
  if (at_or_below_any(path, {"/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d"}))
    return "ssh server config";
  if (at_or_below_any(path, {"/etc/pam.d", "/etc/security"})) return "PAM config";
  if (is_pam_module_path(parts)) return "PAM module";
  if (at_or_below_any(path, {"/etc/systemd/system-generators", "/lib/systemd/system-generators",
                             "/usr/lib/systemd/system-generators",
                             "/usr/local/lib/systemd/system-generators"}))
    return "systemd generator";
  if (at_or_below_any(path, {"/etc/systemd/system", "/lib/systemd/system",
                             "/usr/lib/systemd/system", "/usr/local/lib/systemd/system"}))
    return ends_with(path, ".timer") ? "systemd timer" : "systemd unit";
  if (at_or_below_any(path, {"/etc/systemd/user", "/lib/systemd/user", "/usr/lib/systemd/user",
                             "/usr/local/lib/systemd/user"}) ||
      is_user_unit_path(parts))
    return ends_with(path, ".timer") ? "systemd user timer" : "systemd user unit";
  if ((parts.size() >= 2 && parts[0] == "etc" && parts[1].substr(0, 4) == "cron") ||
      path == "/etc/anacrontab" || at_or_below(path, "/var/spool/cron"))
    return "cron";
  if (path == "/etc/ld.so.preload") return "ld.so.preload";
  return nullptr;
}

// Nothing but the mtime differs: the bytes, mode, owner and xattrs are
// what the lower had.
bool only_mtime(const TreeChange& change) {
  return change.kind == ChangeKind::kMetadata && change.old_entry && change.new_entry &&
         change.old_entry->metadata_differences(*change.new_entry) ==
             std::vector<std::string>{"mtime"};
}

const std::string* find_xattr(const Entry& entry, std::string_view name) {
  for (const auto& [key, value] : entry.xattrs)
    if (key == name) return &value;
  return nullptr;
}

}  // namespace

std::string describe_file_capabilities(std::string_view value) {
  // struct vfs_cap_data: le32 magic_etc, then {le32 permitted, le32
  // inheritable} once (revision 1) or twice (2, and 3 with a le32 rootid).
  if (value.size() < 4) return "unreadable";
  uint32_t magic = little_endian32(value, 0);
  uint32_t revision = magic & 0xff000000u;
  size_t words = 0;
  if (revision == 0x01000000u) words = 1;
  if (revision == 0x02000000u || revision == 0x03000000u) words = 2;
  size_t expected = revision == 0x03000000u ? 24 : 4 + 8 * words;
  if (words == 0 || value.size() != expected) return "unreadable";
  uint64_t permitted = 0, inheritable = 0;
  for (size_t word = 0; word < words; ++word) {
    permitted |= static_cast<uint64_t>(little_endian32(value, 4 + 8 * word)) << (32 * word);
    inheritable |= static_cast<uint64_t>(little_endian32(value, 8 + 8 * word)) << (32 * word);
  }
  std::vector<std::string> names;
  uint64_t any = permitted | inheritable;
  for (size_t bit = 0; bit < 64; ++bit) {
    if (!(any >> bit & 1)) continue;
    names.push_back(bit < kCapabilityNames.size() ? kCapabilityNames[bit]
                                                  : "cap_" + std::to_string(bit));
  }
  if (names.empty()) return "none";
  std::string flags;
  if (magic & 0x000001u) flags += 'e';
  if (inheritable) flags += 'i';
  if (permitted) flags += 'p';
  return join(names, ",") + "=" + flags;
}

std::vector<std::string> security_reasons(const TreeChange& change) {
  std::vector<std::string> reasons;
  if (only_mtime(change)) return reasons;
  // What the change grants: only what is there after it.
  if (const Entry* entry = change.new_entry) {
    if (entry->type == FileType::kRegular) {
      if (entry->mode & S_ISUID)
        reasons.push_back(entry->uid == 0 ? "setuid root"
                                          : "setuid uid " + std::to_string(entry->uid));
      if (entry->mode & S_ISGID)
        reasons.push_back(entry->gid == 0 ? "setgid root"
                                          : "setgid gid " + std::to_string(entry->gid));
      if (const std::string* capabilities = find_xattr(*entry, kCapabilityXattr))
        reasons.push_back("file capabilities " + describe_file_capabilities(*capabilities));
    }
    if (entry->type == FileType::kCharDevice || entry->type == FileType::kBlockDevice)
      reasons.push_back("device node");
    // Anyone may replace what is inside (a directory without the sticky bit
    // of /tmp) or the bytes themselves.
    bool sticky_directory = entry->type == FileType::kDirectory && (entry->mode & S_ISVTX);
    if ((entry->type == FileType::kRegular || entry->type == FileType::kDirectory) &&
        (entry->mode & S_IWOTH) && !sticky_directory)
      reasons.push_back("world-writable");
  }
  if (const char* why = path_reason(change.path)) reasons.push_back(why);
  return reasons;
}

}  // namespace goldroot
