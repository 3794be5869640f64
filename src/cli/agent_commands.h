// The commands that read what hosts' agents reported, or queue work for
// them: `goldroot status`, `goldroot changes --host`, `goldroot reset
// --dirty`, `goldroot host token`. They work on the site's inventory
// directly, so they need no running server.
#pragma once

#include <optional>
#include <string>

#include "cli/command.h"

namespace goldroot::cli {

Result<int> run_status(Context& context, const Args& args);

// `changes --host NAME [--json] [--content PATH [--wait S]]`.
Result<int> host_changes_command(Context& context, const std::string& host, bool json,
                                 const std::string& content, int wait_seconds);
// `reset --dirty [--lab L] [--now | --at HH:MM]`.
Result<int> reset_dirty_command(Context& context, const std::optional<std::string>& lab,
                                const std::string& at);

}  // namespace goldroot::cli
