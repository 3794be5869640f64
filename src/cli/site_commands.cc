// `goldroot site show|set`: the site's settings (site/site.h).
#include <cstdio>

#include "base/strings.h"
#include "cli/command.h"

namespace goldroot::cli {

namespace {

Result<int> site_show(Context& context, const Args& args) {
  CLI::App app{"Show the site's settings.", "goldroot site show"};
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kShared, "site show"));
  std::fputs(describe(TRY(site->settings())).c_str(), stdout);
  return 0;
}

Result<int> site_set(Context& context, const Args& args) {
  CLI::App app{"Change site settings: goldroot site set key=value… (keys: upload-max, the "
               "largest upper layer an agent may upload for 'capture --host', e.g. 20G; "
               "enroll, how a host's first key is enrolled where its lab sets no policy: "
               "admin (default), first-use or port; uefi, what UEFI machines boot through where "
               "their lab sets nothing, and unregistered ones: ipxe (default), shim (Debian's "
               "signed shim and GRUB, for Secure Boot) or uki (coming; shim until then); rollback-floor=IMAGE, no host is given an "
               "image made before IMAGE from now on, and hosts refuse one older than the "
               "highest floor they saw — it only rises). A running server sees the change at "
               "its next upload or boot.",
               "goldroot site set"};
  std::vector<std::string> assignments;
  app.add_option("SETTINGS", assignments, "key=value")->required();
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kExclusive, "site set"));
  SiteSettings settings = TRY(site->settings());
  for (std::string assignment : assignments) {
    // An image's creation time is the floor it sets.
    if (assignment.rfind("rollback-floor=", 0) == 0) {
      std::string image = assignment.substr(15);
      uint64_t seconds = 0;
      if (!parse_uint64(image, &seconds)) {
        Digest commit = TRY(site->store().resolve(image));
        Commit data = TRY(site->store().objects().read_commit(commit));
        assignment = "rollback-floor=" + std::to_string(data.created);
      }
    }
    TRY(apply_site_setting(assignment, &settings));
  }
  TRY(site->save_settings(settings));
  std::fputs(describe(settings).c_str(), stdout);
  return 0;
}

const Command kSiteCommands[] = {
    {"show", "show the site's settings", site_show},
    {"set", "change site settings", site_set},
};

}  // namespace

Result<int> run_site(Context& context, const Args& args) {
  return dispatch(context, kSiteCommands, args, "goldroot site");
}

}  // namespace goldroot::cli
