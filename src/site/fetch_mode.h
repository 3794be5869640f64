// FetchMode: how a host gets its image at boot (issue #18). `full`
// downloads the whole erofs file and checks its sha256 before mounting it
// (the only way before on-demand boot); `demand` reads blocks as they are
// needed, over HTTP Range, each checked against the image's dm-verity tree
// (goldroot-blockd). A site has a default (SiteSettings::fetch), a lab may
// set its own (Lab::fetch) and a host its own (Host::fetch);
// fleet/effective.h says which holds. An image without a verity tree (a
// squashfs export, or an erofs export recorded before trees) is always
// fetched in full. It lives here, below the fleet, because the site's
// settings carry it. Pure functions.
#pragma once

#include <string_view>

#include "base/result.h"

namespace goldroot {

enum class FetchMode {
  kFull,    // download it all, then mount
  kDemand,  // NBD + dm-verity, blocks fetched as read
};

const char* fetch_mode_name(FetchMode mode);  // "full", "demand"
// One of full, demand; anything else is one sentence naming them.
Result<FetchMode> parse_fetch_mode(std::string_view text);

}  // namespace goldroot
