// What one file looks like on a machine compared with the image: a unified
// diff of a text file between the lower and the merged view an overlay
// upper gives (what admins did by hand with
// `diff /mnt/readonlyfs/etc/fstab /mnt/difffs/etc/fstab`).
#pragma once

#include <string>

#include "overlay/changes.h"
#include "overlay/lower.h"

namespace goldroot {

// `path` is absolute in the merged view ("/etc/fstab"). A file renamed with
// metacopy is compared with where it came from. A side where the file does
// not exist counts as empty ("/dev/null"). Fails with one sentence on a
// binary file, a non-regular file, or a path neither side has.
Result<std::string> content_diff(Lower& lower, const std::string& upper_dir,
                                 const std::string& path, const ChangeOptions& options = {});

}  // namespace goldroot
