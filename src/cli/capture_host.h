// `goldroot capture --host NAME`: the maintenance workflow's capture step.
// The host's agent uploads its upper layer (report.h, upload-upper) to
// `goldroot serve`; the CLI checks the upload against the sha256 the agent
// signed, unpacks it, drops what the ignore list calls boot noise (logs,
// machine id, leases: every clone would inherit them), captures it onto the commit the host booted, exports
// the new commit and moves a channel (default `test`) to it, so canaries
// boot it next and `image diff gold test` shows what a promote would do.
#pragma once

#include <string>

#include "cli/command.h"

namespace goldroot::cli {

struct CaptureHostOptions {
  std::string host;
  std::string name;     // image ref to create or advance
  std::string message;  // default: "captured from HOST"
  std::string channel = "test";  // "" moves none
  int wait_seconds = 900;
  // Boot noise (the ignore list, SITE/changes-ignore or built-in) is left
  // out of the capture unless this is set.
  bool keep_ignored = false;
};

Result<int> capture_host_command(Context& context, const CaptureHostOptions& options);

}  // namespace goldroot::cli
