// `goldroot site show|set`: the site's settings (site/site.h).
#include <cstdio>

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
               "largest upper layer an agent may upload for 'capture --host', e.g. 20G). A "
               "running server sees the change at its next upload.",
               "goldroot site set"};
  std::vector<std::string> assignments;
  app.add_option("SETTINGS", assignments, "key=value")->required();
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kExclusive, "site set"));
  SiteSettings settings = TRY(site->settings());
  for (const std::string& assignment : assignments) TRY(apply_site_setting(assignment, &settings));
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
