// What a daemon serving the root filesystem owes the system it serves:
//
//   - systemd's shutdown sweep and its switch-root cleanup spare a process
//     whose argv[0] starts with '@' (systemd's ROOT_STORAGE_DAEMONS
//     convention). goldroot-blockd runs under the initramfs's bundled
//     ld.so, so its argv[0] is the loader's path: the whole argument area
//     the kernel shows as /proc/PID/cmdline (arg_start..arg_end in
//     /proc/self/stat) is rewritten, in place;
//   - mlockall(MCL_CURRENT | MCL_FUTURE): paging it out could need the very
//     root it serves.
//
// Call from main, once the arguments are parsed (their strings are
// overwritten), before other threads start.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace goldroot::blockd {

// Rewrites /proc/self/cmdline to "@NAME\0ARG\0..." — the arguments that fit
// in the original area, the rest zeroed — and the thread name to NAME.
Status set_root_storage_cmdline(const std::string& name, const std::vector<std::string>& arguments);

// mlockall(MCL_CURRENT | MCL_FUTURE).
Status lock_all_memory();

}  // namespace goldroot::blockd
