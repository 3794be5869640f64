// `goldroot capture --host NAME`: the maintenance workflow's capture step.
// The host's agent uploads its upper layer (report.h, upload-upper) to
// `goldroot serve`; the CLI takes the upload out of the server's way, checks
// it against the sha256 the agent signed (report/upload_answer.h), unpacks
// it, drops what the ignore list calls boot noise (logs, machine id, leases:
// every clone would inherit them), captures it onto the commit the host
// booted and exports the new commit. Every failure removes the upload and
// its unpacked copy; a malformed answer from the agent is one sentence.
//
// It then prints what the capture changes over that commit, computed from
// the stored commits (not from the agent's own report), the security-relevant
// changes first and marked with why (overlay/security_changes.h), and moves a
// channel (default `test`) to the capture, so canaries boot it next and
// `image diff gold test` shows what a promote would do. Moving the channel
// asks "[y/N]" on a terminal unless --yes; with no terminal and no --yes the
// channel stays, the capture is kept, and the command says how to move the
// channel by hand and exits non-zero. The site is not locked while it asks.
#pragma once

#include <string>

#include "cli/command.h"

namespace goldroot::cli {

// Whether moving the channel waits for the admin's yes.
enum class Confirm { kAsk, kAssumeYes };

struct CaptureHostOptions {
  std::string host;
  std::string name;     // image ref to create or advance
  std::string message;  // default: "captured from HOST"
  std::string channel = "test";  // "" moves none
  int wait_seconds = 900;
  // Boot noise (the ignore list, SITE/changes-ignore or built-in) is left
  // out of the capture unless this is set.
  bool keep_ignored = false;
  Confirm confirm = Confirm::kAsk;  // --yes: kAssumeYes
};

Result<int> capture_host_command(Context& context, const CaptureHostOptions& options);

}  // namespace goldroot::cli
