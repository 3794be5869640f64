// `goldroot image …`: the image store's commands.
#include <cstdio>

#include "base/strings.h"
#include "cli/command.h"
#include "image/image_info.h"

namespace goldroot::cli {

namespace {

Result<int> image_list(Context& context, const Args& args) {
  CLI::App app{"List images: name, commit, created, size, entries.", "goldroot image list"};
  bool json = false;
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kShared, "image list"));
  auto images = TRY(list_images(site->store()));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const ImageInfo& image : images) {
      nlohmann::json item = commit_json(image.commit, image.data);
      item["name"] = image.name;
      out.push_back(item);
    }
    print_json(out);
    return 0;
  }
  std::printf("%-20s %-12s %-19s %10s %8s\n", "NAME", "COMMIT", "CREATED", "SIZE", "ENTRIES");
  for (const ImageInfo& image : images)
    std::printf("%-20s %-12s %-19s %10s %8llu\n", image.name.c_str(),
                image.commit.hex().substr(0, 12).c_str(), format_utc(image.data.created).c_str(),
                human_bytes(image.data.size).c_str(),
                static_cast<unsigned long long>(image.data.entries));
  return 0;
}

const Command kImageCommands[] = {
    {"list", "list images", image_list},
};

}  // namespace

Result<int> run_image(Context& context, const Args& args) {
  return dispatch(context, kImageCommands, args, "goldroot image");
}

}  // namespace goldroot::cli
