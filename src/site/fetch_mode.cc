#include "site/fetch_mode.h"

#include <string>

namespace goldroot {

const char* fetch_mode_name(FetchMode mode) {
  switch (mode) {
    case FetchMode::kFull:
      return "full";
    case FetchMode::kDemand:
      return "demand";
  }
  return "full";
}

Result<FetchMode> parse_fetch_mode(std::string_view text) {
  for (FetchMode mode : {FetchMode::kFull, FetchMode::kDemand})
    if (text == fetch_mode_name(mode)) return mode;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown fetch '" + std::string(text) +
                        "'; choose full (download the whole image before mounting it) or demand "
                        "(read blocks as they are needed, each checked against the image's "
                        "dm-verity tree)");
}

}  // namespace goldroot
