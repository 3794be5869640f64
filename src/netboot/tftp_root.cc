#include "netboot/tftp_root.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "netboot/dnsmasq_config.h"

namespace goldroot::netboot {

namespace {

Result<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno_error("reading " + path, errno ? errno : ENOENT);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Status copy_if_changed(const std::string& from, const std::string& to) {
  return write_if_changed(to, TRY(read_whole(from)));
}

}  // namespace

Status prepare_tftp_root(const std::string& directory, const std::string& ipxe_directory) {
  for (const char* loader : {kIpxeBiosLoader, kIpxeEfiLoader}) {
    std::string source = ipxe_directory + "/" + loader;
    if (::access(source.c_str(), R_OK) != 0)
      return make_error(ErrorCode::kNotFound, "iPXE's " + std::string(loader) +
                                                  " is missing from " + ipxe_directory +
                                                  "; install the ipxe package");
  }
  if (::mkdir(directory.c_str(), 0755) != 0 && errno != EEXIST)
    return errno_error("creating TFTP root " + directory, errno);
  ::chmod(directory.c_str(), 0755);
  for (const char* loader : {kIpxeBiosLoader, kIpxeEfiLoader})
    TRY(copy_if_changed(ipxe_directory + "/" + loader, directory + "/" + loader));
  return ok_status();
}

Result<bool> prepare_secure_boot_loaders(const std::string& directory,
                                         const SecureBootSources& sources) {
  const std::pair<const std::string*, const char*> loaders[] = {
      {&sources.shim, kShimLoader}, {&sources.mok_manager, kShimMokManager},
      {&sources.grub, kShimGrub}};
  for (const auto& [source, name] : loaders)
    if (::access(source->c_str(), R_OK) != 0) return false;
  for (const auto& [source, name] : loaders)
    TRY(copy_if_changed(*source, directory + "/" + name));
  return true;
}

Status write_if_changed(const std::string& path, const std::string& contents) {
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0 &&
      static_cast<size_t>(existing.st_size) == contents.size()) {
    auto current = read_whole(path);
    if (current.ok() && *current == contents) return ok_status();
  }
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << contents;
    out.flush();
    if (!out) return errno_error("writing " + temporary, errno ? errno : EIO);
  }
  ::chmod(temporary.c_str(), 0644);
  if (::rename(temporary.c_str(), path.c_str()) != 0)
    return errno_error("renaming " + temporary, errno);
  return ok_status();
}

Status link_if_changed(const std::string& path, const std::string& target) {
  char current[4096];
  ssize_t length = ::readlink(path.c_str(), current, sizeof current);
  if (length >= 0 && std::string(current, static_cast<size_t>(length)) == target)
    return ok_status();
  std::string temporary = path + ".tmp";
  ::unlink(temporary.c_str());
  if (::symlink(target.c_str(), temporary.c_str()) != 0)
    return errno_error("linking " + temporary, errno);
  if (::rename(temporary.c_str(), path.c_str()) != 0)
    return errno_error("renaming " + temporary, errno);
  return ok_status();
}

}  // namespace goldroot::netboot
