// Running an external tool (mksquashfs, objcopy, sbsign…) with an argv —
// never through a shell — and turning its failure into one sentence.
// Thread-safe: each run has its own output file.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace goldroot {

// Runs argv[0] (looked up in PATH) with `argv`, its output captured.
// Fails with "<tool> is not installed (needed for WHAT); run
// scripts/setup.sh" (kNotFound) or "<tool> failed building WHAT: <its last
// line of output>" (kIo).
Status run_tool(const std::vector<std::string>& argv, const std::string& what);

}  // namespace goldroot
