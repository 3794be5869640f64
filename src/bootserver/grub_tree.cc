#include "bootserver/grub_tree.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <set>

#include "bootserver/dhcp_settings.h"
#include "fleet/effective.h"
#include "netboot/grub_config.h"
#include "netboot/mac_address.h"
#include "netboot/tftp_root.h"

namespace goldroot {

namespace {

Status make_directory(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    return errno_error("creating " + path, errno);
  return ok_status();
}

// Removes the entries of `directory` not named in `keep`.
void remove_others(const std::string& directory, const std::set<std::string>& keep) {
  DIR* dir = ::opendir(directory.c_str());
  if (!dir) return;
  std::vector<std::string> gone;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != ".." && !keep.count(name)) gone.push_back(name);
  }
  ::closedir(dir);
  for (const std::string& name : gone) ::unlink((directory + "/" + name).c_str());
}

// dnsmasq reads as its unprivileged user: say so (at each rewrite) of a
// file it cannot.
void warn_unless_world_readable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH)) return;
  std::fprintf(stderr, "goldroot serve: warning: %s is not readable by everyone; dnsmasq's TFTP "
                       "cannot serve it to GRUB\n", path.c_str());
}

// What the configurations of one commit load, linked under boot/.
struct LinkedFiles {
  netboot::GrubFiles grub;
  std::map<std::string, std::string> links;  // name in boot/ -> target
};

Result<LinkedFiles> link_files(BootService& service, const Digest& commit) {
  BootService::LocalBootFiles local = TRY(service.local_boot_files(commit));
  LinkedFiles out;
  std::string goldroot = "goldroot-" + local.goldroot_initrd_sha256 + ".img";
  out.links = {{local.kernel_sha256, local.kernel},
               {local.initrd_sha256, local.initrd},
               {goldroot, local.goldroot_initrd}};
  out.grub = {"/boot/" + local.kernel_sha256, "/boot/" + local.initrd_sha256, "/boot/" + goldroot};
  return out;
}

}  // namespace

Status write_grub_tree(BootService& service, Inventory& inventory, const SiteSettings& settings,
                       const GrubTreeOptions& options) {
  std::vector<Host> hosts;
  std::map<std::string, Lab> labs;
  {
    auto transaction = TRY(inventory.begin_read());
    hosts = TRY(inventory.hosts());
    for (Lab& lab : TRY(inventory.labs())) labs.emplace(lab.name, std::move(lab));
  }
  std::string base_url = netboot::trimmed_base(options.base_url);
  std::string grub = options.tftp_root + "/" + netboot::kGrubDirectory;
  std::string boot = options.tftp_root + "/boot";
  TRY(make_directory(grub));
  TRY(make_directory(grub + "/hosts"));
  TRY(make_directory(boot));
  const netboot::MenuOptions& menu = service.options().menu;

  std::map<std::string, std::string> links;  // boot/ name -> target
  std::map<std::string, std::string> host_files;  // <mac>.cfg -> contents
  std::map<Digest, Result<LinkedFiles>> by_commit;
  auto files_of = [&](const Digest& commit) -> const Result<LinkedFiles>& {
    auto found = by_commit.find(commit);
    if (found == by_commit.end()) found = by_commit.emplace(commit, link_files(service, commit)).first;
    return found->second;
  };
  for (const Host& host : hosts) {
    if (host.unregistered) continue;  // an unknown MAC to GRUB: unknown.cfg
    auto lab = host.lab ? labs.find(*host.lab) : labs.end();
    const Lab* host_lab = lab == labs.end() ? nullptr : &lab->second;
    if (uefi_loader(effective_uefi_boot(host_lab, settings.uefi)) != netboot::UefiLoader::kShim)
      continue;
    std::string mode = boot_mode_name(effective_mode(host, host_lab).mode);
    auto commit = service.commit_for(host);
    const LinkedFiles* files = nullptr;
    std::string trouble;
    if (!commit.ok()) {
      trouble = commit.error().message;
    } else if (const auto& linked = files_of(*commit); !linked.ok()) {
      trouble = linked.error().message;
    } else {
      files = &linked.value();
    }
    for (const std::string& raw_mac : host.macs) {
      auto mac = netboot::normalize_mac(raw_mac);
      if (!mac.ok()) continue;
      std::string contents;
      if (files) {
        auto urls = service.boot_urls(*commit, *mac, base_url);
        auto config = urls.ok() ? netboot::render_grub_host_config({host.name, *mac, mode}, *urls,
                                                                   files->grub, menu)
                                : Result<std::string>(urls.error());
        contents = config.ok() ? *config : netboot::render_grub_trouble_config(
                                               "host " + host.name + ": " + config.error().message);
        if (config.ok()) links.insert(files->links.begin(), files->links.end());
      } else {
        contents = netboot::render_grub_trouble_config(trouble);
      }
      host_files[*mac + ".cfg"] = std::move(contents);
    }
  }

  const netboot::UnknownHostOptions& unknown = service.options().unknown;
  std::string unknown_config;
  if (unknown.policy == netboot::UnknownHostPolicy::kDefaultImage) {
    auto gold = service.default_commit();
    Result<std::string> config = make_error(ErrorCode::kNotFound,
                                            "channel gold points at no image; run 'goldroot "
                                            "channel set gold IMAGE'");
    if (!gold.ok()) config = gold.error();
    if (gold.ok() && *gold) {
      const auto& linked = files_of(**gold);
      auto urls = service.boot_urls(**gold, "", base_url);
      if (!linked.ok()) config = linked.error();
      else if (!urls.ok()) config = urls.error();
      else {
        config = netboot::render_grub_unknown_config(unknown, *urls, linked.value().grub, menu);
        if (config.ok()) links.insert(linked.value().links.begin(), linked.value().links.end());
      }
    }
    unknown_config = config.ok() ? *config : netboot::render_grub_trouble_config(config.error().message);
  } else {
    auto config = netboot::render_grub_unknown_config(unknown, {}, {}, menu);
    unknown_config = config.ok() ? *config : netboot::render_grub_trouble_config(config.error().message);
  }

  // Links first, so no configuration names a file that is not there yet.
  std::set<std::string> keep;
  for (const auto& [name, target] : links) {
    warn_unless_world_readable(target);
    TRY(netboot::link_if_changed(boot + "/" + name, target));
    keep.insert(name);
  }
  for (const auto& [name, contents] : host_files)
    TRY(netboot::write_if_changed(grub + "/hosts/" + name, contents));
  TRY(netboot::write_if_changed(grub + "/unknown.cfg", unknown_config));
  TRY(netboot::write_if_changed(grub + "/grub.cfg", netboot::render_grub_main_config()));
  std::set<std::string> host_names;
  for (const auto& [name, contents] : host_files) host_names.insert(name);
  remove_others(grub + "/hosts", host_names);
  remove_others(boot, keep);
  return ok_status();
}

}  // namespace goldroot
