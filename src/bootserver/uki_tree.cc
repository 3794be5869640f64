#include "bootserver/uki_tree.h"

#include <cstdio>
#include <map>

#include "bootserver/dhcp_settings.h"
#include "fleet/effective.h"
#include "netboot/mac_boot_files.h"

namespace goldroot {

Status write_uki_tree(BootService& service, Inventory& inventory, const SiteSettings& settings,
                      const GrubTreeOptions& options) {
  std::vector<Host> hosts;
  std::map<std::string, Lab> labs;
  {
    auto transaction = TRY(inventory.begin_read());
    hosts = TRY(inventory.hosts());
    for (Lab& lab : TRY(inventory.labs())) labs.emplace(lab.name, std::move(lab));
  }
  std::vector<netboot::MacBootFile> files;
  std::map<std::pair<Digest, std::string>, std::string> built;  // (commit, mode) -> image
  for (const Host& host : hosts) {
    if (host.unregistered) continue;
    auto lab = host.lab ? labs.find(*host.lab) : labs.end();
    const Lab* host_lab = lab == labs.end() ? nullptr : &lab->second;
    if (uefi_loader(effective_uefi_boot(host_lab, settings.uefi)) != netboot::UefiLoader::kUki)
      continue;
    std::string mode = boot_mode_name(effective_mode(host, host_lab).mode);
    auto image = [&]() -> Result<std::string> {
      Digest commit = TRY(service.commit_for(host));
      auto found = built.find({commit, mode});
      if (found != built.end()) return found->second;
      std::string path = TRY(service.signed_kernel_image(commit, mode, options.base_url));
      built.emplace(std::make_pair(commit, mode), path);
      return path;
    }();
    if (!image.ok()) {
      std::fprintf(stderr, "goldroot serve: no signed kernel image for host %s: %s\n",
                   host.name.c_str(), image.error().message.c_str());
      continue;
    }
    for (const std::string& mac : host.macs) files.push_back({mac, *image});
  }
  return netboot::write_mac_boot_files(options.tftp_root, netboot::kUkiBootFile, files);
}

}  // namespace goldroot
