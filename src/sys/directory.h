// Listing a directory by fd: the sorted names of its entries, without "."
// and "..". Reads from the start whatever the fd's offset, and leaves it at
// the end.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace goldroot {

Result<std::vector<std::string>> read_directory(int dir_fd, const std::string& display);

}  // namespace goldroot
