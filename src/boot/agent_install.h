// Installs goldroot-agent from the goldroot initrd into the booting system
// without touching the image: its files go to a tmpfs at RUN/agent (RUN is
// under /run, which the initramfs moves into the new root, and which
// initramfs-tools mounts noexec) and its unit, which
// the server wrote for RUN/agent/bin/goldroot-agent, to UNITS (systemd's
// runtime unit directory, /run/systemd/system), enabled for
// multi-user.target. The server's TLS pin, when goldroot-boot has one, goes
// to RUN/tls.pin, beside boot.json, where the agent looks for it.
#pragma once

#include <string>

#include "base/result.h"

namespace goldroot::boot {

// `from` is the initrd's /usr/lib/goldroot; `tls_pin` is "" or
// "sha256//…". Returns false, installing nothing, when the initrd carries
// no agent.
Result<bool> install_agent(const std::string& from, const std::string& run_dir,
                           const std::string& units_dir, const std::string& tls_pin);

}  // namespace goldroot::boot
