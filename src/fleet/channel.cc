#include "fleet/channel.h"

#include <algorithm>

#include "base/strings.h"
#include "store/channel_journal.h"

namespace goldroot {

Result<std::vector<std::string>> known_channels(const Store& store) {
  std::vector<std::string> channels(kBuiltinChannels.begin(), kBuiltinChannels.end());
  for (const auto& [name, commit] : TRY(channel_view(store.env(), store.refs(), store.dir())))
    if (std::find(channels.begin(), channels.end(), name) == channels.end())
      channels.push_back(name);
  std::sort(channels.begin(), channels.end());
  return channels;
}

Status validate_channel(const Store& store, const std::string& channel) {
  auto channels = TRY(known_channels(store));
  if (std::find(channels.begin(), channels.end(), channel) != channels.end()) return {};
  return make_error(ErrorCode::kNotFound,
                    "unknown channel '" + channel + "'; channels are " + join(channels, ", "));
}

Result<std::string> resolve_pinned_commit(const Store& store, const std::string& ref) {
  Digest commit = TRY(store.resolve(ref).context("pinning to '" + ref + "'"));
  return commit.hex();
}

}  // namespace goldroot
