#include "netboot/mac_boot_files.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <set>

#include "netboot/mac_address.h"
#include "netboot/tftp_root.h"

namespace goldroot::netboot {

namespace {

// Whether `name` is a MAC in the form dnsmasq appends: six lowercase hex
// pairs joined by '-'.
bool is_mac_directory(const std::string& name) {
  auto mac = normalize_mac(name);
  return mac.ok() && mac_hyphenated(*mac) == name;
}

}  // namespace

Status write_mac_boot_files(const std::string& root, const std::string& name,
                            const std::vector<MacBootFile>& files) {
  if (name.empty() || name.find('/') != std::string::npos || name[0] == '.')
    return make_error(ErrorCode::kInvalidArgument,
                      "per-MAC boot file name '" + name + "' must be a plain file name");
  std::set<std::string> wanted;
  for (const MacBootFile& file : files) {
    std::string directory = mac_hyphenated(TRY(normalize_mac(file.mac)));
    if (file.target.empty() || file.target[0] != '/')
      return make_error(ErrorCode::kInvalidArgument,
                        "the boot file of MAC " + file.mac + " must be an absolute path");
    std::string path = root + "/" + directory;
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
      return errno_error("creating " + path, errno);
    TRY(link_if_changed(path + "/" + name, file.target));
    wanted.insert(directory);
  }
  DIR* listing = ::opendir(root.c_str());
  if (!listing) return errno_error("listing " + root, errno);
  std::vector<std::string> stale;
  while (dirent* entry = ::readdir(listing)) {
    std::string entry_name = entry->d_name;
    if (is_mac_directory(entry_name) && !wanted.count(entry_name)) stale.push_back(entry_name);
  }
  ::closedir(listing);
  for (const std::string& directory : stale) {
    std::error_code error;
    std::filesystem::remove_all(root + "/" + directory, error);
    if (error) return errno_error("removing " + root + "/" + directory, error.value());
  }
  return ok_status();
}

}  // namespace goldroot::netboot
