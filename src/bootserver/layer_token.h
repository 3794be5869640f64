// Adding the host's agent token to its rendered layer bundle (a tar), for
// the privileged fetch goldroot-boot makes; see BootService::layer.
#pragma once

#include <string>

#include "base/result.h"

namespace goldroot {

inline constexpr const char* kAgentTokenPath = "etc/goldroot/agent.token";

// Rewrites the tar at `path` with one more regular file `member` (owned by
// root, `mode`) holding `content`.
Status append_to_tar(const std::string& path, const std::string& member,
                     const std::string& content, int mode);

}  // namespace goldroot
